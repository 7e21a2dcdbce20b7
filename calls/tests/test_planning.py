"""Booking, moving and cancelling plan, move and drop a visit's reminders in the same transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from calls.models import Message, Reminder
from calls.policy import QuietHours, wall_clock
from calls.tests.support import NY, at, book, days_ahead, policy
from clinic.services import (
    appointment_cancel,
    appointment_confirm,
    appointment_reschedule,
)
from clinic.tests.factories import member

DAY = 24 * 60


def rows(appointment, **filters) -> list[Reminder]:
    return list(
        Reminder.objects.filter(appointment=appointment, **filters).order_by(
            "-offset_minutes", "kind"
        )
    )


def test_a_booking_plans_a_confirmation_after_the_grace_period_and_the_default_steps(
    sched,
):
    policy(quiet_hours=False)  # the confirmation's time depends on when the test runs
    before = timezone.now()
    visit = book(sched, at(days_ahead(6), 10))
    confirmation, three_days, one_day = (
        Reminder.objects.get(appointment=visit, kind="booking_confirmation"),
        Reminder.objects.get(appointment=visit, offset_minutes=3 * DAY),
        Reminder.objects.get(appointment=visit, offset_minutes=DAY),
    )
    assert (
        before + timedelta(minutes=3)
        <= confirmation.due_at
        <= timezone.now() + timedelta(minutes=3)
    )
    assert three_days.due_at == visit.start - timedelta(days=3)
    assert one_day.due_at == visit.start - timedelta(days=1)
    assert {r.status for r in rows(visit)} == {"planned"}
    assert {r.visit_start for r in rows(visit)} == {visit.start}


def test_a_step_whose_time_has_passed_is_skipped_with_its_reason(sched):
    visit = book(sched, at(days_ahead(2), 14))
    (three_days,) = rows(visit, offset_minutes=3 * DAY)
    assert (three_days.status, three_days.reason) == ("skipped", "too_late")
    assert rows(visit, offset_minutes=DAY)[0].status == "planned"


def test_a_step_due_in_quiet_hours_moves_to_the_morning(sched):
    visit = book(
        sched, at(days_ahead(5), 21)
    )  # 24 h before is 21:00, inside 20:00-08:00
    (one_day,) = rows(visit, offset_minutes=DAY)
    assert one_day.status == "planned"
    assert one_day.due_at == at(days_ahead(5), 8)


def test_a_step_that_quiet_hours_push_too_close_to_the_visit_is_skipped(sched):
    policy(steps=[{"offset_minutes": 180, "channel": "sms"}])
    visit = book(
        sched, at(days_ahead(5), 8, 30)
    )  # 3 h before is 5:30; 8:00 leaves 30 min
    (three_hours,) = rows(visit, offset_minutes=180)
    assert (three_hours.status, three_hours.reason) == ("skipped", "quiet_hours")


def test_a_visit_types_own_steps_replace_the_clinics(sched):
    from calls.models import ReminderTypePolicy

    ReminderTypePolicy.objects.create(
        appointment_type=sched.visit,
        steps=[{"offset_minutes": 180, "channel": "sms"}],
        booking_confirmation=False,
    )
    visit = book(sched, at(days_ahead(5), 14))
    assert [(r.kind, r.offset_minutes) for r in rows(visit)] == [("reminder", 180)]


def test_rescheduling_drops_the_old_times_reminders_and_plans_the_new_time(sched):
    visit = book(sched, at(days_ahead(6), 10))
    old_start = visit.start
    moved = appointment_reschedule(
        appointment=visit, start=at(days_ahead(8), 15), actor=member(sched.user)
    )
    old = rows(moved, visit_start=old_start)
    new = rows(moved, visit_start=moved.start)
    assert {(r.status, r.reason) for r in old} == {("cancelled", "visit_moved")}
    assert {r.status for r in new} == {"planned"}
    assert {r.offset_minutes for r in new if r.kind == "reminder"} == {3 * DAY, DAY}
    # The patient hears of the new time too.
    assert any(r.kind == "booking_confirmation" for r in new)


def test_moving_a_visit_back_plans_the_first_times_reminders_again(sched):
    visit = book(sched, at(days_ahead(6), 10))
    first = visit.start
    appointment_reschedule(
        appointment=visit, start=at(days_ahead(8), 15), actor=member(sched.user)
    )
    appointment_reschedule(appointment=visit, start=first, actor=member(sched.user))
    assert {r.status for r in rows(visit, visit_start=first, kind="reminder")} == {
        "planned"
    }
    assert {
        r.status
        for r in rows(visit, kind="reminder").__iter__()
        if r.visit_start != first
    } == {"cancelled"}


def test_cancelling_drops_planned_reminders_and_unsent_outbox_rows(sched):
    visit = book(sched, at(days_ahead(6), 10))
    reminder = rows(visit, offset_minutes=DAY)[0]
    from calls.models import Conversation

    queued = Message.objects.create(
        conversation=Conversation.objects.create(
            patient=sched.patient, number=sched.patient.phone
        ),
        patient=sched.patient,
        appointment=visit,
        reminder=reminder,
        direction="outbound",
        purpose="reminder",
        to_number=sched.patient.phone,
        from_number="+12125550100",
        body="Reminder",
        status="pending",
        next_attempt_at=timezone.now(),
    )
    Reminder.objects.filter(pk=reminder.pk).update(status="sending")
    appointment_cancel(
        appointment=visit, actor=member(sched.user), reason="Patient called"
    )
    assert {(r.status, r.reason) for r in rows(visit)} == {
        ("cancelled", "visit_cancelled")
    }
    queued.refresh_from_db()
    assert queued.status == "canceled"


def test_a_booking_rolled_back_leaves_no_reminders(sched):
    from django.db import transaction

    try:
        with transaction.atomic():
            book(sched, at(days_ahead(6), 10))
            raise RuntimeError("the caller fails after booking")
    except RuntimeError:
        pass
    assert not Reminder.objects.exists()


def test_once_confirmed_later_reminders_stop_when_the_clinic_says_so(sched):
    policy(remind_after_confirmation=False)
    visit = book(sched, at(days_ahead(6), 10))
    appointment_confirm(appointment=visit, actor=member(sched.user))
    assert {(r.status, r.reason) for r in rows(visit, kind="reminder")} == {
        ("skipped", "confirmed")
    }


# --- Quiet hours on the clinic's clock, across clock changes -------------------------


def next_clock_change(after: date) -> date:
    """The first day on or after `after` whose New York offset differs from the day before."""
    day = after
    while True:
        noon = datetime.combine(day, time(12), tzinfo=NY)
        if noon.utcoffset() != (noon - timedelta(days=1)).utcoffset():
            return day
        day += timedelta(days=1)


def test_quiet_hours_hold_on_the_wall_clock_across_a_clock_change(sched):
    change = next_clock_change(days_ahead(5))
    spring = (
        datetime.combine(change, time(12), tzinfo=NY).utcoffset()
        > datetime.combine(change - timedelta(days=1), time(12), tzinfo=NY).utcoffset()
    )
    visit = book(sched, at(change + timedelta(days=1), 8, 30))
    (three_days,) = rows(visit, offset_minutes=3 * DAY)
    due_local = three_days.due_at.astimezone(NY)
    raw_local = (visit.start.astimezone(UTC) - timedelta(days=3)).astimezone(NY)
    if spring:
        # 72 h before 8:30 (after the change) is 7:30 on the clock before it: quiet, so 8:00.
        assert raw_local.time() == time(7, 30)
        assert due_local.time() == time(8, 0)
    else:
        # 72 h before 8:30 (after the change) is 9:30 before it: allowed, unmoved.
        assert raw_local.time() == time(9, 30)
        assert three_days.due_at == visit.start.astimezone(UTC) - timedelta(days=3)
    assert not QuietHours(True, time(20), time(8)).contains(due_local.time())


def test_the_morning_of_a_clock_change_starts_at_eight_on_the_wall(sched):
    change = next_clock_change(days_ahead(5))
    policy(steps=[{"offset_minutes": 8 * 60, "channel": "sms"}], min_lead_minutes=30)
    visit = book(sched, at(change, 9, 30))  # 8 h before is in the night of the change
    (step,) = rows(visit, kind="reminder")
    local = step.due_at.astimezone(NY)
    assert (local.date(), local.time()) == (change, time(8, 0))
    assert step.due_at == wall_clock(change, time(8), NY)


def test_a_time_the_spring_change_skips_moves_past_the_gap():
    change = next_clock_change(days_ahead(1))
    while datetime.combine(change, time(12), tzinfo=NY).dst() == timedelta(0):
        change = next_clock_change(change + timedelta(days=1))
    moved = wall_clock(change, time(2, 30), NY).astimezone(NY)
    assert moved.time() == time(3, 30)
