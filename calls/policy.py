"""The reminder policy as arithmetic: steps, quiet hours and caps, on the clinic's clock.

Pure functions over a policy and instants: planning a visit's reminders,
moving a time out of quiet hours, deciding whether a reminder may go now.
Quiet hours are wall-clock times in the clinic's timezone; each instant is
read at its own UTC offset, so a clock change between a reminder and its
visit never shifts a text into the night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection

from calls.models import Reminder, ReminderPolicy, ReminderTypePolicy

Reason = Reminder.Reason


def policy_current() -> ReminderPolicy:
    """The clinic's policy; the shipped defaults (unsaved) until an admin saves one.

    Never written here: bookings read it inside their transaction, and two of
    them creating the row at once would fail one booking.
    """
    return ReminderPolicy.objects.first() or ReminderPolicy()


def type_policy(appointment_type_id: int) -> ReminderTypePolicy | None:
    return ReminderTypePolicy.objects.filter(
        appointment_type_id=appointment_type_id
    ).first()


def clinic_zone() -> ZoneInfo:
    return ZoneInfo(getattr(connection.tenant, "timezone", None) or "UTC")


def wall_clock(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant a wall-clock time happens; a time the clock skips moves forward.

    A time in the spring gap lands as far past the gap as it was into it
    (02:30 becomes 03:30); a time the autumn repeats is its first occurrence.
    """
    # fold=0: zoneinfo reads both with the offset in force before the change.
    return datetime.combine(day, at).replace(tzinfo=tz, fold=0).astimezone(UTC)


@dataclass(frozen=True)
class QuietHours:
    enabled: bool
    start: time
    end: time

    @classmethod
    def of(cls, policy: ReminderPolicy) -> QuietHours:
        return cls(policy.quiet_hours, policy.quiet_start, policy.quiet_end)

    def contains(self, local: time) -> bool:
        if not self.enabled or self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, instant: datetime, tz: ZoneInfo) -> datetime:
        """`instant` itself when texts may go then, else when quiet hours end."""
        local = instant.astimezone(tz)
        if not self.contains(local.time().replace(tzinfo=None)):
            return instant
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)
        return wall_clock(day, self.end, tz)


@dataclass(frozen=True)
class Step:
    kind: str
    offset_minutes: int
    channel: str = "sms"


@dataclass(frozen=True)
class Plan:
    """What to write for one step: its due time, or why it will not be sent."""

    step: Step
    due_at: datetime
    status: str
    reason: str = ""
    detail: str = ""


def steps_for(
    policy: ReminderPolicy,
    override: ReminderTypePolicy | None,
    *,
    with_confirmation: bool,
) -> list[Step]:
    """The visit type's steps (or the clinic's), plus the booking confirmation."""
    if override is not None and not override.reminders_enabled:
        return []
    raw = (
        override.steps
        if override is not None and override.steps is not None
        else policy.steps
    )
    steps = sorted(
        {
            int(s["offset_minutes"])
            for s in raw or []
            if s.get("channel", "sms") == "sms"
        },
        reverse=True,
    )
    result = [Step(Reminder.Kind.REMINDER, minutes) for minutes in steps if minutes > 0]
    confirm = policy.booking_confirmation
    if override is not None and override.booking_confirmation is not None:
        confirm = override.booking_confirmation
    if with_confirmation and confirm:
        result.insert(0, Step(Reminder.Kind.BOOKING_CONFIRMATION, 0))
    return result


def plan_step(
    step: Step,
    *,
    visit_start: datetime,
    now: datetime,
    policy: ReminderPolicy,
    tz: ZoneInfo,
) -> Plan:
    """When one step goes out: its time moved out of quiet hours, or skipped."""
    # Elapsed time, not wall-clock time: "72 h before" is 72 real hours, even
    # across a clock change (arithmetic on a zoneinfo datetime is wall-clock).
    visit_start = visit_start.astimezone(UTC)
    lead = timedelta(minutes=policy.min_lead_minutes)
    if step.kind == Reminder.Kind.BOOKING_CONFIRMATION:
        due = now + timedelta(minutes=policy.booking_grace_minutes)
    else:
        due = visit_start - timedelta(minutes=step.offset_minutes)
        if due < now:
            return Plan(
                step,
                due,
                Reminder.Status.SKIPPED,
                Reason.TOO_LATE,
                "The visit was booked after this reminder's time.",
            )
    moved = QuietHours.of(policy).next_allowed(due, tz)
    if moved > visit_start - lead:
        reason = Reason.QUIET_HOURS if moved != due else Reason.TOO_LATE
        return Plan(
            step,
            due,
            Reminder.Status.SKIPPED,
            reason,
            f"It could not go out at least {policy.min_lead_minutes} minutes before the visit.",
        )
    return Plan(step, moved, Reminder.Status.PLANNED)


def caps_reached(*, policy: ReminderPolicy, last_day: int, last_week: int) -> str:
    """The cap a number has reached with the texts already counted, or ""."""
    if last_day >= policy.daily_cap:
        return f"{policy.daily_cap} a day"
    if last_week >= policy.weekly_cap:
        return f"{policy.weekly_cap} a week"
    return ""
