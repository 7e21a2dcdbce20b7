"""Placing calls: requests, the per-clinic queue and concurrency limit, hang-ups.

A call is a session row committed as Not Started before anything else. The
dispatcher (a Celery task, kicked after every request and every call's end,
and by beat each minute) takes the clinic's advisory lock, counts the
outbound calls still live, claims the oldest waiting sessions that fit
under the limit (`FOR UPDATE SKIP LOCKED`), marks them Dialing with their
placing time, commits, and only then asks Twilio to place them. A worker
killed between the commit and Twilio's answer leaves a Dialing row with no
SID: its callbacks still find it (the session id rides in the signed URLs),
and if none ever come it is failed after VOICE_PLACING_STALE_SECONDS, never
placed again, so nobody is called twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from calls import gateway
from calls.actors import Actor, SystemActor, actor_label, actor_user
from calls.models import CallEvent, CallSession, VoicePolicy
from calls.permissions import require_caller
from calls.policy import QuietHours, clinic_zone, policy_current
from calls.services.common import current_clinic
from calls.services.voice_state import session_move, session_save
from calls.voice.prompts import TEXTS
from clinic.models import Appointment, Patient
from portal.errors import ApplicationError
from portal.links import clinic_url

logger = logging.getLogger(__name__)
Status = CallSession.Status
Outcome = CallSession.Outcome
Purpose = CallSession.Purpose
UPCOMING = (Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED)
CALL_WORKER = SystemActor("call worker")


def voice_policy() -> VoicePolicy:
    return VoicePolicy.objects.first() or VoicePolicy()


def calling_problem(patient: Patient) -> tuple[str, str]:
    """Why this patient cannot be called now, as (code, sentence); ("", "") if they can."""
    if patient.status != Patient.Status.ACTIVE:
        return "archived", "This patient is archived."
    if not patient.phone:
        return "no_phone", "This patient has no phone number."
    if not patient.voice_consent:
        return "no_voice_consent", "This patient has not agreed to phone calls."
    return "", ""


def quiet_now(now: datetime | None = None) -> datetime | None:
    """When calls may start again, if it is quiet hours now; else None."""
    now = now or timezone.now()
    allowed = QuietHours.of(policy_current()).next_allowed(now, clinic_zone())
    return allowed if allowed != now else None


def _language(patient: Patient | None) -> str:
    language = patient.preferred_language if patient else "en"
    return language if language in TEXTS else "en"


def call_enqueue(
    *,
    actor: Actor,
    patient: Patient,
    purpose: str,
    appointment: Appointment | None = None,
    message: str = "",
    campaign=None,
    retry_of: CallSession | None = None,
    not_before: datetime | None = None,
) -> CallSession:
    """Write a waiting call (the caller checked the rules); the dispatcher places it."""
    session = CallSession.objects.create(
        patient=patient,
        appointment=appointment,
        workflow_id=patient.workflow_id,
        campaign=campaign,
        retry_of=retry_of,
        attempt=retry_of.attempt + 1 if retry_of else 1,
        purpose=purpose,
        direction=CallSession.Direction.OUTBOUND,
        custom_message=message,
        language=_language(patient),
        to_number=patient.phone,
        not_before=not_before,
        started_by=actor_user(actor),
        started_by_label=actor_label(actor)[:200],
    )
    CallEvent.objects.create(
        session=session,
        source=CallEvent.Source.PORTAL,
        to_status=Status.NOT_STARTED,
        detail=f"Queued by {actor_label(actor)}"[:300],
    )
    session_save(session, "queued")
    transaction.on_commit(dispatch_soon)
    return session


@transaction.atomic
def call_request(
    *,
    actor: Actor,
    patient: Patient,
    purpose: str,
    appointment: Appointment | None = None,
    message: str = "",
) -> CallSession:
    """Staff (or a partner) ask the portal to call a patient now."""
    require_caller(actor)
    message = (message or "").strip()
    if purpose not in (Purpose.CONFIRMATION, Purpose.RECALL, Purpose.CUSTOM):
        raise ValidationError({"purpose": ["Choose confirmation, recall or custom."]})
    if appointment is not None and appointment.patient_id != patient.pk:
        raise ValidationError({"appointment": ["This visit is another patient's."]})
    if purpose == Purpose.CONFIRMATION:
        if appointment is None:
            raise ValidationError({"appointment": ["Say which visit to confirm."]})
        if appointment.status not in UPCOMING or appointment.start <= timezone.now():
            raise ValidationError({"appointment": ["This visit is not upcoming."]})
    if purpose == Purpose.CUSTOM and not message:
        raise ValidationError({"message": ["Write what the call should say."]})
    if len(message) > 500 or "\x00" in message:
        raise ValidationError({"message": ["At most 500 characters."]})
    code, problem = calling_problem(patient)
    if not code and not current_clinic().main_phone:
        code, problem = (
            "no_clinic_number",
            "The clinic has no phone number to call from.",
        )
    if not code and (allowed := quiet_now()) is not None:
        local = timezone.localtime(allowed, clinic_zone())
        code, problem = "quiet_hours", f"Quiet hours: calls may start at {local:%H:%M}."
    if code:
        raise ApplicationError(problem, status=409, extra={"reason": code})
    # A double click, or a partner's retry, must not queue the same call twice:
    # the patient's row lock makes concurrent requests take turns here.
    list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk"))
    waiting = CallSession.objects.filter(
        patient=patient,
        purpose=purpose,
        appointment=appointment,
        campaign__isnull=True,
        status=Status.NOT_STARTED,
    ).exists()
    if waiting:
        raise ApplicationError(
            "A call to this patient for this is already waiting.",
            status=409,
            extra={"reason": "already_waiting"},
        )
    return call_enqueue(
        actor=actor,
        patient=patient,
        purpose=purpose,
        appointment=appointment,
        message=message,
    )


def dispatch_soon() -> None:
    from calls.tasks_voice import voice_dispatch

    try:
        voice_dispatch.delay()
    except Exception:  # noqa: BLE001 - beat runs the dispatcher every minute anyway
        logger.warning("voice dispatcher not enqueued")


# --- The dispatcher ------------------------------------------------------------------


@dataclass
class DispatchReport:
    claimed: int = 0
    placed: int = 0
    refused: int = 0
    stale: int = 0
    skipped: int = 0


def _lock_clinic_queue() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            [f"calls.voice_queue.{connection.schema_name}"],
        )


def live_outbound() -> int:
    return CallSession.objects.filter(
        direction=CallSession.Direction.OUTBOUND,
        placed_at__isnull=False,
        ended_at__isnull=True,
    ).count()


def _end_unplaced(session: CallSession, outcome: str, detail: str) -> None:
    status = Status.TERMINATED if outcome == Outcome.SKIPPED else Status.FAILED
    session_move(session, status, source=CallEvent.Source.PORTAL, detail=detail)
    session.outcome = outcome
    session.detail = detail[:300]
    session.ended_at = timezone.now()
    session_save(session, "ended")


def _still_needed(session: CallSession) -> str:
    """Why a waiting call must not be placed any more, or ""."""
    code, problem = calling_problem(session.patient)
    if code:
        return problem
    if session.purpose == Purpose.CONFIRMATION:
        visit = session.appointment
        if visit is None or visit.start <= timezone.now():
            return "The visit is no longer upcoming."
        if visit.status != Appointment.Status.SCHEDULED:
            return f"The visit is {visit.get_status_display().lower()} already."
    return ""


def _reap_stale(now: datetime) -> int:
    stale = list(
        CallSession.objects.select_for_update(skip_locked=True).filter(
            direction=CallSession.Direction.OUTBOUND,
            sid__isnull=True,
            placed_at__lt=now - timedelta(seconds=settings.VOICE_PLACING_STALE_SECONDS),
            ended_at__isnull=True,
        )
    )
    for session in stale:
        _end_unplaced(
            session,
            Outcome.FAILED,
            "The carrier never confirmed this call; it is not placed again.",
        )
    return len(stale)


def voice_dispatch_run(*, now: datetime | None = None) -> DispatchReport:
    """Place the waiting calls that fit under the clinic's limit, oldest first."""
    report = DispatchReport()
    now = now or timezone.now()
    with transaction.atomic():
        _lock_clinic_queue()
        report.stale = _reap_stale(now)
        if quiet_now(now) is not None:
            return report
        room = voice_policy().max_concurrent_calls - live_outbound()
        claimed: list[CallSession] = []
        while room > 0:
            batch = list(
                CallSession.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    status=Status.NOT_STARTED,
                    direction=CallSession.Direction.OUTBOUND,
                )
                .exclude(not_before__gt=now)
                .exclude(campaign__status__in=["paused", "finished"])
                .select_related("patient", "appointment")
                .order_by("created_at", "id")[:room]
            )
            if not batch:
                break
            for session in batch:
                why = _still_needed(session)
                if why:
                    _end_unplaced(session, Outcome.SKIPPED, why)
                    report.skipped += 1
                    continue
                session_move(session, Status.DIALING, source=CallEvent.Source.PORTAL)
                session.placed_at = now
                session.from_number = current_clinic().main_phone
                session.to_number = session.patient.phone
                session_save(session, "dialing")
                claimed.append(session)
                room -= 1
        report.claimed = len(claimed)
    for session in claimed:
        if call_place(session):
            report.placed += 1
        else:
            report.refused += 1
    return report


def _urls(session: CallSession) -> dict[str, str]:
    clinic = current_clinic()
    query = f"?session={session.pk}"
    return {
        "url": clinic_url(clinic, "/twilio/voice/flow/" + query),
        "status_callback": clinic_url(clinic, "/twilio/voice/status/" + query),
        "amd_callback": clinic_url(clinic, "/twilio/voice/amd/" + query),
    }


def call_place(session: CallSession) -> bool:
    """Ask Twilio to place a claimed call (outside any transaction); False when refused."""
    try:
        sid = gateway.call_place(
            to=session.to_number, from_=session.from_number, **_urls(session)
        )
    except gateway.Refused as exc:
        with transaction.atomic():
            locked = CallSession.objects.select_for_update().get(pk=session.pk)
            locked.error_code = exc.code
            _end_unplaced(locked, Outcome.FAILED, f"The carrier refused: {exc.message}")
        return False
    except gateway.Unknown:
        # The callbacks (with the session in their URL) or the reaper settle it.
        logger.warning("call %s: the carrier's answer was lost", session.pk)
        return True
    CallSession.objects.filter(pk=session.pk, sid__isnull=True).update(
        sid=sid, updated_at=timezone.now()
    )
    return True


# --- After a call ---------------------------------------------------------------------


def after_call_ended(session: CallSession) -> None:
    """A call ended: free its place in the queue, retry it or finish its campaign."""
    transaction.on_commit(dispatch_soon)
    if session.direction == CallSession.Direction.OUTBOUND:
        from calls.services.voice_escalation import retry_if_unanswered

        retry_if_unanswered(session)
    if session.campaign_id:
        from calls.services.voice_campaigns import campaign_check_finished

        campaign_check_finished(session.campaign_id)


@transaction.atomic
def call_hangup(*, actor: Actor, session: CallSession) -> CallSession:
    """Staff end a call: Twilio hangs it up, and the session ends Terminated."""
    require_caller(actor)
    session = CallSession.objects.select_for_update().get(pk=session.pk)
    if session.ended_at is not None or session.is_final:
        raise ApplicationError(
            "This call has ended already.",
            status=409,
            extra={"current_status": session.status},
        )
    session_move(
        session,
        Status.TERMINATED,
        source=CallEvent.Source.PORTAL,
        detail=f"Hung up by {actor_label(actor)}",
    )
    session.outcome = Outcome.TERMINATED
    session.detail = f"Hung up by {actor_label(actor)}"[:300]
    session.ended_at = timezone.now()
    if session.answered_at:
        session.duration_seconds = int(
            (session.ended_at - session.answered_at).total_seconds()
        )
    sid = session.sid
    session_save(session, "ended")
    if sid:
        transaction.on_commit(lambda: _hang_up_at_carrier(sid))
    return session


def _hang_up_at_carrier(sid: str) -> None:
    try:
        gateway.call_update(sid=sid, status="completed")
    except gateway.GatewayError as exc:
        logger.warning("hang-up of a call not accepted by the carrier: %s", exc.message)
