"""Twenty clients race for one slot over separate connections: exactly one wins.

The data must be committed for the other connections to see it, so this test
commits in alpha's schema and removes what it wrote at the end.
"""

import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django_tenants.utils import schema_context

from clinic.models import (
    Appointment,
    AppointmentEvent,
    AuditEntry,
    AvailabilityBlock,
    Location,
)
from clinic.services import appointment_book
from clinic.tests.factories import (
    AppointmentTypeFactory,
    PatientFactory,
    ProviderFactory,
    member,
    weekday_hours,
)
from portal.errors import ApplicationError
from portal.models import Clinic, User

CLIENTS = 20


@pytest.fixture
def committed_schedule(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        clinic = Clinic.objects.get(slug="alpha")
        with schema_context(clinic.schema_name):
            connection.set_tenant(clinic)
            location = Location.objects.create(name="Race track clinic")
            provider = ProviderFactory()
            weekday_hours(provider, location)
            visit = AppointmentTypeFactory(offered_by=[provider])
            patients = [PatientFactory() for _ in range(CLIENTS)]
            yield clinic, provider, visit, patients
            connection.set_tenant(clinic)
            appointments = Appointment.objects.filter(provider=provider)
            AuditEntry.objects.all().delete()
            AppointmentEvent.objects.filter(appointment__in=appointments).delete()
            appointments.delete()
            AvailabilityBlock.objects.filter(provider=provider).delete()
            visit.delete()
            provider.delete()
            location.delete()
            for p in patients:
                p.delete()
        connection.set_schema_to_public()


def test_twenty_concurrent_bookings_of_one_slot_give_one_appointment(
    committed_schedule,
):
    clinic, provider, visit, patients = committed_schedule
    user = User.objects.get(email="desk@alpha.test")
    start = datetime.combine(
        datetime.now(ZoneInfo(clinic.timezone)).date() + timedelta(days=2),
        time(11),
        tzinfo=ZoneInfo(clinic.timezone),
    )
    barrier = threading.Barrier(CLIENTS)
    outcomes: list[object] = [None] * CLIENTS

    def client(n: int) -> None:
        try:
            connection.set_tenant(clinic)
            barrier.wait(timeout=30)
            outcomes[n] = appointment_book(
                patient=patients[n],
                provider=provider,
                appointment_type=visit,
                start=start,
                actor=member(user),
            )
        except ApplicationError as exc:
            outcomes[n] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    booked = [o for o in outcomes if isinstance(o, Appointment)]
    refused = [o for o in outcomes if isinstance(o, ApplicationError)]
    assert len(booked) == 1
    assert len(refused) == CLIENTS - 1
    assert all(e.status == 409 and e.extra["conflicts"] for e in refused)
    connection.set_tenant(clinic)
    assert Appointment.objects.filter(provider=provider, start=start).count() == 1
