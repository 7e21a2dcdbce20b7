"""Escalation: a text reminder nobody answered becomes a confirmation call, retried twice.

Beat runs `escalate_unconfirmed` every minute in each clinic: a scheduled
visit starting within the policy's window (default 24 h) whose text reminder
went out with no reply, for a patient who agreed to calls, gets one
confirmation call. An unanswered call (no answer, busy, voicemail, failed) is
tried again at most `max_retries` times, `retry_minutes` apart, out of quiet
hours and before the visit; a confirmation by any channel stops it, because
the dispatcher re-checks the visit before placing each call.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from calls.actors import SystemActor
from calls.models import CallSession, Message, Reminder
from calls.policy import QuietHours, clinic_zone, policy_current
from calls.services.voice_dial import call_enqueue, calling_problem, voice_policy
from clinic.models import Appointment

ESCALATION = SystemActor("call escalation", "no reply to the text reminder")
RETRY = SystemActor("call escalation", "retry of an unanswered call")


def escalation_candidates(*, now: datetime) -> list[Appointment]:
    """Scheduled visits in the window whose sent reminder got no reply and no call yet."""
    hours = voice_policy().escalate_hours_before
    texted = Reminder.objects.filter(
        appointment=OuterRef("pk"),
        kind__in=[Reminder.Kind.REMINDER, Reminder.Kind.BOOKING_CONFIRMATION],
        reply__isnull=True,
        message__status__in=[
            Message.Status.SENT,
            Message.Status.DELIVERED,
            Message.Status.READ,
        ],
    )
    called = CallSession.objects.filter(
        appointment=OuterRef("pk"), purpose=CallSession.Purpose.CONFIRMATION
    )
    return list(
        Appointment.objects.filter(
            status=Appointment.Status.SCHEDULED,
            start__gt=now,
            start__lte=now + timedelta(hours=hours),
            patient__voice_consent=True,
        )
        .filter(Exists(texted))
        .exclude(Exists(called))
        .select_related("patient")
        .order_by("start", "id")[:500]
    )


def escalate_unconfirmed(*, now: datetime | None = None) -> int:
    """Queue a confirmation call for each visit the texts did not get confirmed."""
    now = now or timezone.now()
    if not voice_policy().escalate_unconfirmed:
        return 0
    queued = 0
    for visit in escalation_candidates(now=now):
        if calling_problem(visit.patient)[0]:
            continue
        try:
            with transaction.atomic():
                call_enqueue(
                    actor=ESCALATION,
                    patient=visit.patient,
                    appointment=visit,
                    purpose=CallSession.Purpose.CONFIRMATION,
                )
        except IntegrityError:
            continue  # queued meanwhile by another run
        queued += 1
    return queued


def _next_try(ended: datetime, minutes: int) -> datetime:
    return QuietHours.of(policy_current()).next_allowed(
        ended + timedelta(minutes=minutes), clinic_zone()
    )


def retry_if_unanswered(session: CallSession) -> CallSession | None:
    """Queue the next try of an unanswered automatic confirmation call, if one is left."""
    if (
        session.purpose != CallSession.Purpose.CONFIRMATION
        or session.outcome not in CallSession.UNANSWERED
        or session.campaign_id
        or session.started_by_id
        or session.appointment_id is None
    ):
        return None
    policy = voice_policy()
    if session.attempt > policy.max_retries:
        return None
    visit = Appointment.objects.select_related("patient").get(pk=session.appointment_id)
    when = _next_try(session.ended_at or timezone.now(), policy.retry_minutes)
    if visit.status != Appointment.Status.SCHEDULED or when >= visit.start:
        return None
    try:
        with transaction.atomic():
            return call_enqueue(
                actor=RETRY,
                patient=visit.patient,
                appointment=visit,
                purpose=CallSession.Purpose.CONFIRMATION,
                retry_of=session,
                not_before=when,
            )
    except IntegrityError:
        return None
