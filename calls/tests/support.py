"""Helpers of the texting tests: a small schedule, patients who take texts, reading back."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from calls.models import Message, ReminderPolicy
from clinic.models import Appointment, Patient
from clinic.services import appointment_book
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    member,
    weekday_hours,
)

NY = ZoneInfo("America/New_York")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NY)


def days_ahead(n: int) -> date:
    return timezone.localdate(timezone=NY) + timedelta(days=n)


def texting_patient(**extra) -> Patient:
    extra.setdefault("sms_consent", True)
    return PatientFactory(**extra)


def policy(**changes) -> ReminderPolicy:
    """Save the clinic's policy with these settings (the rest are the defaults)."""
    row = ReminderPolicy.objects.first() or ReminderPolicy()
    for name, value in changes.items():
        setattr(row, name, value)
    row.save()
    return row


@pytest.fixture(name="sched")
def sched_fixture(in_clinic, staff_user):
    """A provider working around the clock every day, a 30-minute visit, a patient who texts."""
    location = LocationFactory(name="Main office")
    doc = ProviderFactory(name="Dr. Ada Able")
    weekday_hours(doc, location, start=time(0), end=time(23, 45))
    visit = AppointmentTypeFactory(
        name="Check-up", duration_minutes=30, offered_by=[doc]
    )
    return SimpleNamespace(
        clinic=in_clinic,
        location=location,
        doc=doc,
        visit=visit,
        user=staff_user,
        patient=texting_patient(
            first_name="Grace", last_name="Hopper", phone="+16175550101"
        ),
    )


def book(s, start: datetime, *, patient=None, now=None, **extra) -> Appointment:
    return appointment_book(
        patient=patient or s.patient,
        provider=s.doc,
        appointment_type=s.visit,
        start=start,
        actor=member(s.user),
        at=now,
        **extra,
    )


def outbound(**filters) -> list[Message]:
    return list(
        Message.objects.filter(
            direction=Message.Direction.OUTBOUND, **filters
        ).order_by("id")
    )
