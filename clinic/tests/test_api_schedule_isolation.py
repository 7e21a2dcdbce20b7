"""Partner API for the schedule: no token, or another clinic's token, gets nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import schema_context, tenant_context
from rest_framework.test import APIClient

from clinic.models import Appointment, AppointmentType
from clinic.services import appointment_book
from clinic.tests.api_support import (
    APPOINTMENTS,
    PROVIDERS,
    SLOTS,
    TYPES,
    at,
    counts,
    day,
    payload,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
)
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    member,
    weekday_hours,
)


def test_without_a_token_the_schedule_is_refused(clinic, sched):
    anonymous = APIClient(HTTP_HOST=f"{clinic.slug}.localhost")
    for url in (PROVIDERS, TYPES, APPOINTMENTS, SLOTS):
        assert anonymous.get(url).status_code == 401


@pytest.fixture
def beta_schedule(other_clinic, other_staff_user):
    with tenant_context(other_clinic):
        location = LocationFactory()
        provider = ProviderFactory(name="Dr. Beta")
        weekday_hours(provider, location)
        visit = AppointmentTypeFactory(name="Cleaning", offered_by=[provider])
        appointment = appointment_book(
            patient=PatientFactory(),
            provider=provider,
            appointment_type=visit,
            start=at(10),
            actor=member(other_staff_user),
        )
    return SimpleNamespace(provider=provider, visit=visit, appointment=appointment)


def test_an_alpha_token_never_reads_beta_schedules(
    api, beta_api, clinic, beta_schedule
):
    theirs = beta_schedule
    with tenant_context(clinic):
        assert not Appointment.objects.exists()
        assert not AppointmentType.objects.exists()
    on_their_host = APIClient(HTTP_HOST="beta.localhost", **api._credentials)
    slots = {"start": day(1), "end": day(1), "appointment_type": theirs.visit.pk}
    for url in (
        APPOINTMENTS,
        f"{APPOINTMENTS}{theirs.appointment.pk}/",
        PROVIDERS,
        f"{PROVIDERS}{theirs.provider.pk}/",
        SLOTS,
    ):
        assert on_their_host.get(url, slots).status_code == 401

    assert api.get(f"{APPOINTMENTS}{theirs.appointment.pk}/").status_code == 404
    assert api.get(APPOINTMENTS).json()["results"] == []
    assert api.get(f"{PROVIDERS}{theirs.provider.pk}/").status_code == 404
    assert api.get(PROVIDERS).json()["results"] == []
    assert api.get(f"{PROVIDERS}{theirs.provider.pk}/slots/", slots).status_code == 404
    unknown_type = api.get(SLOTS, slots)
    assert unknown_type.status_code == 400 and "appointment_type" in unknown_type.json()

    # Beta's own token still reads them, on beta's host only.
    assert beta_api.get(f"{APPOINTMENTS}{theirs.appointment.pk}/").status_code == 200
    assert len(beta_api.get(SLOTS, slots).json()["slots"]) == 31 - 3


def test_an_alpha_token_never_changes_a_beta_appointment(
    api, other_clinic, beta_schedule
):
    theirs = beta_schedule.appointment
    on_their_host = APIClient(HTTP_HOST="beta.localhost", **api._credentials)
    for name, data in (
        ("confirm", {}),
        ("cancel", {"reason": "x"}),
        ("reschedule", {"start": at(14).isoformat()}),
    ):
        url = f"{APPOINTMENTS}{theirs.pk}/{name}/"
        assert on_their_host.post(url, data, format="json").status_code == 401
        assert api.post(url, data, format="json").status_code == 404
    with tenant_context(other_clinic):
        theirs.refresh_from_db()
        assert theirs.status == "scheduled" and theirs.start == at(10)
        assert theirs.events.count() == 1


def test_a_beta_token_cannot_book_on_alpha(beta_api, sched):
    client = APIClient(HTTP_HOST="alpha.localhost", **beta_api._credentials)

    response = client.post(APPOINTMENTS, payload(sched, at(10)), format="json")

    assert response.status_code == 401
    assert counts(sched.clinic) == (0, 0)
    slots = {"start": day(1), "end": day(1), "appointment_type": sched.visit.pk}
    assert client.get(SLOTS, slots).status_code == 401


def test_a_billing_token_reads_the_schedule_but_cannot_book(clinic):
    from portal.services import membership_grant, user_create

    billing = user_create(email="ledger@alpha.test", password="a-long-test-password-1")
    membership_grant(user=billing, clinic=clinic, role="billing")
    client = APIClient(HTTP_HOST="alpha.localhost")
    token = client.post(
        "/api/v1/auth/token/",
        {"email": billing.email, "password": "a-long-test-password-1"},
        format="json",
    ).json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/appointments/").status_code == 200
    with schema_context(clinic.schema_name):
        location = LocationFactory()
        provider = ProviderFactory()
        weekday_hours(provider, location)
        visit = AppointmentTypeFactory(offered_by=[provider])
        patient = PatientFactory()
    start = (datetime.now(ZoneInfo("America/New_York")) + timedelta(days=2)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    response = client.post(
        "/api/v1/appointments/",
        {
            "patient": patient.pk,
            "provider": provider.pk,
            "appointment_type": visit.pk,
            "start": start.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 403
    with schema_context(clinic.schema_name):
        assert not Appointment.objects.filter(provider=provider).exists()
