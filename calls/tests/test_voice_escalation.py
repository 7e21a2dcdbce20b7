"""Escalation: a text reminder with no reply becomes a confirmation call; unanswered calls
are retried at most twice, an hour apart, out of quiet hours; a confirmation stops them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import CallSession, Message, Reminder, VoicePolicy
from calls.services.common import conversation_for
from calls.services.voice_dial import voice_dispatch_run
from calls.services.voice_escalation import escalate_unconfirmed, retry_if_unanswered
from calls.tests.conftest import ALPHA_NUMBER
from calls.tests.support import at, book, days_ahead, policy
from clinic.services import appointment_confirm
from clinic.tests.factories import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def texted(sched):
    """A visit tomorrow at 10:00 whose reminder was delivered, and no reply came."""
    sched.patient.voice_consent = True
    sched.patient.save(update_fields=["voice_consent"])
    VoicePolicy.objects.create(escalate_hours_before=48)  # tomorrow is 10-34 h away
    visit = book(sched, at(days_ahead(1), 10))
    reminder = Reminder.objects.filter(appointment=visit).first()
    Message.objects.create(
        conversation=conversation_for(
            patient=sched.patient, number=sched.patient.phone
        ),
        patient=sched.patient,
        appointment=visit,
        reminder=reminder,
        direction="outbound",
        purpose="reminder",
        to_number=sched.patient.phone,
        from_number=ALPHA_NUMBER,
        body="Reminder",
        status="delivered",
        sid="SM" + "8" * 32,
    )
    policy(quiet_hours=False)
    return visit


def test_an_unanswered_reminder_gets_one_confirmation_call(texted):
    assert escalate_unconfirmed() == 1
    assert escalate_unconfirmed() == 0
    session = CallSession.objects.get(appointment=texted)
    assert (session.purpose, session.status, session.started_by_id) == (
        "confirmation",
        "not_started",
        None,
    )
    assert session.started_by_label.startswith("System: call escalation")


def test_no_escalation_without_voice_consent_after_a_reply_or_when_turned_off(texted):
    VoicePolicy.objects.update(escalate_unconfirmed=False)
    assert escalate_unconfirmed() == 0
    VoicePolicy.objects.update(escalate_unconfirmed=True)
    texted.patient.voice_consent = False
    texted.patient.save(update_fields=["voice_consent"])
    assert escalate_unconfirmed() == 0
    texted.patient.voice_consent = True
    texted.patient.save(update_fields=["voice_consent"])
    VoicePolicy.objects.update(escalate_hours_before=6)
    assert escalate_unconfirmed() == 0  # at least 10 hours away: outside the window


def _end(session: CallSession, outcome: str, ended=None) -> CallSession:
    session.status, session.outcome = "failed", outcome
    session.ended_at = ended or timezone.now()
    session.save()
    return session


def test_unanswered_calls_are_retried_twice_an_hour_apart_then_stop(texted):
    escalate_unconfirmed()
    first = _end(CallSession.objects.get(appointment=texted), "no_answer")
    second = retry_if_unanswered(first)
    assert second.attempt == 2 and second.retry_of == first
    assert second.not_before == first.ended_at + timedelta(minutes=60)
    third = retry_if_unanswered(_end(second, "busy"))
    assert third.attempt == 3
    assert retry_if_unanswered(_end(third, "voicemail")) is None
    assert CallSession.objects.filter(appointment=texted).count() == 3


def test_a_retry_waits_for_its_hour_and_is_dropped_once_the_patient_confirms(
    texted, staff_user
):
    escalate_unconfirmed()
    first = _end(CallSession.objects.get(appointment=texted), "no_answer")
    retry = retry_if_unanswered(first)
    assert voice_dispatch_run().claimed == 0  # not due for an hour
    CallSession.objects.filter(pk=retry.pk).update(not_before=timezone.now())
    appointment_confirm(
        appointment=texted, actor=member(staff_user)
    )  # confirmed by text or desk
    report = voice_dispatch_run()
    assert (report.claimed, report.skipped) == (0, 1)
    retry.refresh_from_db()
    assert (retry.status, retry.outcome) == ("terminated", "skipped")
    assert "confirmed" in retry.detail
    assert retry_if_unanswered(_end(retry, "no_answer")) is None


def test_a_retry_due_in_quiet_hours_moves_to_their_end_and_never_past_the_visit(texted):
    from calls.policy import clinic_zone

    escalate_unconfirmed()
    first = CallSession.objects.get(appointment=texted)
    policy(quiet_hours=True)  # 20:00-08:00
    evening = at(days_ahead(0), 19, 30)
    retry = retry_if_unanswered(_end(first, "no_answer", ended=evening))
    # 20:30 is quiet: the retry waits for 08:00 the next morning, before the visit.
    assert timezone.localtime(retry.not_before, clinic_zone()) == at(days_ahead(1), 8)
    late = _end(retry, "no_answer", ended=texted.start - timedelta(minutes=30))
    assert retry_if_unanswered(late) is None
