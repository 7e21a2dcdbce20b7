"""The voice webhooks in process: signatures, the flow's steps and turns, callbacks applied
once and forward only (duplicated, out of order, late), AMD, and another clinic's calls."""

from __future__ import annotations

import pytest
from django.utils import timezone

from calls.models import CallEvent, CallSession, PatientCallState
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
