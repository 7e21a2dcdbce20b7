"""Writes of the waitlist: patients waiting for a slot that fits them.

The waitlist is part of the schedule: billing staff read it but do not change
it, and each service refuses their role before it looks at the entry. Every
change is made on the locked entry, so a removal can never overwrite the
booking another request made of it a moment before (or the other way round).
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction

from clinic.actors import Actor
from clinic.models import Appointment, AppointmentType, Patient, Provider, WaitlistEntry
from clinic.permissions import Perm, require
from clinic.services.scheduling import appointment_book
from portal.errors import ApplicationError

NOT_WAITING = "This waitlist entry is no longer waiting."


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
    actor: Actor,
) -> WaitlistEntry:
    """Put a patient on the waitlist."""
    require(actor, Perm.MANAGE_WAITLIST)
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
        patient=patient,
        appointment_type=appointment_type,
        provider=provider,
        weekdays=weekdays,
        earliest_time=earliest_time,
        latest_time=latest_time,
        earliest_date=earliest_date,
        latest_date=latest_date,
        notes=notes,
    )
    entry.save()
    return entry


@transaction.atomic
def waitlist_remove(*, entry: WaitlistEntry, actor: Actor) -> WaitlistEntry:
    """Take a waiting patient off the waitlist (its status read on the locked row)."""
    require(actor, Perm.MANAGE_WAITLIST)
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status != WaitlistEntry.Status.WAITING:
        raise ApplicationError(NOT_WAITING, status=409)
    entry.status = WaitlistEntry.Status.REMOVED
    entry.save(update_fields=["status"])
    return entry


@transaction.atomic
def waitlist_book(
    *,
    entry: WaitlistEntry,
    provider: Provider,
    start: datetime,
    actor: Actor,
    at: datetime | None = None,
) -> Appointment:
    """Book the waiting patient into a slot and close their entry."""
    require(actor, Perm.MANAGE_WAITLIST)
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status != WaitlistEntry.Status.WAITING:
        raise ApplicationError(NOT_WAITING, status=409)
    appointment = appointment_book(
        patient=entry.patient,
        provider=provider,
        appointment_type=entry.appointment_type,
        start=start,
        actor=actor,
        reason=entry.notes,
        at=at,
    )
    entry.status = WaitlistEntry.Status.BOOKED
    entry.save(update_fields=["status"])
    return appointment
