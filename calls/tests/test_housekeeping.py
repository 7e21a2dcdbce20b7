"""Beat's housekeeping: no-shows after the grace period, unconfirmed visits cancelled when asked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Message, Reminder
from calls.services.housekeeping import housekeeping_run
from calls.tests.support import NY, at, book, days_ahead, policy
from clinic.models import Appointment
from clinic.services import appointment_check_in, appointment_confirm
from clinic.tests.factories import member


def on_grid(moment):
    return moment.replace(
        minute=moment.minute - moment.minute % 15, second=0, microsecond=0
    )


def clear_of_midnight(start):
    """The grid time at or after start whose 30-minute visit ends the same clinic day.

    The provider works 0:00-23:45 every day and no visit spans midnight, so a
    time computed from the wall clock is moved to the next midnight when it
    would (at most 45 minutes later).
    """
    local = start.astimezone(NY)
    if local.hour == 23 and local.minute > 15:
        return at(local.date() + timedelta(days=1), 0)
    return start


def test_visits_past_their_end_and_the_grace_become_no_shows_unless_checked_in(sched):
    # Mid-afternoon yesterday on the clinic's clock: every visit below is in the
    # past and inside the provider's day, whatever time the suite runs.
    now = at(days_ahead(-1), 15, 7)
    start = on_grid(now - timedelta(hours=3))
    earlier = start - timedelta(hours=2)
    missed = book(sched, start, now=start - timedelta(days=1))
    confirmed = book(sched, earlier, now=earlier - timedelta(days=1))
    appointment_confirm(appointment=confirmed, actor=member(sched.user))
    arrived = book(sched, start - timedelta(hours=1), now=start - timedelta(days=1))
    Appointment.objects.filter(pk=arrived.pk).update(status="checked_in")
    recent = book(
        sched, on_grid(now - timedelta(minutes=45)), now=now - timedelta(days=1)
    )
    done = housekeeping_run(now=now)
    assert done["no_shows"] == 2
    statuses = dict(Appointment.objects.values_list("pk", "status"))
    assert statuses[missed.pk] == statuses[confirmed.pk] == "no_show"
    assert statuses[arrived.pk] == "checked_in"
    assert statuses[recent.pk] == "scheduled"  # ended less than an hour ago
    event = Appointment.objects.get(pk=missed.pk).events.get(kind="no_show")
    assert event.by is None
    from clinic.models import AuditEntry

    entry = AuditEntry.objects.filter(
        object_id=missed.pk, content_type__model="appointment"
    ).latest("id")
    assert entry.actor_email == "System: housekeeping"


@pytest.fixture
def asked(sim, sched):
    """A visit in three hours whose confirmation request went out."""
    policy(
        quiet_hours=False,
        booking_confirmation=False,
        steps=[{"offset_minutes": 600, "channel": "sms"}],
    )
    start = clear_of_midnight(on_grid(timezone.now() + timedelta(hours=3, minutes=15)))
    visit = book(sched, start, now=start - timedelta(days=1))
    Reminder.objects.filter(appointment=visit).update(
        status="planned", reason="", due_at=timezone.now()
    )
    from calls.services.dispatch import dispatch_run

    dispatch_run(budget_seconds=5)
    assert Reminder.objects.get(appointment=visit).status == "sent"
    return visit


def test_unconfirmed_visits_are_left_alone_by_default(asked):
    assert housekeeping_run()["auto_cancelled"] == 0
    asked.refresh_from_db()
    assert asked.status == "scheduled"


def test_when_the_clinic_asks_unconfirmed_visits_are_cancelled_with_a_text(
    asked, sched
):
    policy(auto_cancel_unconfirmed=True, auto_cancel_hours_before=4)
    other = book(
        sched,
        clear_of_midnight(asked.start + timedelta(minutes=45)),
        patient=__import__("calls.tests.support", fromlist=["x"]).texting_patient(
            phone="+16175550500"
        ),
    )
    appointment_confirm(appointment=other, actor=member(sched.user))
    assert housekeeping_run()["auto_cancelled"] == 1
    asked.refresh_from_db()
    other.refresh_from_db()
    assert (asked.status, other.status) == ("cancelled", "confirmed")
    assert asked.cancel_reason == "Not confirmed 4 hours before the visit (automatic)"
    (notice,) = Message.objects.filter(purpose="auto_cancel")
    assert notice.to_number == sched.patient.phone
    assert "was cancelled because it was not confirmed" in notice.body


def test_a_visit_checked_in_is_never_auto_cancelled(asked, sched):
    policy(auto_cancel_unconfirmed=True, auto_cancel_hours_before=4)
    Appointment.objects.filter(pk=asked.pk).update(status="checked_in")
    assert housekeeping_run()["auto_cancelled"] == 0
    assert appointment_check_in  # the service the front desk uses; untouched here
