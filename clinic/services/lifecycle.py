"""The appointment lifecycle: confirm, check in, complete, cancel, no-show, and
the moves the rules allow now (appointment_allowed_moves).

Each move runs on the locked visit: its rule of time (the day of a check-in,
the start of a no-show) and its status are read after the lock, so a change
committed a moment before is what the move decides on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing.hooks import visit_completed
from calls.hooks import reminders_on_status_change
from clinic.actors import Actor, actor_note, actor_user
from clinic.clock import clinic_day, clinic_today
from clinic.events import publish_appointment_change
from clinic.models import Appointment, AppointmentEvent
from clinic.permissions import Perm, may, require
from portal.errors import ApplicationError

Status = Appointment.Status
Kind = AppointmentEvent.Kind

# Where each move may go from; anything else is refused with the current status.
TRANSITIONS: dict[str, dict[str, str]] = {
    "confirm": {Status.SCHEDULED: Status.CONFIRMED},
    "check_in": {
        Status.SCHEDULED: Status.CHECKED_IN,
        Status.CONFIRMED: Status.CHECKED_IN,
    },
    "complete": {Status.CHECKED_IN: Status.COMPLETED},
    "cancel": {Status.SCHEDULED: Status.CANCELLED, Status.CONFIRMED: Status.CANCELLED},
    "no_show": {Status.SCHEDULED: Status.NO_SHOW, Status.CONFIRMED: Status.NO_SHOW},
}
DONE = {
    "confirm": "confirmed",
    "check_in": "checked in",
    "complete": "completed",
    "cancel": "cancelled",
    "no_show": "marked as a no-show",
}
RESCHEDULABLE = (Status.SCHEDULED, Status.CONFIRMED)
# The order a panel offers the moves in.
MOVE_ORDER = ("confirm", "check_in", "complete", "no_show", "cancel", "reschedule")


def _check_in_refusal(appointment: Appointment, at: datetime) -> str | None:
    if clinic_day(appointment.start) != clinic_today(at):
        return "Patients check in on the day of their appointment."
    return None


def _no_show_refusal(appointment: Appointment, at: datetime) -> str | None:
    if at < appointment.start:
        return (
            "A patient can only be marked as a no-show once the appointment"
            " has started."
        )
    return None


# A move's rule of time, checked on the locked row before its status.
GUARDS: dict[str, Callable[[Appointment, datetime], str | None]] = {
    "check_in": _check_in_refusal,
    "no_show": _no_show_refusal,
}


def appointment_allowed_moves(
    *, appointment: Appointment, actor: Actor, at: datetime | None = None
) -> list[str]:
    """The moves the rules allow this actor now, in the order a panel offers them.

    The same rules the services apply (role, status, the move's time), so a
    page offers exactly the moves that would succeed.
    """
    if not may(actor, Perm.CHANGE_SCHEDULE):
        return []
    at = at or timezone.now()
    moves = []
    for move in MOVE_ORDER:
        if move == "reschedule":
            allowed = appointment.status in RESCHEDULABLE
        else:
            guard = GUARDS.get(move)
            allowed = appointment.status in TRANSITIONS[move] and (
                guard is None or guard(appointment, at) is None
            )
        if allowed:
            moves.append(move)
    return moves


def _transition(
    *,
    appointment: Appointment,
    move: str,
    actor: Actor,
    at: datetime | None,
    note: str = "",
) -> Appointment:
    """Make one move on the locked visit; the caller has checked the role.

    The move's rule of time (its day, its start) is checked on the locked row,
    before the status is looked at.
    """
    at = at or timezone.now()
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    guard = GUARDS.get(move)
    refusal = guard(appointment, at) if guard is not None else None
    if refusal is not None:
        raise ApplicationError(
            refusal, status=409, extra={"current_status": appointment.status}
        )
    target = TRANSITIONS[move].get(appointment.status)
    if target is None:
        raise ApplicationError(
            f"A {appointment.get_status_display().lower()} appointment cannot be"
            f" {DONE[move]}.",
            status=409,
            extra={"current_status": appointment.status},
        )
    previous = appointment.status
    appointment.status = target
    fields = ["status", "updated_at"]
    cancelled = target == Status.CANCELLED
    if cancelled:
        appointment.cancel_reason = note
        appointment.cancelled_at = at
        appointment.cancelled_by = actor_user(actor)
        fields += ["cancel_reason", "cancelled_at", "cancelled_by"]
    appointment.save(update_fields=fields)
    AppointmentEvent.objects.create(
        appointment=appointment,
        kind=target,
        from_status=previous,
        to_status=target,
        by=actor_user(actor),
        note=(note or actor_note(actor, Kind(target).label))[:300],
        at=at,
        old_start=appointment.start if cancelled else None,
        old_end=appointment.end if cancelled else None,
        old_provider=appointment.provider if cancelled else None,
    )
    reminders_on_status_change(appointment=appointment, previous=previous)
    publish_appointment_change(appointment, move)
    return appointment


@transaction.atomic
def appointment_confirm(
    *, appointment: Appointment, actor: Actor, at: datetime | None = None
) -> Appointment:
    require(actor, Perm.CHANGE_SCHEDULE)
    return _transition(appointment=appointment, move="confirm", actor=actor, at=at)


@transaction.atomic
def appointment_check_in(
    *, appointment: Appointment, actor: Actor, at: datetime | None = None
) -> Appointment:
    """Check the patient in, on the day of the visit (on the clinic's clock)."""
    require(actor, Perm.CHANGE_SCHEDULE)
    return _transition(appointment=appointment, move="check_in", actor=actor, at=at)


@transaction.atomic
def appointment_complete(
    *, appointment: Appointment, actor: Actor, at: datetime | None = None
) -> Appointment:
    require(actor, Perm.CHANGE_SCHEDULE)
    return visit_completed(
        _transition(appointment=appointment, move="complete", actor=actor, at=at)
    )


@transaction.atomic
def appointment_cancel(
    *, appointment: Appointment, actor: Actor, reason: str, at: datetime | None = None
) -> Appointment:
    require(actor, Perm.CHANGE_SCHEDULE)
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the appointment is cancelled."]})
    return _transition(
        appointment=appointment,
        move="cancel",
        actor=actor,
        at=at,
        note=reason.strip()[:300],
    )


@transaction.atomic
def appointment_no_show(
    *, appointment: Appointment, actor: Actor, at: datetime | None = None
) -> Appointment:
    """Mark a patient who did not come, once the visit has started."""
    require(actor, Perm.CHANGE_SCHEDULE)
    return _transition(appointment=appointment, move="no_show", actor=actor, at=at)
