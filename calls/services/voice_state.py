"""A call's state: Twilio's callbacks applied once and forward only, turns, the patient's last call.

Twilio posts each status callback as its own request, with no ordering
guarantee and retries: each is recorded once as a CallEvent (unique per
session and SequenceNumber), and applied only when it is newer than the last
one applied (by SequenceNumber, else by its Timestamp) and moves the session
forward. Busy, no-answer, canceled and failed end a call as Failed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.models import CallEvent, CallSession, PatientCallState, TranscriptTurn
from calls.voice.events import publish_call, publish_turn

Status = CallSession.Status
Outcome = CallSession.Outcome

# Twilio's call statuses, as our session statuses.
CARRIER_STATUS = {
    "queued": Status.DIALING,
    "initiated": Status.DIALING,
    "ringing": Status.DIALING,
    "in-progress": Status.IN_PROGRESS,
    "completed": Status.COMPLETED,
    "busy": Status.FAILED,
    "no-answer": Status.FAILED,
    "canceled": Status.FAILED,
    "failed": Status.FAILED,
}
CARRIER_FINAL = {"completed", "busy", "no-answer", "canceled", "failed"}
CARRIER_OUTCOME = {
    "busy": Outcome.BUSY,
    "no-answer": Outcome.NO_ANSWER,
    "canceled": Outcome.FAILED,
    "failed": Outcome.FAILED,
}
MACHINE = {
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
}


def reported_time(raw: str) -> datetime | None:
    """Twilio's Timestamp (RFC 2822), or None."""
    try:
        return parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError):
        return None


def session_locked(*, session_id: int | None, sid: str = "") -> CallSession | None:
    """The session, locked for this transaction, by id (from our URL) or by SID."""
    rows = CallSession.objects.select_for_update()
    if session_id is not None:
        return rows.filter(pk=session_id).first()
    return rows.filter(sid=sid).first() if sid else None


def session_move(
    session: CallSession, status: str, *, source: str, detail: str = ""
) -> bool:
    """Move a locked session forward to `status` and record it; False when it would go back."""
    if CallSession.RANK[status] <= CallSession.RANK[session.status]:
        return False
    CallEvent.objects.create(
        session=session,
        source=source,
        from_status=session.status,
        to_status=status,
        detail=detail[:300],
    )
    session.status = status
    return True


def patient_state_touch(session: CallSession) -> None:
    """The patient keeps their last call's status, session and time."""
    if session.patient_id is None:
        return
    PatientCallState.objects.update_or_create(
        patient_id=session.patient_id,
        defaults={
            "last_session": session,
            "last_status": session.status,
            "last_at": session.ended_at
            or session.answered_at
            or session.placed_at
            or timezone.now(),
        },
    )


def session_save(session: CallSession, change: str) -> None:
    session.save()
    patient_state_touch(session)
    publish_call(session, change)
    if session.ended_at is not None and change == "ended":
        from calls.services.voice_dial import after_call_ended

        after_call_ended(session)


@transaction.atomic
def call_status_apply(
    *,
    session_id: int | None,
    sid: str,
    carrier_status: str,
    sequence: int | None,
    timestamp: str = "",
    duration: int | None = None,
    error_code: int | None = None,
) -> str:
    """Apply one status callback: "applied", "recorded" (too late to change), "duplicate"."""
    session = session_locked(session_id=session_id, sid=sid)
    if session is None or carrier_status not in CARRIER_STATUS:
        return "unknown"
    if session.sid and sid and session.sid != sid:
        return "unknown"  # the URL's session and the call do not match
    if (
        sequence is not None
        and session.events.filter(
            source=CallEvent.Source.STATUS, sequence=sequence
        ).exists()
    ):
        return "duplicate"
    at = reported_time(timestamp)
    last = (
        session.events.filter(source=CallEvent.Source.STATUS, applied=True)
        .order_by("-id")
        .first()
    )
    newer = (
        sequence > session.last_sequence
        if sequence is not None
        else (
            at is None
            or last is None
            or last.reported_at is None
            or at >= last.reported_at
        )
    )
    before = session.status
    if not session.sid and sid:
        session.sid = sid  # the worker died before it stored the SID
    now = timezone.now()
    final = carrier_status in CARRIER_FINAL
    target = CARRIER_STATUS[carrier_status]
    changed = False
    if (
        carrier_status == "in-progress"
        and session.answered_at is None
        and session.status != Status.FAILED
    ):
        session.answered_at = at or now
        changed = True
    if final and session.ended_at is None:
        session.ended_at = at or now
        session.duration_seconds = duration
        session.error_code = error_code
        if session.status in (Status.SUPERVISOR_DIALED,):
            target = Status.SUPERVISOR_DIALED
        if not session.outcome:
            session.outcome = CARRIER_OUTCOME.get(carrier_status) or (
                Outcome.HUNG_UP if session.answered_at else Outcome.FAILED
            )
        changed = True
    elif final and duration is not None and session.duration_seconds is None:
        session.duration_seconds = duration
    moved = newer and CallSession.RANK[target] > CallSession.RANK[session.status]
    if moved:
        session.status = target
    if newer and sequence is not None:
        session.last_sequence = sequence
    if newer:
        session.carrier_status = carrier_status
    try:
        with transaction.atomic():
            CallEvent.objects.create(
                session=session,
                source=CallEvent.Source.STATUS,
                carrier_status=carrier_status,
                sequence=sequence,
                from_status=before,
                to_status=session.status,
                applied=moved or (changed and newer),
                reported_at=at,
            )
    except IntegrityError:
        return "duplicate"
    if moved or changed:
        session_save(session, "ended" if final and changed else "status")
    else:
        session.save(
            update_fields=[
                "sid",
                "last_sequence",
                "carrier_status",
                "duration_seconds",
                "updated_at",
            ]
        )
    return "applied" if moved or changed else "recorded"


def answered_by_of(raw: str) -> str:
    if raw == "human":
        return CallSession.AnsweredBy.HUMAN
    if raw in MACHINE:
        return CallSession.AnsweredBy.MACHINE
    if raw == "fax":
        return CallSession.AnsweredBy.FAX
    return CallSession.AnsweredBy.UNKNOWN


def turn_record(
    session: CallSession,
    *,
    step: int,
    speaker: str,
    kind: str,
    text: str,
    confidence: Decimal | None = None,
) -> TranscriptTurn | None:
    """Record one turn once (a retried request records nothing new)."""
    try:
        with transaction.atomic():
            turn = TranscriptTurn.objects.create(
                session=session,
                step=step,
                speaker=speaker,
                kind=kind,
                text=text[:2000],
                confidence=confidence,
                at=timezone.now(),
            )
    except IntegrityError:
        return None
    publish_turn(turn)
    return turn
