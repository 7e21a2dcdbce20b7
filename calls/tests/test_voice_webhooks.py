"""The voice webhooks in process: signatures, the flow's steps and turns, callbacks applied
once and forward only (duplicated, out of order, late), AMD, and another clinic's calls."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from calls.models import CallSession, PatientCallState
from calls.tests.conftest import ALPHA_NUMBER, post_signed
from calls.tests.support import at, book, days_ahead

pytestmark = pytest.mark.django_db


@pytest.fixture
def placed(sched, settings):
    """A confirmation call Twilio placed (CA…1) about a scheduled visit."""
    visit = book(sched, at(days_ahead(3), 10))
    sched.patient.voice_consent = True
    sched.patient.save(update_fields=["voice_consent"])
    return CallSession.objects.create(
        patient=sched.patient,
        appointment=visit,
        purpose="confirmation",
        direction="outbound",
        status="dialing",
        sid="CA" + "1" * 32,
        from_number=ALPHA_NUMBER,
        to_number=sched.patient.phone,
        placed_at=timezone.now(),
    )


def status(client, clinic, session, carrier_status, sequence, **extra):
    params = {
        "CallSid": session.sid,
        "CallStatus": carrier_status,
        "SequenceNumber": str(sequence),
        **extra,
    }
    return post_signed(
        client, clinic, f"/twilio/voice/status/?session={session.pk}", params
    )


def flow(client, clinic, session, path="flow", **params):
    params = {"CallSid": session.sid, "From": ALPHA_NUMBER, **params}
    return post_signed(client, clinic, f"/twilio/voice/{path}", params)


def test_an_answer_of_1_confirms_the_visit_and_every_step_is_a_turn(
    hook_client, clinic, placed
):
    first = flow(hook_client, clinic, placed, f"flow/?session={placed.pk}")
    assert first.status_code == 200, first.content
    body = first.content.decode()
    assert 'input="dtmf speech"' in body and 'speechModel="phone_call"' in body
    assert 'speechTimeout="auto"' in body and 'language="en-US"' in body
    assert "Dr. Ada Able" in body and "Alpha Family Practice" in body
    placed.refresh_from_db()
    assert placed.status == "in_progress" and placed.flow_step == 1
    answer = flow(
        hook_client, clinic, placed, f"gather/?session={placed.pk}&step=1", Digits="1"
    )
    assert "Your visit is confirmed" in answer.content.decode()
    placed.refresh_from_db()
    assert placed.outcome == "confirmed"
    assert placed.appointment.status == "confirmed"
    assert [(t.speaker, t.kind) for t in placed.turns.all()] == [
        ("portal", "prompt"),
        ("caller", "digits"),
        ("portal", "prompt"),
    ]
    # Twilio retries the same answer: nothing new is recorded or done.
    again = flow(
        hook_client, clinic, placed, f"gather/?session={placed.pk}&step=1", Digits="2"
    )
    assert "Your visit is confirmed" in again.content.decode()
    assert placed.turns.count() == 3
    placed.appointment.refresh_from_db()
    assert placed.appointment.status == "confirmed"


def test_unsigned_or_wrongly_signed_voice_webhooks_are_refused_and_change_nothing(
    hook_client, clinic, placed
):
    from calls.tests.conftest import sign
    from portal.links import clinic_url

    for path in ("status", "amd", "flow", "gather", "noinput", "dial", "incoming"):
        url = f"/twilio/voice/{path}/?session={placed.pk}"
        params = {"CallSid": placed.sid, "CallStatus": "completed", "To": ALPHA_NUMBER}
        unsigned = hook_client.post(url, params)
        wrong = hook_client.post(
            url,
            params,
            HTTP_X_TWILIO_SIGNATURE=sign(
                clinic_url(clinic, url), params, "other-token"
            ),
        )
        assert (unsigned.status_code, wrong.status_code) == (403, 403), path
    placed.refresh_from_db()
    assert placed.status == "dialing" and placed.ended_at is None
    assert not placed.events.exists() and not placed.turns.exists()


def test_duplicated_and_out_of_order_status_callbacks_apply_once_and_never_go_back(
    hook_client, clinic, placed
):
    # completed (3) arrives first, then ringing (1) and in-progress (2), then completed again.
    for carrier_status, sequence in (
        ("completed", 3),
        ("ringing", 1),
        ("in-progress", 2),
        ("completed", 3),
        ("completed", 3),
    ):
        answer = status(
            hook_client, clinic, placed, carrier_status, sequence, CallDuration="14"
        )
        assert answer.status_code == 204
    placed.refresh_from_db()
    assert placed.status == "completed"
    assert placed.ended_at is not None and placed.duration_seconds == 14
    assert placed.last_sequence == 3
    events = list(placed.events.filter(source="status").order_by("id"))
    assert [(e.carrier_status, e.sequence, e.applied) for e in events] == [
        ("completed", 3, True),
        ("ringing", 1, False),
        ("in-progress", 2, False),
    ]
    # The late in-progress still tells when the call was answered.
    assert placed.answered_at is not None
    state = PatientCallState.objects.get(patient=placed.patient)
    assert (state.last_session_id, state.last_status) == (placed.pk, "completed")


def test_busy_no_answer_and_failed_end_the_call_as_failed_for_good(
    hook_client, clinic, placed
):
    status(hook_client, clinic, placed, "ringing", 1)
    status(hook_client, clinic, placed, "busy", 2)
    status(hook_client, clinic, placed, "in-progress", 3)  # impossible, and ignored
    placed.refresh_from_db()
    assert (placed.status, placed.outcome) == ("failed", "busy")
    assert placed.answered_at is None


def test_a_machine_gets_a_message_without_the_visit_and_the_call_ends_voicemail(
    hook_client, clinic, placed, sim
):
    flow(hook_client, clinic, placed, f"flow/?session={placed.pk}")
    params = {"CallSid": placed.sid, "AnsweredBy": "machine_end_beep"}
    # The simulator has no such call: the new TwiML is refused there, and logged.
    answer = post_signed(
        hook_client, clinic, f"/twilio/voice/amd/?session={placed.pk}", params
    )
    assert answer.status_code == 204
    post_signed(hook_client, clinic, f"/twilio/voice/amd/?session={placed.pk}", params)
    placed.refresh_from_db()
    assert (placed.status, placed.outcome, placed.answered_by) == (
        "voicemail",
        "voicemail",
        "machine",
    )
    assert placed.events.filter(source="amd").count() == 1
    message = placed.turns.order_by("-id").first().text
    assert "Alpha Family Practice" in message and "Ada Able" not in message
    status(hook_client, clinic, placed, "completed", 4)
    placed.refresh_from_db()
    assert placed.status == "voicemail" and placed.ended_at is not None


def test_no_input_repeats_once_then_ends_politely(hook_client, clinic, placed):
    flow(hook_client, clinic, placed, f"flow/?session={placed.pk}")
    again = flow(hook_client, clinic, placed, f"noinput/?session={placed.pk}&step=1")
    assert "Sorry, I did not get that." in again.content.decode()
    assert "<Gather" in again.content.decode()
    bye = flow(hook_client, clinic, placed, f"noinput/?session={placed.pk}&step=2")
    assert "<Hangup" in bye.content.decode() and "<Gather" not in bye.content.decode()
    placed.refresh_from_db()
    assert placed.outcome == "no_response"
    assert placed.appointment.status == "scheduled"


def test_no_in_spanish_speech_cancels_and_frees_the_slot(hook_client, clinic, placed):
    placed.language = "es"
    placed.save(update_fields=["language"])
    opening = flow(hook_client, clinic, placed, f"flow/?session={placed.pk}")
    assert 'language="es-US"' in opening.content.decode()
    answer = flow(
        hook_client,
        clinic,
        placed,
        f"gather/?session={placed.pk}&step=1",
        SpeechResult="No, gracias",
        Confidence="0.8123",
    )
    assert "Su cita está cancelada" in answer.content.decode()
    placed.refresh_from_db()
    assert placed.appointment.status == "cancelled"
    assert (
        placed.appointment.cancel_reason == f"Cancelled by patient, call {placed.sid}"
    )
    turn = placed.turns.get(speaker="caller")
    assert (turn.kind, turn.text, str(turn.confidence)) == (
        "speech",
        "No, gracias",
        "0.812",
    )


def test_staff_transfers_with_dial_and_the_session_is_supervisor_dialed(
    hook_client, clinic, placed
):
    from portal.models import Clinic

    Clinic.objects.filter(pk=clinic.pk).update(staff_phone="+12125550199")
    flow(hook_client, clinic, placed, f"flow/?session={placed.pk}")
    answer = flow(
        hook_client, clinic, placed, f"gather/?session={placed.pk}&step=1", Digits="3"
    )
    assert (
        "<Dial" in answer.content.decode() and "+12125550199" in answer.content.decode()
    )
    status(hook_client, clinic, placed, "completed", 5)
    placed.refresh_from_db()
    assert (placed.status, placed.outcome) == ("supervisor_dialed", "transferred")


def test_a_call_of_another_clinic_is_not_found_through_this_clinics_webhooks(
    hook_client, clinic, placed, other_clinic
):
    from django.test import Client

    beta = Client(HTTP_HOST=f"{other_clinic.slug}.localhost")
    answer = status(beta, other_clinic, placed, "completed", 9)
    assert answer.status_code == 204  # Twilio must not retry; nothing matched there
    connection.set_tenant(clinic)  # the request left the connection in beta's schema
    placed.refresh_from_db()
    assert placed.ended_at is None and not placed.events.exists()
    incoming = post_signed(
        beta,
        other_clinic,
        "/twilio/voice/incoming/",
        {"CallSid": "CA" + "7" * 32, "From": placed.to_number, "To": ALPHA_NUMBER},
    )
    assert incoming.status_code == 404
    connection.set_tenant(clinic)


def test_a_session_id_with_another_calls_sid_changes_nothing(
    hook_client, clinic, placed
):
    params = {
        "CallSid": "CA" + "9" * 32,
        "CallStatus": "completed",
        "SequenceNumber": "1",
    }
    post_signed(
        hook_client, clinic, f"/twilio/voice/status/?session={placed.pk}", params
    )
    placed.refresh_from_db()
    assert placed.ended_at is None


def test_a_known_caller_hears_their_next_visit_and_confirms(hook_client, clinic, sched):
    from calls.models import CallSession

    visit = book(sched, at(days_ahead(2), 11))
    params = {
        "CallSid": "CA" + "3" * 32,
        "From": sched.patient.phone,
        "To": ALPHA_NUMBER,
    }
    first = post_signed(hook_client, clinic, "/twilio/voice/incoming/", params)
    assert "Dr. Ada Able" in first.content.decode()
    session = CallSession.objects.get(sid=params["CallSid"])
    assert (session.direction, session.patient, session.appointment) == (
        "inbound",
        sched.patient,
        visit,
    )
    retry = post_signed(hook_client, clinic, "/twilio/voice/incoming/", params)
    assert retry.content == first.content and CallSession.objects.count() == 1
    flow(
        hook_client, clinic, session, f"gather/?session={session.pk}&step=1", Digits="1"
    )
    visit.refresh_from_db()
    assert visit.status == "confirmed"


def test_a_shared_number_asks_for_the_birthday_and_an_unknown_caller_reaches_staff(
    hook_client, clinic, sched
):
    from datetime import date

    from calls.models import CallSession
    from clinic.tests.factories import PatientFactory

    sibling = PatientFactory(
        first_name="Ada", phone=sched.patient.phone, date_of_birth=date(2011, 3, 9)
    )
    visit = book(sched, at(days_ahead(2), 12), patient=sibling)
    params = {
        "CallSid": "CA" + "4" * 32,
        "From": sched.patient.phone,
        "To": ALPHA_NUMBER,
    }
    ask = post_signed(hook_client, clinic, "/twilio/voice/incoming/", params)
    assert (
        "four digits" in ask.content.decode()
        and 'numDigits="4"' in ask.content.decode()
    )
    session = CallSession.objects.get(sid=params["CallSid"])
    found = flow(
        hook_client,
        clinic,
        session,
        f"gather/?session={session.pk}&step=1",
        Digits="0309",
    )
    assert "Dr. Ada Able" in found.content.decode()
    session.refresh_from_db()
    assert (session.patient, session.appointment) == (sibling, visit)

    stranger = {"CallSid": "CA" + "5" * 32, "From": "+16175559876", "To": ALPHA_NUMBER}
    answer = post_signed(hook_client, clinic, "/twilio/voice/incoming/", stranger)
    assert (
        "<Dial" in answer.content.decode()
        or "nobody can take" in answer.content.decode()
    )
    unknown = CallSession.objects.get(sid=stranger["CallSid"])
    assert unknown.patient is None and unknown.direction == "inbound"


def test_an_answer_after_staff_hung_up_changes_nothing(
    hook_client, clinic, placed, desk, sim
):
    from calls.services.voice_dial import call_hangup

    flow(hook_client, clinic, placed, f"flow/?session={placed.pk}")
    call_hangup(actor=desk, session=placed)
    late = flow(
        hook_client, clinic, placed, f"gather/?session={placed.pk}&step=1", Digits="2"
    )
    assert "<Hangup" in late.content.decode()
    placed.refresh_from_db()
    assert (placed.status, placed.outcome) == ("terminated", "terminated")
    assert placed.appointment.status == "scheduled"


def test_a_late_machine_report_after_a_person_answered_leaves_no_message(
    hook_client, clinic, placed
):
    flow(hook_client, clinic, placed, f"flow/?session={placed.pk}")
    flow(hook_client, clinic, placed, f"gather/?session={placed.pk}&step=1", Digits="1")
    params = {"CallSid": placed.sid, "AnsweredBy": "machine_end_other"}
    post_signed(hook_client, clinic, f"/twilio/voice/amd/?session={placed.pk}", params)
    placed.refresh_from_db()
    assert (placed.status, placed.outcome) == ("in_progress", "confirmed")
