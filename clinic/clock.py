"""The clinic's clock: its timezone, its "today", its days and its booking notice.

A small module of its own so that services, selectors, forms, views and other
apps ask one place, and none of them has to import another to learn the time.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.utils import timezone


def clinic_tz() -> zoneinfo.ZoneInfo:
    """The timezone of the clinic whose schema is active (UTC outside one)."""
    return zoneinfo.ZoneInfo(getattr(connection.tenant, "timezone", None) or "UTC")


def clinic_today(now: datetime | None = None) -> date:
    """The date on the clinic's wall clock, now or at `now`."""
    return timezone.localdate(now or timezone.now(), timezone=clinic_tz())


def clinic_day(moment: datetime) -> date:
    """The date on the clinic's wall clock of an aware instant."""
    return moment.astimezone(clinic_tz()).date()


def local_instant(day: date, wall: time, tz: zoneinfo.ZoneInfo) -> datetime | None:
    """The aware instant of a wall-clock time, or None when the clock skips it (DST)."""
    aware = datetime.combine(day, wall, tzinfo=tz)
    round_trip = aware.astimezone(UTC).astimezone(tz)
    if round_trip.replace(tzinfo=None) != aware.replace(tzinfo=None):
        return None
    return aware


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The instants of a clinic day's midnight and the next one."""
    tz = clinic_tz()
    return (
        datetime.combine(day, time.min, tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz),
    )


def booking_min_notice() -> timedelta:
    """How far ahead of its start a visit must be booked (the clinic's setting)."""
    minutes = getattr(connection.tenant, "booking_min_notice_minutes", 0) or 0
    return timedelta(minutes=minutes)


def earliest_bookable(now: datetime | None = None) -> datetime:
    """The first instant a new or moved visit may start: now plus the notice."""
    return (now or timezone.now()) + booking_min_notice()
