"""The demo schedule is a believable clinic: every status, no double booking, inside hours."""

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection

from clinic.demo.data import WEEKS
from clinic.demo.schedule import seed_demo_schedule
from clinic.models import Appointment, AppointmentEvent, Provider, WaitlistEntry
from clinic.selectors.availability import window_containing, working_windows
from clinic.tests.factories import PatientFactory

NY = ZoneInfo("America/New_York")
# A Wednesday late in the morning; the six weeks around it span the clock change of 8 March.
TODAY = date(2026, 3, 4)
NOW = datetime(2026, 3, 4, 11, 5, tzinfo=NY)


def test_the_demo_schedule_has_every_status_no_double_booking_and_keeps_to_hours(
    in_clinic, staff_user, admin_user
):
    rng = random.Random(5)
    patients = [
        PatientFactory(date_of_birth=TODAY - timedelta(days=rng.randint(100, 90 * 365)))
        for _ in range(120)
    ]
    counts = seed_demo_schedule(
        today=TODAY,
        now=NOW,
        rng=random.Random(1),
        patients=patients,
        front_desk=staff_user,
        clinician=admin_user,
    )

    # Every status, and the rarer things a demo should show.
    assert set(counts) == set(Appointment.Status.values)
    assert sum(counts.values()) == Appointment.objects.count() > 500
    overbooked = Appointment.objects.filter(is_overbooked=True)
    assert overbooked.count() >= 1 and all(a.overbook_reason for a in overbooked)
    moved = AppointmentEvent.objects.filter(
        kind=AppointmentEvent.Kind.RESCHEDULED, old_start__isnull=False
    )
    assert moved.exists()
    assert not Appointment.objects.filter(
        status=Appointment.Status.CANCELLED, cancel_reason=""
    ).exists()
    assert (
        WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING).count() >= 4
    )
    assert set(Provider.objects.values_list("credentials", flat=True)) >= {
        "MD",
        "DO",
        "NP",
        "PA",
        "DDS",
    }

    # No provider is booked twice at once (active visits; overbookings are deliberate).
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM (
                SELECT start, max(busy_until) OVER (
                    PARTITION BY provider_id ORDER BY start, id
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_until
                FROM clinic_appointment
                WHERE status IN ('scheduled', 'confirmed', 'checked_in', 'completed') AND NOT is_overbooked
            ) t WHERE previous_until > start
            """
        )
        assert cursor.fetchone()[0] == 0

    # Every visit lies inside its provider's hours, unless deliberately overbooked.
    windows = working_windows(
        provider_ids=list(Provider.objects.values_list("pk", flat=True)),
        start_date=TODAY - timedelta(weeks=WEEKS),
        end_date=TODAY + timedelta(weeks=WEEKS),
    )
    appointments = list(
        Appointment.objects.select_related("appointment_type").prefetch_related(
            "events"
        )
    )
    outside = [
        a
        for a in appointments
        if not a.is_overbooked
        and window_containing(windows[a.provider_id], a.start, a.end) is None
    ]
    assert outside == []

    # Statuses follow the clock, and each visit's history leads to its status.
    Status = Appointment.Status
    for a in appointments:
        assert a.busy_until == a.end + timedelta(
            minutes=a.appointment_type.buffer_after_minutes
        )
        if a.start > NOW:
            assert a.status in (Status.SCHEDULED, Status.CONFIRMED, Status.CANCELLED)
        if a.end <= NOW - timedelta(hours=1):
            assert a.status in (Status.COMPLETED, Status.NO_SHOW, Status.CANCELLED)
        events = sorted(a.events.all(), key=lambda e: (e.at, e.pk))
        assert events[0].kind == AppointmentEvent.Kind.BOOKED, a
        assert all(e.at <= NOW for e in events), a
        moves = [e for e in events if e.kind != AppointmentEvent.Kind.BOOKED]
        assert (moves[-1].to_status if moves else events[0].to_status) == a.status, a
