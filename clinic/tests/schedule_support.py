"""Helpers for the schedule page tests: a small schedule, bookings, pages read back."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from clinic.models import Appointment, AuditEntry
from clinic.services import appointment_book
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    member,
    weekday_hours,
)
from clinic.tests.page_support import within

NY = ZoneInfo("America/New_York")
HX = {"HTTP_HX_REQUEST": "true"}


def today() -> date:
    return datetime.now(NY).date()


def tomorrow() -> date:
    return today() + timedelta(days=1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NY)


# The `sched` fixture is imported by the modules that use it; its function is named
# apart from it, so a test's argument does not shadow the import.


@pytest.fixture(name="sched")
def sched_fixture(clinic, staff_user):
    """Two providers working 9-17 every day, a visit type both offer, two patients."""
    with within(clinic):
        location = LocationFactory()
        able = ProviderFactory(name="Dr. Ada Able", specialty="Family medicine")
        baker = ProviderFactory(name="Dr. Ben Baker", specialty="Cardiology")
        for provider in (able, baker):
            weekday_hours(provider, location)
        visit = AppointmentTypeFactory(
            name="Check-up",
            duration_minutes=30,
            colour="#0ea5e9",
            offered_by=[able, baker],
        )
        grace = PatientFactory(first_name="Grace", last_name="Hopper")
        alan = PatientFactory(first_name="Alan", last_name="Turing")
    return SimpleNamespace(
        clinic=clinic,
        location=location,
        able=able,
        baker=baker,
        visit=visit,
        grace=grace,
        alan=alan,
        user=staff_user,
    )


def book(
    s, start: datetime, *, patient=None, provider=None, now=None, **extra
) -> Appointment:
    with within(s.clinic):
        return appointment_book(
            patient=patient or s.grace,
            provider=provider or s.able,
            appointment_type=s.visit,
            start=start,
            actor=member(s.user),
            at=now,
            **extra,
        )


def book_today(s, *, patient=None, provider=None) -> Appointment:
    """A visit from midnight today (clinic clock): begun, whenever the test runs."""
    with within(s.clinic):
        early = ProviderFactory(name="Dr. Early Bird") if provider is None else provider
        weekday_hours(early, s.location, start=time(0), end=time(23, 45))
        s.visit.providers.add(early)
    start = at(today(), 0, 0)
    return book(
        s, start, patient=patient, provider=early, now=start - timedelta(hours=1)
    )


def refreshed(s, appointment: Appointment) -> Appointment:
    with within(s.clinic):
        return Appointment.objects.get(pk=appointment.pk)


def html_of(response) -> str:
    return response.content.decode()


def access_entries(s) -> list[AuditEntry]:
    """The access entries the staff user's requests wrote, oldest first."""
    with within(s.clinic):
        return list(
            AuditEntry.objects.filter(
                actor=s.user, action=AuditEntry.Action.ACCESS
            ).order_by("id")
        )
