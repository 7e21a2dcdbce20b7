"""Helpers for the task, note, notification and dashboard tests.

`team` adds a clinician (the provider's own sign-in), a second clinician and a
billing member to alpha, beside its front desk and admin from the root conftest.
Visits are written straight to the table (the booking rules are not what these
tests are about), on a grid far apart so no two overlap.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from clinic.models import Appointment, AppointmentEvent
from clinic.tests.api_support import client_for
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
)
from conftest import PASSWORD
from portal.models import Membership, Role
from portal.services import membership_grant, user_create


def page_client(user, clinic) -> Client:
    client = Client(HTTP_HOST=f"{clinic.slug}.{settings.PORTAL_DOMAIN}")
    client.force_login(user)
    return client


def _member(clinic, email: str, role: str, name: str) -> Membership:
    user = user_create(email=email, password=PASSWORD, full_name=name)
    return membership_grant(user=user, clinic=clinic, role=role)


@pytest.fixture(name="team")
def team_fixture(in_clinic, staff_user, admin_user):
    clinic = in_clinic
    doc = _member(clinic, "doc@alpha.test", Role.CLINICIAN, "Dr. Ann Able")
    colleague = _member(clinic, "np@alpha.test", Role.CLINICIAN, "Ben Baker NP")
    billing = _member(clinic, "billing@alpha.test", Role.BILLING, "Bea Biller")
    desk = Membership.objects.get(user=staff_user, clinic=clinic)
    admin = Membership.objects.get(user=admin_user, clinic=clinic)
    provider = ProviderFactory(name="Dr. Ann Able", membership=doc)
    unlinked = ProviderFactory(name="Dr. Locum")
    return SimpleNamespace(
        clinic=clinic,
        doc=doc,
        colleague=colleague,
        billing=billing,
        desk=desk,
        admin=admin,
        provider=provider,
        unlinked=unlinked,
        location=LocationFactory(),
        visit_type=AppointmentTypeFactory(name="Follow-up"),
        patient=PatientFactory(first_name="Ada", last_name="Lovelace"),
    )


_slot = iter(range(10_000))


def visit(
    team,
    *,
    start: datetime | None = None,
    status: str = Appointment.Status.SCHEDULED,
    provider=None,
    patient=None,
    confirmed: bool = False,
) -> Appointment:
    """A visit straight in the table; `confirmed` adds a "confirmed" event."""
    if start is None:
        start = timezone.now() - timedelta(days=2) + timedelta(hours=next(_slot))
    appointment = Appointment.objects.create(
        patient=patient or team.patient,
        provider=provider or team.provider,
        appointment_type=team.visit_type,
        location=team.location,
        start=start,
        end=start + timedelta(minutes=30),
        busy_until=start + timedelta(minutes=30),
        status=status,
    )
    if confirmed:
        AppointmentEvent.objects.create(
            appointment=appointment, kind=AppointmentEvent.Kind.CONFIRMED, at=start
        )
    return appointment


def api_of(member: Membership):
    return client_for(member.user, member.clinic)


def pages_of(member: Membership) -> Client:
    return page_client(member.user, member.clinic)


def out_of_schema() -> None:
    """Requests leave the connection on public; tests go back to the clinic after."""
    connection.set_schema_to_public()
