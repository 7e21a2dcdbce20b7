"""Writes of the schedule: booking, the appointment lifecycle, rescheduling.

Every rule lives here; the exclusion constraints on clinic_appointment back
the conflict check, so two concurrent bookings of one slot can never both land.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from billing.hooks import visit_completed
from calls.hooks import reminders_on_booked, reminders_on_rescheduled, reminders_on_status_change
from clinic.availability import on_grid, window_containing, working_windows, clinic_tz
from clinic.events import publish_appointment_change
from clinic.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentType,
    Location,
    Patient,
    Provider,
    Room,
)
from portal.errors import ApplicationError
from portal.models import Role, User

Status = Appointment.Status
Kind = AppointmentEvent.Kind

# Where each move may go from; anything else is refused with the current status.
TRANSITIONS: dict[str, dict[str, str]] = {
    "confirm": {Status.SCHEDULED: Status.CONFIRMED},
    "check_in": {Status.SCHEDULED: Status.CHECKED_IN, Status.CONFIRMED: Status.CHECKED_IN},
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


def _conflict(appointments: list[Appointment], what: str) -> ApplicationError:
    return ApplicationError(
        f"This time conflicts with another appointment of the same {what}.",
        status=409,
        extra={
            "conflicts": [
                {
                    "id": a.pk,
                    "start": a.start.astimezone(clinic_tz()).isoformat(),
                    "end": a.end.astimezone(clinic_tz()).isoformat(),
                    "provider": a.provider_id,
                    "room": a.room_id,
                    "status": a.status,
                }
                for a in appointments
            ]
        },
    )


def _overlapping(*, start: datetime, until: datetime, exclude_id: int | None, **where) -> list[Appointment]:
    qs = Appointment.objects.filter(
        status__in=ACTIVE_STATUSES, is_overbooked=False, start__lt=until, busy_until__gt=start, **where
    )
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return list(qs.order_by("start")[:5])


def _check_slot(
    *,
    provider: Provider,
    appointment_type: AppointmentType,
    start: datetime,
    location: Location | None,
    now: datetime,
) -> tuple[datetime, datetime, Location]:
    """The rules every booking and move obeys; returns (end, busy_until, location)."""
    if timezone.is_naive(start):
        raise ValidationError({"start": ["Give the time with its UTC offset or timezone."]})
    if not provider.is_active:
        raise ValidationError({"provider": ["This provider no longer takes appointments."]})
    if not appointment_type.providers.filter(pk=provider.pk).exists():
        raise ValidationError({"appointment_type": [f"{provider} does not offer {appointment_type}."]})
    if start < now:
        raise ValidationError({"start": ["This time is in the past."]})
    if not on_grid(start, appointment_type.slot_interval_minutes):
        raise ValidationError(
            {
                "start": [
                    f"{appointment_type} visits start every {appointment_type.slot_interval_minutes}"
                    " minutes on the clinic's clock (e.g. 9:00, 9:15)."
                ]
            }
        )
    end = start + timedelta(minutes=appointment_type.duration_minutes)
    busy_until = end + timedelta(minutes=appointment_type.buffer_after_minutes)
    day = start.astimezone(clinic_tz()).date()
    windows = working_windows(provider_ids=[provider.pk], start_date=day, end_date=day)[provider.pk]
    window = window_containing(windows, start, end)
    if window is None:
        raise ValidationError(
            {"start": [f"{provider} is not available then (outside working hours, time off or a holiday)."]}
        )
    if location is not None and location.pk != window.location_id:
        raise ValidationError({"location": [f"{provider} works at another location at that time."]})
    return end, busy_until, location or Location.objects.get(pk=window.location_id)


SCHEDULERS = (Role.ADMIN, Role.FRONT_DESK, Role.CLINICIAN)
ROLE_REFUSED = "Your role does not allow changing the schedule."


def schedule_changes_allowed(*, user: User | None) -> bool:
    """Whether `user` may change the schedule; None is the system (tasks, the demo).

    Billing staff read the schedule but do not change it.
    """
    from portal.selectors import membership_for

    if user is None:
        return True
    membership = getattr(user, "clinic_membership", None) or membership_for(
        user=user, clinic=connection.tenant
    )
    return membership is not None and membership.role in SCHEDULERS


def require_scheduler(*, user: User | None) -> None:
    """Refuse a role that may not change the schedule.

    Every schedule and waitlist service calls this first, before it locks or
    looks at the visit or entry: a refused role learns nothing of their state.
    """
    if not schedule_changes_allowed(user=user):
        raise ApplicationError(ROLE_REFUSED, status=403)


def _check_overbook(*, booked_by: User | None, overbook_reason: str) -> None:
    from portal.selectors import membership_for

    clinic = connection.tenant
    if not clinic.allow_overbooking:
        raise ApplicationError("This clinic does not allow overbooking.", status=403)
    membership = membership_for(user=booked_by, clinic=clinic) if booked_by else None
    if membership is None or not membership.can_overbook:
        raise ApplicationError("You are not allowed to overbook.", status=403)
    if overbook_reason not in Appointment.OverbookReason.values:
        raise ValidationError({"overbook_reason": ["Choose why this visit is overbooked."]})


DEADLOCK = "40P01"
SAVE_ATTEMPTS = 3


def _save_checked(appointment: Appointment, **save_kwargs) -> None:
    """Save; the exclusion constraints turn a lost race into the same 409 as the check.

    Two bookings inserted at once each wait for the other's exclusion check,
    and PostgreSQL breaks that tie by aborting one of them (deadlock). The one
    it aborted tries again: by then the other has committed or rolled back,
    so the retry either lands or meets a plain, reportable conflict.
    """
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                appointment.save(**save_kwargs)
            return
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != DEADLOCK or attempt == SAVE_ATTEMPTS:
                raise
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") or ""
            if "no_room_overlap" in constraint:
                raise _conflict(
                    _overlapping(start=appointment.start, until=appointment.end,
                                 exclude_id=appointment.pk, room=appointment.room),
                    "room",
                ) from exc
            if "no_provider_overlap" in constraint:
                raise _conflict(
                    _overlapping(start=appointment.start, until=appointment.busy_until,
                                 exclude_id=appointment.pk, provider=appointment.provider),
                    "provider",
                ) from exc
            raise


def _check_conflicts(appointment: Appointment) -> None:
    if appointment.is_overbooked:
        return
    clash = _overlapping(
        start=appointment.start, until=appointment.busy_until, exclude_id=appointment.pk,
        provider=appointment.provider,
    )
    if clash:
        raise _conflict(clash, "provider")
    if appointment.room_id:
        clash = _overlapping(
            start=appointment.start, until=appointment.end, exclude_id=appointment.pk,
            room=appointment.room,
        )
        if clash:
            raise _conflict(clash, "room")


@transaction.atomic
def appointment_book(
    *,
    patient: Patient,
    provider: Provider,
    appointment_type: AppointmentType,
    start: datetime,
    booked_by: User | None,
    location: Location | None = None,
    room: Room | None = None,
    reason: str = "",
    notes: str = "",
    source: str = Appointment.Source.STAFF,
    overbook: bool = False,
    overbook_reason: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Book a visit, or refuse with a clear reason (400 for a rule, 409 for a conflict)."""
    require_scheduler(user=booked_by)
    if patient.status != Patient.Status.ACTIVE:
        raise ValidationError({"patient": ["This patient is archived."]})
    if not appointment_type.is_active:
        raise ValidationError({"appointment_type": ["This appointment type is retired."]})
    end, busy_until, location = _check_slot(
        provider=provider, appointment_type=appointment_type, start=start, location=location,
        now=now or timezone.now(),
    )
    if room is not None and room.location_id != location.pk:
        raise ValidationError({"room": [f"{room} is not at {location}."]})
    if overbook:
        _check_overbook(booked_by=booked_by, overbook_reason=overbook_reason)
    appointment = Appointment(
        patient=patient, provider=provider, appointment_type=appointment_type, location=location,
        room=room, start=start, end=end, busy_until=busy_until, reason=reason, notes=notes,
        source=source, is_overbooked=overbook, overbook_reason=overbook_reason if overbook else "",
        booked_by=booked_by,
    )
    _check_conflicts(appointment)
    _save_checked(appointment)
    AppointmentEvent.objects.create(
        appointment=appointment, kind=Kind.BOOKED, to_status=appointment.status, by=booked_by,
        note=f"Overbooked: {appointment.get_overbook_reason_display()}" if overbook else "",
    )
    reminders_on_booked(appointment=appointment)
    publish_appointment_change(appointment, "booked")
    return appointment


def _transition(
    *,
    appointment: Appointment,
    move: str,
    by: User | None,
    note: str = "",
    guard: Callable[[Appointment], None] | None = None,
) -> Appointment:
    """Make one move on the locked visit; the caller has checked the role.

    `guard` checks a rule of the move (its day, its start) on the locked row,
    before the status is looked at.
    """
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if guard is not None:
        guard(appointment)
    target = TRANSITIONS[move].get(appointment.status)
    if target is None:
        raise ApplicationError(
            f"A {appointment.get_status_display().lower()} appointment cannot be {DONE[move]}.",
            status=409,
            extra={"current_status": appointment.status},
        )
    previous = appointment.status
    appointment.status = target
    fields = ["status", "updated_at"]
    if target == Status.CANCELLED:
        appointment.cancel_reason = note
        appointment.cancelled_at = timezone.now()
        appointment.cancelled_by = by
        fields += ["cancel_reason", "cancelled_at", "cancelled_by"]
    appointment.save(update_fields=fields)
    AppointmentEvent.objects.create(
        appointment=appointment, kind=target, from_status=previous, to_status=target, by=by, note=note,
        old_start=appointment.start if target == Status.CANCELLED else None,
        old_end=appointment.end if target == Status.CANCELLED else None,
        old_provider=appointment.provider if target == Status.CANCELLED else None,
    )
    reminders_on_status_change(appointment=appointment, previous=previous)
    publish_appointment_change(appointment, move)
    return appointment


@transaction.atomic
def appointment_confirm(*, appointment: Appointment, by: User | None) -> Appointment:
    require_scheduler(user=by)
    return _transition(appointment=appointment, move="confirm", by=by)


def _on_its_day(appointment: Appointment) -> None:
    local_day = appointment.start.astimezone(clinic_tz()).date()
    if timezone.localdate(timezone=clinic_tz()) != local_day:
        raise ApplicationError(
            "Patients check in on the day of their appointment.",
            status=409,
            extra={"current_status": appointment.status},
        )


@transaction.atomic
def appointment_check_in(*, appointment: Appointment, by: User | None) -> Appointment:
    require_scheduler(user=by)
    return _transition(
        appointment=appointment, move="check_in", by=by, guard=_on_its_day
    )


@transaction.atomic
def appointment_complete(*, appointment: Appointment, by: User | None) -> Appointment:
    require_scheduler(user=by)
    return visit_completed(_transition(appointment=appointment, move="complete", by=by))


@transaction.atomic
def appointment_cancel(*, appointment: Appointment, by: User | None, reason: str) -> Appointment:
    require_scheduler(user=by)
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the appointment is cancelled."]})
    return _transition(appointment=appointment, move="cancel", by=by, note=reason.strip()[:300])


@transaction.atomic
def appointment_no_show(
    *, appointment: Appointment, by: User | None, now: datetime | None = None
) -> Appointment:
    require_scheduler(user=by)

    def has_started(locked: Appointment) -> None:
        if (now or timezone.now()) < locked.start:
            raise ApplicationError(
                "A patient can only be marked as a no-show once the appointment"
                " has started.",
                status=409,
                extra={"current_status": locked.status},
            )

    return _transition(
        appointment=appointment, move="no_show", by=by, guard=has_started
    )


@transaction.atomic
def appointment_reschedule(
    *,
    appointment: Appointment,
    start: datetime,
    by: User | None,
    provider: Provider | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move a visit to another time (and provider); the old slot stays in its history.

    The slot the visit already holds is no move: it comes back unchanged, with no
    history entry, no live update and its status (a confirmation) kept.
    """
    require_scheduler(user=by)
    appointment = Appointment.objects.select_for_update().select_related("appointment_type").get(
        pk=appointment.pk
    )
    if appointment.status not in RESCHEDULABLE:
        raise ApplicationError(
            f"A {appointment.get_status_display().lower()} appointment cannot be rescheduled.",
            status=409,
            extra={"current_status": appointment.status},
        )
    provider = provider or appointment.provider
    # A naive time goes on to the slot check, which refuses it with its own message.
    if (
        timezone.is_aware(start)
        and start == appointment.start
        and provider.pk == appointment.provider_id
    ):
        # The slot it holds, with its location and room: nothing to check or move.
        return appointment
    keep_location = appointment.location if provider.pk == appointment.provider_id else None
    end, busy_until, location = _check_slot(
        provider=provider, appointment_type=appointment.appointment_type, start=start,
        location=None, now=now or timezone.now(),
    )
    old = (appointment.start, appointment.end, appointment.provider)
    appointment.start, appointment.end, appointment.busy_until = start, end, busy_until
    appointment.provider = provider
    appointment.location = location
    if keep_location is None or keep_location.pk != location.pk:
        appointment.room = None
    # The patient has not agreed to the new time yet.
    appointment.status = Status.SCHEDULED
    _check_conflicts(appointment)
    _save_checked(
        appointment,
        update_fields=["start", "end", "busy_until", "provider", "location", "room", "status", "updated_at"],
    )
    AppointmentEvent.objects.create(
        appointment=appointment, kind=Kind.RESCHEDULED, to_status=appointment.status, by=by,
        old_start=old[0], old_end=old[1], old_provider=old[2],
    )
    reminders_on_rescheduled(appointment=appointment)
    publish_appointment_change(appointment, "rescheduled")
    return appointment
