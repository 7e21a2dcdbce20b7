"""Changes that race for one row: the second waits for the first's lock and then
decides on what the first committed (no lost update, no stale rule).

The rows must be committed for the other connection to see them, so these
tests commit in alpha's schema and remove what they wrote at the end.
"""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections, transaction
from django_tenants.utils import schema_context

from clinic.actors import SYSTEM
from clinic.models import (
    Appointment,
    AppointmentEvent,
    AuditEntry,
    AvailabilityBlock,
    Location,
    WaitlistEntry,
)
from clinic.services import (
    appointment_book,
    appointment_check_in,
    appointment_reschedule,
    waitlist_add,
    waitlist_book,
    waitlist_remove,
)
from clinic.tests.factories import (
    AppointmentTypeFactory,
    PatientFactory,
    ProviderFactory,
    weekday_hours,
)
from portal.errors import ApplicationError
from portal.models import Clinic

WAIT = 30  # seconds any step may wait for the other thread before the test fails


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        clinic = Clinic.objects.get(slug="alpha")
        with schema_context(clinic.schema_name):
            connection.set_tenant(clinic)
            location = Location.objects.create(name="Lock step clinic")
            provider = ProviderFactory()
            weekday_hours(provider, location, start=time(0), end=time(23, 45))
            visit = AppointmentTypeFactory(offered_by=[provider])
            patient = PatientFactory()
            yield clinic, provider, visit, patient
            connection.set_tenant(clinic)
            appointments = Appointment.objects.filter(provider=provider)
            AuditEntry.objects.all().delete()
            AppointmentEvent.objects.filter(appointment__in=appointments).delete()
            WaitlistEntry.objects.filter(patient=patient).delete()
            appointments.delete()
            AvailabilityBlock.objects.filter(provider=provider).delete()
            visit.delete()
            provider.delete()
            location.delete()
            patient.delete()
        connection.set_schema_to_public()


def _waiting_for_a_lock(backend_pid: int) -> None:
    """Block until that connection is waiting for a row lock (not a timed sleep)."""
    with connections["default"].cursor() as cursor:
        for _ in range(WAIT * 20):
            cursor.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                [backend_pid],
            )
            row = cursor.fetchone()
            if row and row[0] == "Lock":
                return
            threading.Event().wait(0.05)
    raise AssertionError("the second change never waited for the first's lock")


def _race(clinic: Clinic, first, second) -> object:
    """Run `first` in a transaction that holds its locks until `second` waits for
    them; returns what `second` returned or raised."""
    locked, release = threading.Event(), threading.Event()
    pid: list[int] = []
    outcome: list[object] = []

    def holder() -> None:
        try:
            connection.set_tenant(clinic)
            with transaction.atomic():
                first()
                locked.set()
                release.wait(WAIT)
        finally:
            connections.close_all()

    def challenger() -> None:
        try:
            connection.set_tenant(clinic)
            connection.ensure_connection()
            pid.append(connection.connection.info.backend_pid)
            try:
                outcome.append(second())
            except ApplicationError as exc:
                outcome.append(exc)
        finally:
            connections.close_all()

    a = threading.Thread(target=holder)
    a.start()
    assert locked.wait(WAIT)
    b = threading.Thread(target=challenger)
    b.start()
    while not pid:
        threading.Event().wait(0.01)
    connection.set_tenant(clinic)
    _waiting_for_a_lock(pid[0])
    release.set()
    a.join(WAIT)
    b.join(WAIT)
    (result,) = outcome
    return result


def test_removing_an_entry_that_is_being_booked_waits_and_keeps_the_booking(committed):
    clinic, provider, visit, patient = committed
    tz = ZoneInfo(clinic.timezone)
    start = datetime.combine(
        datetime.now(tz).date() + timedelta(days=2), time(11), tzinfo=tz
    )
    entry = waitlist_add(patient=patient, appointment_type=visit, actor=SYSTEM)

    outcome = _race(
        clinic,
        lambda: waitlist_book(
            entry=entry, provider=provider, start=start, actor=SYSTEM
        ),
        lambda: waitlist_remove(entry=entry, actor=SYSTEM),
    )

    assert isinstance(outcome, ApplicationError) and outcome.status == 409
    connection.set_tenant(clinic)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.BOOKED


def test_a_check_in_waits_for_a_move_to_another_day_and_is_then_refused(committed):
    clinic, provider, visit, patient = committed
    tz = ZoneInfo(clinic.timezone)
    # A visit today at 00:15 on the clinic's clock: checkable in all day long.
    start = datetime.combine(datetime.now(tz).date(), time(0, 15), tzinfo=tz)
    appointment = appointment_book(
        patient=patient,
        provider=provider,
        appointment_type=visit,
        start=start,
        actor=SYSTEM,
        at=start - timedelta(hours=3),
    )
    later = start + timedelta(days=2)

    outcome = _race(
        clinic,
        lambda: appointment_reschedule(
            appointment=appointment, start=later, actor=SYSTEM
        ),
        lambda: appointment_check_in(appointment=appointment, actor=SYSTEM),
    )

    assert isinstance(outcome, ApplicationError) and outcome.status == 409
    assert "day of their appointment" in outcome.message
    connection.set_tenant(clinic)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.SCHEDULED
    assert appointment.start == later
