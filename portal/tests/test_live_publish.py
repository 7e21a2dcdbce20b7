"""The live-update publisher: numbered after commit, and never the cause of a 500.

Publishing happens after commit, so these tests commit (in alpha's schema) and
remove what they wrote at the end.
"""

from __future__ import annotations

import copy
import logging
import socket
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

from clinic.models import Appointment, AppointmentEvent, AuditEntry, AvailabilityBlock
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    weekday_hours,
)
from portal import live
from portal.api.tokens import clinic_refresh_token
from portal.models import Clinic, User


@pytest.fixture
def committed_alpha(django_db_setup, django_db_blocker):
    """Autocommit access in alpha's schema (on_commit callbacks run for real)."""
    with django_db_blocker.unblock():
        alpha = Clinic.objects.get(slug="alpha")
        with schema_context(alpha.schema_name):
            connection.set_tenant(alpha)
            yield alpha
        connection.set_schema_to_public()


@pytest.fixture
def bookable(committed_alpha):
    """A provider, a visit type and a patient, committed; removed afterwards."""
    location = LocationFactory(name="Live publish clinic")
    provider = ProviderFactory(name="Dr. Live Publish")
    weekday_hours(provider, location)
    visit = AppointmentTypeFactory(duration_minutes=30, offered_by=[provider])
    patient = PatientFactory(first_name="Zebulon", last_name="Quarrington")
    audit_from = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    yield provider, visit, patient
    connection.set_tenant(committed_alpha)
    appointments = Appointment.objects.filter(provider=provider)
    AppointmentEvent.objects.filter(appointment__in=appointments).delete()
    appointments.delete()
    AvailabilityBlock.objects.filter(provider=provider).delete()
    visit.delete()
    provider.delete()
    location.delete()
    patient.delete()
    AuditEntry.objects.filter(id__gt=audit_from or 0).delete()


@pytest.fixture
def redis_down(settings):
    """The channel layer and the publisher point at a port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["hosts"] = [f"redis://127.0.0.1:{port}/0"]
    settings.CHANNEL_LAYERS = layers
    settings.LIVE_REDIS_TIMEOUT_SECONDS = 0.5
    return port


def _start(alpha: Clinic) -> datetime:
    zone = ZoneInfo(alpha.timezone)
    day = datetime.now(zone).date() + timedelta(days=3)
    return datetime.combine(day, time(10), tzinfo=zone)


def _partner(alpha: Clinic) -> APIClient:
    user = User.objects.get(email="desk@alpha.test")
    access = clinic_refresh_token(user=user, schema_name=alpha.schema_name).access_token
    client = APIClient(HTTP_HOST="alpha.localhost")
    client.raise_request_exception = False  # a server error is an answer here
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_a_booking_committed_with_redis_down_answers_201_and_the_failure_is_counted(
    committed_alpha, bookable, redis_down, caplog
):
    provider, visit, patient = bookable
    body = {
        "patient": patient.pk,
        "provider": provider.pk,
        "appointment_type": visit.pk,
        "start": _start(committed_alpha).isoformat(),
    }
    failed_before = live.stats["failed"]
    partner = _partner(committed_alpha)

    with caplog.at_level(logging.WARNING, logger="portal.live"):
        first = partner.post("/api/v1/appointments/", body, format="json")
    connection.set_tenant(committed_alpha)

    assert first.status_code == 201, first.content[:300]
    booked = Appointment.objects.get(provider=provider)
    assert first.json()["id"] == booked.pk
    assert live.stats["failed"] == failed_before + 1
    logged = caplog.text
    assert "appointment" in logged and "not published" in logged
    assert "Zebulon" not in logged and "Quarrington" not in logged


def test_a_failed_publish_leaves_the_committed_write_and_the_next_event_is_numbered(
    committed_alpha, redis_down, settings
):
    failed_before = live.stats["failed"]
    with transaction.atomic():
        live.publish("ping", {"n": 1})
    assert live.stats["failed"] == failed_before + 1

    settings.CHANNEL_LAYERS = copy.deepcopy(settings.CHANNEL_LAYERS)
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [settings.REDIS_URL]
    before = live.last_seq("c_alpha")
    with transaction.atomic():
        live.publish("ping", {"n": 2})
    assert live.last_seq("c_alpha") == before + 1


def test_sequence_numbers_increase_by_one_per_event_in_commit_order(committed_alpha):
    before = live.last_seq("c_alpha")
    for n in range(5):
        with transaction.atomic():
            live.publish("ping", {"n": n})

    events = live.events_after("c_alpha", before)

    assert [e["seq"] for e in events] == [before + 1 + n for n in range(5)]
    assert [e["n"] for e in events] == list(range(5))
    assert all(e["kind"] == "ping" for e in events)


def test_an_event_names_its_clinic_explicitly_when_asked(committed_alpha):
    alpha_before = live.last_seq("c_alpha")
    beta_before = live.last_seq("c_beta")
    with transaction.atomic():
        live.publish("ping", {"n": 1}, schema_name="c_beta")
    assert live.last_seq("c_alpha") == alpha_before
    assert live.events_after("c_beta", beta_before) == [
        {"kind": "ping", "n": 1, "seq": beta_before + 1}
    ]


def test_a_rolled_back_write_publishes_and_numbers_nothing(committed_alpha):
    before = live.last_seq("c_alpha")
    with pytest.raises(RuntimeError), transaction.atomic():
        live.publish("ping", {"n": 1})
        raise RuntimeError
    assert live.last_seq("c_alpha") == before


def test_the_buffer_keeps_the_latest_events_and_says_when_it_no_longer_reaches_back(
    committed_alpha, settings
):
    settings.LIVE_BUFFER_EVENTS = 3
    before = live.last_seq("c_alpha")
    for n in range(5):
        with transaction.atomic():
            live.publish("ping", {"n": n})

    assert live.events_after("c_alpha", before) is None  # two were trimmed
    assert [e["n"] for e in live.events_after("c_alpha", before + 2)] == [2, 3, 4]
    assert live.events_after("c_alpha", before + 5) == []
    assert live.events_after("c_alpha", before + 99) is None  # ahead of the clinic
