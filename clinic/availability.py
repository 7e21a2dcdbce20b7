"""When providers work and which slots are free, computed in the clinic's timezone.

Weekly blocks and exceptions are wall-clock times; they become aware datetimes
date by date, so a week that spans a clock change keeps 9:00 at 9:00.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone as dt_timezone

from django.db import connection
from django.db.models import Q

from clinic.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentType,
    AvailabilityBlock,
    AvailabilityException,
    Holiday,
)


@dataclass(frozen=True, slots=True)
class Window:
    """A stretch of time a provider works at a location."""

    start: datetime
    end: datetime
    location_id: int


@dataclass(frozen=True, slots=True)
class Slot:
    provider_id: int
    start: datetime
    end: datetime
    location_id: int


def clinic_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(getattr(connection.tenant, "timezone", None) or "UTC")


def local_instant(day: date, wall: time, tz: zoneinfo.ZoneInfo) -> datetime | None:
    """The aware instant of a wall-clock time, or None when the clock skips it (DST)."""
    aware = datetime.combine(day, wall, tzinfo=tz)
    round_trip = aware.astimezone(dt_timezone.utc).astimezone(tz)
    if round_trip.replace(tzinfo=None) != aware.replace(tzinfo=None):
        return None
    return aware


def _days(start_date: date, end_date: date):
    day = start_date
    while day <= end_date:
        yield day
        day += timedelta(days=1)


def _subtract(windows: list[Window], start: datetime, end: datetime) -> list[Window]:
    out = []
    for w in windows:
        if end <= w.start or start >= w.end:
            out.append(w)
            continue
        if w.start < start:
            out.append(Window(w.start, start, w.location_id))
        if end < w.end:
            out.append(Window(end, w.end, w.location_id))
    return out


def working_windows(
    *, provider_ids: list[int], start_date: date, end_date: date
) -> dict[int, list[Window]]:
    """Each provider's working windows between two clinic dates (inclusive)."""
    tz = clinic_tz()
    holidays = set(
        Holiday.objects.filter(date__range=(start_date, end_date)).values_list("date", flat=True)
    )
    blocks: dict[tuple[int, int], list[AvailabilityBlock]] = defaultdict(list)
    for block in AvailabilityBlock.objects.filter(provider_id__in=provider_ids).filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=end_date),
        Q(valid_until__isnull=True) | Q(valid_until__gte=start_date),
    ):
        blocks[(block.provider_id, block.weekday)].append(block)
    exceptions: dict[tuple[int, date], list[AvailabilityException]] = defaultdict(list)
    for exc in AvailabilityException.objects.filter(
        provider_id__in=provider_ids, date__range=(start_date, end_date)
    ):
        exceptions[(exc.provider_id, exc.date)].append(exc)

    result: dict[int, list[Window]] = {pid: [] for pid in provider_ids}
    for day in _days(start_date, end_date):
        if day in holidays:
            continue
        for pid in provider_ids:
            day_windows = []
            for block in blocks.get((pid, day.weekday()), ()):
                if (block.valid_from and day < block.valid_from) or (
                    block.valid_until and day > block.valid_until
                ):
                    continue
                _append(day_windows, day, block.start_time, block.end_time, block.location_id, tz)
            todays = exceptions.get((pid, day), ())
            for exc in todays:
                if exc.kind == AvailabilityException.Kind.EXTRA_HOURS:
                    _append(day_windows, day, exc.start_time, exc.end_time, exc.location_id, tz)
            for exc in todays:
                if exc.kind != AvailabilityException.Kind.TIME_OFF:
                    continue
                if exc.start_time is None:
                    day_windows = []
                    break
                off_start = local_instant(day, exc.start_time, tz)
                off_end = local_instant(day, exc.end_time, tz)
                if off_start and off_end:
                    day_windows = _subtract(day_windows, off_start, off_end)
            result[pid].extend(sorted(day_windows, key=lambda w: w.start))
    return result


def _append(windows: list[Window], day: date, start: time, end: time, location_id: int, tz) -> None:
    begin = local_instant(day, start, tz) or datetime.combine(day, start, tzinfo=tz)
    finish = local_instant(day, end, tz) or datetime.combine(day, end, tzinfo=tz)
    if finish > begin:
        windows.append(Window(begin, finish, location_id))


def on_grid(start: datetime, interval_minutes: int) -> bool:
    """Whether a start falls on the type's grid of wall-clock minutes past midnight."""
    local = start.astimezone(clinic_tz())
    minutes = local.hour * 60 + local.minute
    return local.second == 0 and local.microsecond == 0 and minutes % interval_minutes == 0


def window_containing(windows: list[Window], start: datetime, end: datetime) -> Window | None:
    for w in windows:
        if w.start <= start and end <= w.end:
            return w
    return None


def busy_intervals(
    *, provider_ids: list[int], start: datetime, end: datetime, exclude_id: int | None = None
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Each provider's booked time (active visits, overbookings included), sorted."""
    qs = Appointment.objects.filter(
        provider_id__in=provider_ids,
        status__in=ACTIVE_STATUSES,
        start__lt=end,
        busy_until__gt=start,
    )
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    busy: dict[int, list[tuple[datetime, datetime]]] = {pid: [] for pid in provider_ids}
    for pid, s, e in qs.order_by("start").values_list("provider_id", "start", "busy_until"):
        busy[pid].append((s, e))
    return busy


def _clashes(taken: list[tuple[datetime, datetime]], first: int, start: datetime, until: datetime) -> bool:
    """Whether [start, until) overlaps a busy interval at or after index `first`."""
    for busy_start, busy_end in taken[first:]:
        if busy_start >= until:
            return False
        if busy_end > start:
            return True
    return False


def _grid_starts(w: Window, step: int, tz, *, not_before: datetime):
    """Grid points (wall-clock minutes past midnight) from a window's start, as UTC instants.

    Within one UTC offset the grid is plain arithmetic; a window that spans a
    clock change (a night shift) is walked in wall-clock time instead.
    """
    local = w.start.astimezone(tz)
    minutes = local.hour * 60 + local.minute
    wall = local.replace(tzinfo=None, second=0, microsecond=0) + timedelta(minutes=(-minutes) % step)
    if local.second or local.microsecond:
        wall += timedelta(minutes=step)
    interval = timedelta(minutes=step)
    if w.start.astimezone(tz).utcoffset() == w.end.astimezone(tz).utcoffset():
        first = local_instant(wall.date(), wall.time(), tz)
        if first is None:
            return
        start = first.astimezone(dt_timezone.utc)
        if start < not_before:
            start += interval * -(-(not_before - start) // interval)
        end = w.end.astimezone(dt_timezone.utc)
        while start < end:
            yield start
            start += interval
        return
    while True:
        start = local_instant(wall.date(), wall.time(), tz)
        wall += interval
        if start is None:
            continue
        if start >= w.end:
            return
        if start >= not_before:
            yield start.astimezone(dt_timezone.utc)


def free_slots(
    *,
    provider_ids: list[int],
    appointment_type: AppointmentType,
    start_date: date,
    end_date: date,
    now: datetime,
    min_notice: timedelta,
) -> list[Slot]:
    """Bookable starts for a type, on its grid, inside working hours, clear of visits."""
    tz = clinic_tz()
    windows = working_windows(provider_ids=provider_ids, start_date=start_date, end_date=end_date)
    range_start = datetime.combine(start_date, time.min, tzinfo=tz)
    range_end = datetime.combine(end_date + timedelta(days=1), time.min, tzinfo=tz)
    busy = busy_intervals(provider_ids=provider_ids, start=range_start, end=range_end)
    duration = timedelta(minutes=appointment_type.duration_minutes)
    occupied = duration + timedelta(minutes=appointment_type.buffer_after_minutes)
    step = appointment_type.slot_interval_minutes
    earliest = now + min_notice
    slots: list[Slot] = []
    for pid in provider_ids:
        taken = busy[pid]
        cursor = 0
        for w in windows[pid]:
            for start in _grid_starts(w, step, tz, not_before=earliest):
                if start + duration > w.end:
                    break
                until = start + occupied
                while cursor < len(taken) and taken[cursor][1] <= start:
                    cursor += 1
                if _clashes(taken, cursor, start, until):
                    continue
                slots.append(Slot(pid, start, start + duration, w.location_id))
    slots.sort(key=lambda s: (s.start, s.provider_id))
    return slots
