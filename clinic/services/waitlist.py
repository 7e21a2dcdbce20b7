"""Writes of the waitlist: patients waiting for a slot that fits them.

The waitlist is part of the schedule: billing staff read it but do not change
it, and each service refuses their role before it looks at the entry.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction

from clinic.models import Appointment, AppointmentType, Patient, Provider, WaitlistEntry
from clinic.services.scheduling import appointment_book, require_scheduler
from portal.errors import ApplicationError
from portal.models import User


@transaction.atomic
def waitlist_add(
    *,
    patient: Patient,
    appointment_type: AppointmentType,
    provider: Provider | None = None,
    weekdays: list[int] | None = None,
    earliest_time: time | None = None,
    latest_time: time | None = None,
    earliest_date: date | None = None,
    latest_date: date | None = None,
    notes: str = "",
    by: User | None = None,
) -> WaitlistEntry:
    """Put a patient on the waitlist; `by` None is the system (the demo, fixtures)."""
    require_scheduler(user=by)
    errors: dict[str, list[str]] = {}
    weekdays = sorted(set(weekdays or []))
    if any(d not in range(7) for d in weekdays):
        errors["weekdays"] = ["Weekdays are 0 (Monday) to 6 (Sunday)."]
    if earliest_time and latest_time and latest_time <= earliest_time:
        errors["latest_time"] = ["The latest time must be after the earliest time."]
    if earliest_date and latest_date and latest_date < earliest_date:
        errors["latest_date"] = ["The latest date cannot be before the earliest date."]
    if provider and not appointment_type.providers.filter(pk=provider.pk).exists():
        errors["provider"] = [f"{provider} does not offer {appointment_type}."]
    if patient.status != Patient.Status.ACTIVE:
        errors["patient"] = ["This patient is archived."]
    if errors:
        raise ValidationError(errors)
    entry = WaitlistEntry(
        patient=patient, appointment_type=appointment_type, provider=provider, weekdays=weekdays,
        earliest_time=earliest_time, latest_time=latest_time, earliest_date=earliest_date,
        latest_date=latest_date, notes=notes,
    )
    entry.save()
    return entry


@transaction.atomic
def waitlist_remove(*, entry: WaitlistEntry, by: User | None = None) -> WaitlistEntry:
    """Take a waiting patient off the waitlist; `by` None is the system."""
    require_scheduler(user=by)
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status != WaitlistEntry.Status.WAITING:
        raise ApplicationError("This waitlist entry is no longer waiting.", status=409)
    entry.status = WaitlistEntry.Status.REMOVED
    entry.save(update_fields=["status"])
    return entry


@transaction.atomic
def waitlist_book(
    *, entry: WaitlistEntry, provider: Provider, start: datetime, booked_by: User | None
) -> Appointment:
    """Book the waiting patient into a slot and close their entry."""
    require_scheduler(user=booked_by)
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status != WaitlistEntry.Status.WAITING:
        raise ApplicationError("This waitlist entry is no longer waiting.", status=409)
    appointment = appointment_book(
        patient=entry.patient, provider=provider, appointment_type=entry.appointment_type,
        start=start, booked_by=booked_by, reason=entry.notes,
    )
    entry.status = WaitlistEntry.Status.BOOKED
    entry.save(update_fields=["status"])
    return appointment
