"""The carrier simulator answers the real twilio library and signs its callbacks."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from calls.simulator import CarrierSimulator
from calls.tests.sim_support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CLINIC_NUMBER,
    PATIENT_NUMBER,
    Hit,
    _sim_post,
)


def assert_signed(hit: Hit) -> None:
    validator = RequestValidator(AUTH_TOKEN)
    assert hit.signature, "callback carries no X-Twilio-Signature"
    assert validator.validate(hit.url, hit.params, hit.signature)
    assert not RequestValidator("another-token").validate(
        hit.url, hit.params, hit.signature
    )


def test_a_text_reports_queued_sent_delivered_in_order_with_valid_signatures(
    twilio, receiver
):
    callback = receiver.url("/sms-status")
    message = twilio.messages.create(
        to=PATIENT_NUMBER,
        from_=CLINIC_NUMBER,
        body="Your visit is tomorrow at 9:30.",
        status_callback=callback,
    )

    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.to == PATIENT_NUMBER
    assert message.from_ == CLINIC_NUMBER
    receiver.wait_for(
        lambda hits: any(h.params.get("MessageStatus") == ["delivered"] for h in hits),
        "the delivered callback",
    )
    hits = receiver.on("/sms-status")
    assert [h.one("MessageStatus") for h in hits] == ["queued", "sent", "delivered"]
    for hit in hits:
        assert_signed(hit)
        assert hit.one("MessageSid") == message.sid
        assert hit.one("AccountSid") == ACCOUNT_SID
        assert hit.one("To") == PATIENT_NUMBER
    assert twilio.messages(message.sid).fetch().status == "delivered"


def test_a_call_reports_each_requested_event_in_order_and_fetches_its_twiml(
    twilio, receiver
):
    call = twilio.calls.create(
        to=PATIENT_NUMBER,
        from_=CLINIC_NUMBER,
        url=receiver.url("/voice"),
        status_callback=receiver.url("/call-status"),
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )

    assert call.sid.startswith("CA") and call.status == "queued"
    receiver.wait_for(
        lambda hits: any(h.params.get("CallStatus") == ["completed"] for h in hits),
        "the completed callback",
    )
    hits = receiver.on("/call-status")
    assert [h.one("CallStatus") for h in hits] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [h.one("SequenceNumber") for h in hits] == ["0", "1", "2", "3"]
    for hit in hits:
        assert_signed(hit)
        assert hit.one("CallSid") == call.sid
    assert int(hits[-1].one("CallDuration")) >= 1
    (voice,) = receiver.on("/voice")
    assert_signed(voice)
    assert voice.one("CallStatus") == "in-progress"
    assert twilio.calls(call.sid).fetch().status == "completed"


def test_a_call_without_requested_events_reports_only_its_end(twilio, receiver):
    call = twilio.calls.create(
        to=PATIENT_NUMBER,
        from_=CLINIC_NUMBER,
        twiml="<Response><Say>Reminder</Say></Response>",
        status_callback=receiver.url("/call-status"),
    )

    receiver.wait_for(lambda hits: len(hits) >= 1, "the completed callback")
    hits = receiver.on("/call-status")
    assert [(h.one("CallSid"), h.one("CallStatus")) for h in hits] == [
        (call.sid, "completed")
    ]


def test_a_busy_number_ends_the_call_as_busy(twilio, receiver, simulator):
    simulator.outcomes[PATIENT_NUMBER] = "busy"
    twilio.calls.create(
        to=PATIENT_NUMBER,
        from_=CLINIC_NUMBER,
        twiml="<Response/>",
        status_callback=receiver.url("/call-status"),
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )

    receiver.wait_for(lambda hits: len(hits) >= 3, "three callbacks")
    assert [h.one("CallStatus") for h in receiver.on("/call-status")] == [
        "initiated",
        "ringing",
        "busy",
    ]


@pytest.mark.parametrize("bad", ["+1555", "2125550100", "+19995550100", "not a number"])
def test_a_bad_number_is_refused_with_error_21211(twilio, bad):
    with pytest.raises(TwilioRestException) as text:
        twilio.messages.create(to=bad, from_=CLINIC_NUMBER, body="Hello")
    assert text.value.status == 400
    assert text.value.code == 21211

    with pytest.raises(TwilioRestException) as call:
        twilio.calls.create(to=bad, from_=CLINIC_NUMBER, twiml="<Response/>")
    assert call.value.status == 400
    assert call.value.code == 21211


def test_a_number_that_texted_stop_gets_error_21610_until_it_texts_start(
    twilio, receiver, simulator
):
    inbound = receiver.url("/sms-inbound")

    result = _sim_post(
        simulator,
        "/_sim/inbound",
        From=PATIENT_NUMBER,
        To=CLINIC_NUMBER,
        Body="stop",
        Url=inbound,
    )

    assert result["webhook_status"] == 200
    (hit,) = receiver.on("/sms-inbound")
    assert_signed(hit)
    assert hit.one("Body") == "stop"
    assert hit.one("From") == PATIENT_NUMBER
    assert hit.one("OptOutType") == "STOP"
    with pytest.raises(TwilioRestException) as refused:
        twilio.messages.create(to=PATIENT_NUMBER, from_=CLINIC_NUMBER, body="Reminder")
    assert refused.value.code == 21610

    _sim_post(
        simulator,
        "/_sim/inbound",
        From=PATIENT_NUMBER,
        To=CLINIC_NUMBER,
        Body="START",
        Url=inbound,
    )

    assert (
        twilio.messages.create(
            to=PATIENT_NUMBER, from_=CLINIC_NUMBER, body="Reminder"
        ).status
        == "queued"
    )


def test_wrong_credentials_are_refused(simulator):
    client = Client(ACCOUNT_SID, "wrong-token")
    client.api.base_url = simulator.url
    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(to=PATIENT_NUMBER, from_=CLINIC_NUMBER, body="Hello")
    assert refused.value.status == 401
    assert refused.value.code == 20003


def test_an_unknown_message_is_not_found(twilio):
    with pytest.raises(TwilioRestException) as missing:
        twilio.messages("SM" + "0" * 32).fetch()
    assert missing.value.status == 404
    assert missing.value.code == 20404


def test_hanging_up_a_ringing_call_cancels_it(simulator, twilio, receiver):
    slow = CarrierSimulator(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        port=0,
        step_delay=0.02,
        answer_after=30,
    )
    with slow:
        twilio.api.base_url = slow.url
        call = twilio.calls.create(
            to=PATIENT_NUMBER,
            from_=CLINIC_NUMBER,
            twiml="<Response/>",
            status_callback=receiver.url("/call-status"),
            status_callback_event=["ringing", "completed"],
        )
        receiver.wait_for(lambda hits: len(hits) >= 1, "the ringing callback")

        hung_up = twilio.calls(call.sid).update(status="completed")

        assert hung_up.status == "canceled"

        receiver.wait_for(lambda hits: len(hits) >= 2, "the final callback")
        assert [h.one("CallStatus") for h in receiver.on("/call-status")] == [
            "ringing",
            "canceled",
        ]
        assert twilio.calls(call.sid).fetch().status == "canceled"
