"""The simulator's test levers: callbacks duplicated, out of order or late; the message
list; validity periods; a slow carrier; the record of everything it accepted."""

from __future__ import annotations

import time
from datetime import UTC

import pytest
from twilio.base.exceptions import TwilioRestException

from calls.tests.sim_support import CLINIC_NUMBER, PATIENT_NUMBER, _sim_post


def statuses(receiver) -> list[str]:
    return [h.one("MessageStatus") for h in receiver.on("/status")]


def send(twilio, receiver, to=PATIENT_NUMBER, **extra):
    return twilio.messages.create(
        to=to,
        from_=CLINIC_NUMBER,
        body="Reminder",
        status_callback=receiver.url("/status"),
        **extra,
    )


def test_duplicate_mode_posts_every_callback_twice(twilio, receiver, simulator):
    _sim_post(simulator, "/_sim/callbacks", Number=PATIENT_NUMBER, Mode="duplicate")
    send(twilio, receiver)
    receiver.wait_for(lambda hits: len(hits) >= 6, "six callbacks")
    assert statuses(receiver) == [
        "queued",
        "queued",
        "sent",
        "sent",
        "delivered",
        "delivered",
    ]


def test_out_of_order_mode_posts_the_final_status_first(twilio, receiver, simulator):
    _sim_post(simulator, "/_sim/callbacks", Number=PATIENT_NUMBER, Mode="out_of_order")
    send(twilio, receiver)
    receiver.wait_for(lambda hits: len(hits) >= 3, "three callbacks")
    assert statuses(receiver) == ["delivered", "sent", "queued"]


def test_late_mode_repeats_earlier_statuses_after_the_final_one(
    twilio, receiver, simulator
):
    _sim_post(
        simulator, "/_sim/callbacks", Number=PATIENT_NUMBER, Mode="late", Delay="0.2"
    )
    send(twilio, receiver)
    receiver.wait_for(lambda hits: len(hits) >= 3, "the normal callbacks")
    assert statuses(receiver) == ["queued", "sent", "delivered"]
    receiver.wait_for(lambda hits: len(hits) >= 5, "the late callbacks")
    assert statuses(receiver) == ["queued", "sent", "delivered", "queued", "sent"]


def test_modes_apply_to_their_number_only(twilio, receiver, simulator):
    _sim_post(simulator, "/_sim/callbacks", Number="+16175550199", Mode="duplicate")
    send(twilio, receiver)
    receiver.wait_for(lambda hits: len(hits) >= 3, "three callbacks")
    time.sleep(0.1)
    assert statuses(receiver) == ["queued", "sent", "delivered"]


def test_a_bad_mode_is_refused(simulator):
    from urllib.error import HTTPError

    with pytest.raises(HTTPError) as refused:
        _sim_post(simulator, "/_sim/callbacks", Number=PATIENT_NUMBER, Mode="sideways")
    assert refused.value.code == 400


def test_the_message_list_filters_by_number_and_day_newest_first(twilio, receiver):
    first = send(twilio, receiver)
    second = send(twilio, receiver)
    send(twilio, receiver, to="+16175550177")
    from datetime import datetime, timedelta

    listed = twilio.messages.list(
        to=PATIENT_NUMBER,
        from_=CLINIC_NUMBER,
        date_sent_after=datetime.now(UTC) - timedelta(days=1),
        page_size=1,
    )
    assert [m.sid for m in listed] == [second.sid, first.sid]  # paged one by one
    assert (
        twilio.messages.list(to=PATIENT_NUMBER, date_sent_before=datetime(2001, 1, 1))
        == []
    )


def test_a_message_stuck_in_the_queue_fails_when_its_validity_ends(
    twilio, receiver, simulator
):
    _sim_post(simulator, "/_sim/outcome", Number=PATIENT_NUMBER, Outcome="stuck")
    message = send(twilio, receiver, validity_period=1)
    receiver.wait_for(lambda hits: len(hits) >= 2, "the expiry callback")
    (queued, failed) = receiver.on("/status")
    assert (queued.one("MessageStatus"), failed.one("MessageStatus")) == (
        "queued",
        "failed",
    )
    assert failed.one("ErrorCode") == "30001"
    assert twilio.messages(message.sid).fetch().status == "failed"
    (accepted,) = simulator.accepted_log()
    assert accepted["validity_period"] == 1


def test_a_validity_period_out_of_range_is_refused(twilio, receiver):
    with pytest.raises(TwilioRestException) as refused:
        send(twilio, receiver, validity_period=36001)
    assert refused.value.code == 21623


def test_a_slow_carrier_records_the_message_before_it_answers(
    twilio, receiver, simulator
):
    _sim_post(simulator, "/_sim/latency", Seconds="0.3")
    started = time.monotonic()
    message = send(twilio, receiver)
    assert time.monotonic() - started >= 0.3
    assert [a["sid"] for a in simulator.accepted_log()] == [message.sid]


def test_every_accepted_message_stays_on_the_record_in_order(
    twilio, receiver, simulator
):
    sids = [send(twilio, receiver, to=f"+1617555{n:04d}").sid for n in range(120, 125)]
    log = _sim_get(simulator, "/_sim/accepted")["accepted"]
    assert [a["sid"] for a in log] == sids
    assert {a["status_callback"] for a in log} == {receiver.url("/status")}


def _sim_get(simulator, path: str) -> dict:
    import json
    from urllib.request import urlopen

    with urlopen(simulator.url + path, timeout=5) as response:
        return json.loads(response.read())
