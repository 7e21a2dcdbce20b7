"""Writes of the schedule: booking and rescheduling (the lifecycle: lifecycle.py).

Every rule of a visit lives here; "is this time taken?" is answered by
clinic.selectors.availability, whose exclusion constraints' twins on
clinic_appointment make sure two concurrent bookings of one slot never both land.
Every service takes its actor (a member, or the system), checks the role
through clinic.permissions before it looks at anything, and the time of the
event (`at`, now by default), so a history can be written as it happened.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from calls.hooks import (
    reminders_on_booked,
    reminders_on_rescheduled,
)
from clinic.actors import Actor, actor_note, actor_user
from clinic.clock import booking_min_notice, clinic_day, clinic_tz
from clinic.events import publish_appointment_change
from clinic.models import (
    Appointment,
    AppointmentEvent,
    AppointmentType,
    Location,
    Patient,
    Provider,
    Room,
)
from clinic.permissions import Perm, require, require_overbook
from clinic.selectors.availability import (
    appointments_overlapping,
    on_grid,
    window_containing,
    working_windows,
)
from clinic.services.lifecycle import RESCHEDULABLE
from portal.errors import ApplicationError

Status = Appointment.Status
Kind = AppointmentEvent.Kind

DEADLOCK = "40P01"
SAVE_ATTEMPTS = 3


# --- Rules of a slot -----------------------------------------------------------------


def _conflict(appointments: list[Appointment], what: str) -> ApplicationError:
    tz = clinic_tz()
    return ApplicationError(
        f"This time conflicts with another appointment of the same {what}.",
        status=409,
        extra={
            "conflicts": [
                {
                    "id": a.pk,
                    "start": a.start.astimezone(tz).isoformat(),
                    "end": a.end.astimezone(tz).isoformat(),
                    "provider": a.provider_id,
                    "room": a.room_id,
                    "status": a.status,
                }
                for a in appointments
            ]
        },
    )


def _provider_clash(appointment: Appointment) -> list[Appointment]:
    return list(
        appointments_overlapping(
            start=appointment.start,
            until=appointment.busy_until,
            provider_ids=[appointment.provider_id],
            exclude_id=appointment.pk,
        )[:5]
    )


def _room_clash(appointment: Appointment) -> list[Appointment]:
    return list(
        appointments_overlapping(
            start=appointment.start,
            until=appointment.end,
            room_id=appointment.room_id,
            exclude_id=appointment.pk,
        )[:5]
    )


def _check_slot(
    *,
    provider: Provider,
    appointment_type: AppointmentType,
    start: datetime,
    location: Location | None,
    at: datetime,
) -> tuple[datetime, datetime, Location]:
    """The rules every booking and move obeys; returns (end, busy_until, location)."""
    if timezone.is_naive(start):
        raise ValidationError(
            {"start": ["Give the time with its UTC offset or timezone."]}
        )
    if not provider.is_active:
        raise ValidationError(
            {"provider": ["This provider no longer takes appointments."]}
        )
    if not appointment_type.providers.filter(pk=provider.pk).exists():
        raise ValidationError(
            {"appointment_type": [f"{provider} does not offer {appointment_type}."]}
        )
    if start < at:
        raise ValidationError({"start": ["This time is in the past."]})
    notice = booking_min_notice()
    if start < at + notice:
        minutes = int(notice.total_seconds() // 60)
        raise ValidationError(
            {"start": [f"Visits are booked at least {minutes} minutes ahead."]}
        )
    if not on_grid(start, appointment_type.slot_interval_minutes):
        raise ValidationError(
            {
                "start": [
                    f"{appointment_type} visits start every"
                    f" {appointment_type.slot_interval_minutes} minutes on the clinic's"
                    " clock (e.g. 9:00, 9:15)."
                ]
            }
        )
    end = start + timedelta(minutes=appointment_type.duration_minutes)
    busy_until = end + timedelta(minutes=appointment_type.buffer_after_minutes)
    day = clinic_day(start)
    windows = working_windows(provider_ids=[provider.pk], start_date=day, end_date=day)
    window = window_containing(windows[provider.pk], start, end)
    if window is None:
        raise ValidationError(
            {
                "start": [
                    f"{provider} is not available then (outside working hours,"
                    " time off or a holiday)."
                ]
            }
        )
    if location is not None and location.pk != window.location_id:
        raise ValidationError(
            {"location": [f"{provider} works at another location at that time."]}
        )
    return end, busy_until, location or Location.objects.get(pk=window.location_id)


def _check_conflicts(appointment: Appointment) -> None:
    """Taken time refuses the visit, unless it is itself a deliberate overbooking."""
    if appointment.is_overbooked:
        return
    clash = _provider_clash(appointment)
    if clash:
        raise _conflict(clash, "provider")
    if appointment.room_id:
        clash = _room_clash(appointment)
        if clash:
            raise _conflict(clash, "room")


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
            deadlock = getattr(exc.__cause__, "sqlstate", None) == DEADLOCK
            if not deadlock or attempt == SAVE_ATTEMPTS:
                raise
        except IntegrityError as exc:
            diag = getattr(exc.__cause__, "diag", None)
            constraint = getattr(diag, "constraint_name", "") or ""
            if "no_room_overlap" in constraint:
                raise _conflict(_room_clash(appointment), "room") from exc
            if "no_provider_overlap" in constraint:
                raise _conflict(_provider_clash(appointment), "provider") from exc
            raise


# --- Booking -------------------------------------------------------------------------


@transaction.atomic
def appointment_book(
    *,
    patient: Patient,
    provider: Provider,
    appointment_type: AppointmentType,
    start: datetime,
    actor: Actor,
    location: Location | None = None,
    room: Room | None = None,
    reason: str = "",
    notes: str = "",
    source: str = Appointment.Source.STAFF,
    overbook: bool = False,
    overbook_reason: str = "",
    at: datetime | None = None,
) -> Appointment:
    """Book a visit, or refuse with a clear reason (400 for a rule, 409 for a conflict).

    `at` is when the booking is made: the past and the clinic's minimum notice
    are counted from it.
    """
    require(actor, Perm.CHANGE_SCHEDULE)
    at = at or timezone.now()
    if patient.status != Patient.Status.ACTIVE:
        raise ValidationError({"patient": ["This patient is archived."]})
    if not appointment_type.is_active:
        raise ValidationError(
            {"appointment_type": ["This appointment type is retired."]}
        )
    end, busy_until, location = _check_slot(
        provider=provider,
        appointment_type=appointment_type,
        start=start,
        location=location,
        at=at,
    )
    if room is not None and room.location_id != location.pk:
        raise ValidationError({"room": [f"{room} is not at {location}."]})
    if overbook:
        require_overbook(actor)
        if overbook_reason not in Appointment.OverbookReason.values:
            raise ValidationError(
                {"overbook_reason": ["Choose why this visit is overbooked."]}
            )
    appointment = Appointment(
        patient=patient,
        provider=provider,
        appointment_type=appointment_type,
        location=location,
        room=room,
        start=start,
        end=end,
        busy_until=busy_until,
        reason=reason,
        notes=notes,
        source=source,
        is_overbooked=overbook,
        overbook_reason=overbook_reason if overbook else "",
        booked_by=actor_user(actor),
    )
    _check_conflicts(appointment)
    _save_checked(appointment)
    note = (
        f"Overbooked: {appointment.get_overbook_reason_display()}" if overbook else ""
    )
    AppointmentEvent.objects.create(
        appointment=appointment,
        kind=Kind.BOOKED,
        to_status=appointment.status,
        by=actor_user(actor),
        note=(note or actor_note(actor, Kind.BOOKED.label))[:300],
        at=at,
    )
    reminders_on_booked(appointment=appointment)
    publish_appointment_change(appointment, "booked")
    return appointment


@transaction.atomic
def appointment_reschedule(
    *,
    appointment: Appointment,
    start: datetime,
    actor: Actor,
    provider: Provider | None = None,
    at: datetime | None = None,
) -> Appointment:
    """Move a visit to another time (and provider); the old slot stays in its history.

    The slot the visit already holds is no move: it comes back unchanged, with no
    history entry, no live update and its status (a confirmation) kept.
    """
    require(actor, Perm.CHANGE_SCHEDULE)
    at = at or timezone.now()
    appointment = (
        Appointment.objects.select_for_update()
        .select_related("appointment_type")
        .get(pk=appointment.pk)
    )
    if appointment.status not in RESCHEDULABLE:
        raise ApplicationError(
            f"A {appointment.get_status_display().lower()} appointment cannot be"
            " rescheduled.",
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
    same_provider = provider.pk == appointment.provider_id
    keep_location = appointment.location if same_provider else None
    end, busy_until, location = _check_slot(
        provider=provider,
        appointment_type=appointment.appointment_type,
        start=start,
        location=None,
        at=at,
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
        update_fields=[
            "start",
            "end",
            "busy_until",
            "provider",
            "location",
            "room",
            "status",
            "updated_at",
        ],
    )
    AppointmentEvent.objects.create(
        appointment=appointment,
        kind=Kind.RESCHEDULED,
        to_status=appointment.status,
        by=actor_user(actor),
        note=actor_note(actor, Kind.RESCHEDULED.label)[:300],
        at=at,
        old_start=old[0],
        old_end=old[1],
        old_provider=old[2],
    )
    reminders_on_rescheduled(appointment=appointment)
    publish_appointment_change(appointment, "rescheduled")
    return appointment
