"""Helpers for the partner API tests: token clients, patients, a small schedule."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from clinic.actors import SYSTEM
from clinic.models import Appointment, AppointmentEvent, AuditEntry, Patient
from clinic.services import appointment_book, patient_create, workflow_create
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    RoomFactory,
    member,
    weekday_hours,
)
from portal.api.tokens import clinic_refresh_token


def client_for(user, clinic) -> APIClient:
    client = APIClient(HTTP_HOST=f"{clinic.slug}.localhost")
    access = clinic_refresh_token(
        user=user, schema_name=clinic.schema_name
    ).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


# The fixtures here are imported by the modules that use them; their functions are
# named apart from the fixtures, so a test's argument does not shadow the import.


# --- Patients -------------------------------------------------------------------------

PATIENTS = "/api/v1/patients/"
SHAPE = {
    "id",
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address",
    "preferred_language",
    "sms_consent",
    "voice_consent",
    "status",
    "workflow",
    "fields",
    "created_at",
    "updated_at",
}


def make_patient(clinic, **data) -> Patient:
    data.setdefault("first_name", "Ada")
    data.setdefault("last_name", "Lovelace")
    data.setdefault("date_of_birth", date(1990, 12, 10))
    with tenant_context(clinic):
        return patient_create(actor=SYSTEM, **data)


def row(n: int, **extra) -> dict:
    return {
        "first_name": f"Row{n}",
        "last_name": "Bulk",
        "date_of_birth": "1980-01-01",
        "phone": f"+1415555{n % 10000:04d}",
        **extra,
    }


def count_patients(clinic) -> int:
    with tenant_context(clinic):
        return Patient.objects.count()


def audit_entries(clinic, **filters) -> list[AuditEntry]:
    with tenant_context(clinic):
        return list(AuditEntry.objects.filter(**filters).order_by("id"))


@pytest.fixture(name="intake")
def intake_fixture(in_clinic):
    """A workflow with a required field of its own."""
    return workflow_create(
        name="New patient intake",
        fields=[
            {"name": "referral", "type": "text", "required": True},
            {"name": "visits", "type": "integer"},
        ],
        actor=SYSTEM,
    )


# --- Schedule -------------------------------------------------------------------------

NY = ZoneInfo("America/New_York")
PROVIDERS = "/api/v1/providers/"
TYPES = "/api/v1/appointment-types/"
SLOTS = "/api/v1/slots/"
APPOINTMENTS = "/api/v1/appointments/"
APPOINTMENT_SHAPE = {
    "id",
    "patient",
    "provider",
    "appointment_type",
    "location",
    "room",
    "start",
    "end",
    "status",
    "source",
    "reason",
    "notes",
    "is_overbooked",
    "overbook_reason",
    "cancel_reason",
    "cancelled_at",
    "created_at",
    "updated_at",
}


def day(offset: int = 1) -> date:
    """A clinic date `offset` days from today (tomorrow by default)."""
    return timezone.localdate(timezone=NY) + timedelta(days=offset)


def at(hour: int, minute: int = 0, offset: int = 1) -> datetime:
    return datetime.combine(day(offset), time(hour, minute), tzinfo=NY)


@pytest.fixture(name="sched")
def sched_fixture(in_clinic, staff_user):
    """Two providers working 9-17 daily at one place; a 30-minute visit both offer."""
    location = LocationFactory()
    doc = ProviderFactory(name="Dr. Ann Able")
    nurse = ProviderFactory(name="Dr. Ben Baker", credentials="NP")
    for p in (doc, nurse):
        weekday_hours(p, location)
    visit = AppointmentTypeFactory(name="Follow-up", offered_by=[doc, nurse])
    return SimpleNamespace(
        location=location,
        doc=doc,
        nurse=nurse,
        visit=visit,
        clinic=in_clinic,
        patient=PatientFactory(),
        user=staff_user,
        room=RoomFactory(location=location),
    )


def book(sched, start: datetime, **extra) -> Appointment:
    args = {
        "patient": sched.patient,
        "provider": sched.doc,
        "appointment_type": sched.visit,
        "start": start,
    }
    if "now" in extra:
        extra["at"] = extra.pop("now")
    with tenant_context(sched.clinic):
        return appointment_book(**{**args, **extra}, actor=member(sched.user))


def payload(sched, start: datetime, **extra) -> dict:
    return {
        "patient": sched.patient.pk,
        "provider": sched.doc.pk,
        "appointment_type": sched.visit.pk,
        "start": start.isoformat(),
        **extra,
    }


def counts(clinic) -> tuple[int, int]:
    with tenant_context(clinic):
        return Appointment.objects.count(), AppointmentEvent.objects.count()
