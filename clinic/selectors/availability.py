"""When providers work, which time is taken and which slots are free.

Weekly blocks and exceptions are wall-clock times; they become aware datetimes
date by date, so a week that spans a clock change keeps 9:00 at 9:00.

"Is this time taken?" is answered here and nowhere else (`taken_q`): booking
and rescheduling, the free slots of the API and the booking page, freed slots,
the appointment panel's waitlist matches and the calendars' free time all ask
it. Every active visit takes its provider's time from its start to the end of
its buffer (its room's time to its end), overbooked visits included: an
overbooking is a deliberate exception made by someone allowed to make it, and
the time it sits in is not offered to anyone else. Only a new overbooking may
be placed on top of taken time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from math import gcd

from django.db.models import BigIntegerField, Exists, F, Func, OuterRef, Q, QuerySet
from django.db.models import Value as V

from clinic.clock import clinic_tz, local_instant
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
        Holiday.objects.filter(date__range=(start_date, end_date)).values_list(
            "date", flat=True
        )
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
                _append(
                    day_windows,
                    day,
                    block.start_time,
                    block.end_time,
                    block.location_id,
                    tz,
                )
            todays = exceptions.get((pid, day), ())
            for exc in todays:
                if exc.kind == AvailabilityException.Kind.EXTRA_HOURS:
                    _append(
                        day_windows,
                        day,
                        exc.start_time,
                        exc.end_time,
                        exc.location_id,
                        tz,
                    )
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


def _append(
    windows: list[Window], day: date, start: time, end: time, location_id: int, tz
) -> None:
    begin = local_instant(day, start, tz) or datetime.combine(day, start, tzinfo=tz)
    finish = local_instant(day, end, tz) or datetime.combine(day, end, tzinfo=tz)
    if finish > begin:
        windows.append(Window(begin, finish, location_id))


def on_grid(start: datetime, interval_minutes: int) -> bool:
    """Whether a start falls on the type's grid of wall-clock minutes past midnight."""
    local = start.astimezone(clinic_tz())
    minutes = local.hour * 60 + local.minute
    return (
        local.second == 0 and local.microsecond == 0 and minutes % interval_minutes == 0
    )


def window_containing(
    windows: list[Window], start: datetime, end: datetime
) -> Window | None:
    for w in windows:
        if w.start <= start and end <= w.end:
            return w
    return None


# --- "Is this time taken?" ------------------------------------------------------


def taken_q(
    *, start, until, provider=None, provider_ids: list[int] | None = None, room=None
) -> Q:
    """Active visits that take a provider's (or a room's) time in [start, until).

    The arguments may be values or expressions (OuterRef), so the same rule
    serves a lookup and a correlated EXISTS. A room is taken to a visit's end,
    a provider to the end of its buffer.
    """
    active = Q(status__in=ACTIVE_STATUSES, start__lt=until)
    if room is not None:
        return active & Q(room=room, end__gt=start)
    who = (
        Q(provider_id__in=provider_ids)
        if provider_ids is not None
        else Q(provider=provider)
    )
    return active & who & Q(busy_until__gt=start)


def appointments_overlapping(
    *,
    start: datetime,
    until: datetime,
    provider_ids: list[int] | None = None,
    room_id: int | None = None,
    exclude_id: int | None = None,
) -> QuerySet[Appointment]:
    """The visits that take some time of these providers (or this room), by start."""
    qs = Appointment.objects.filter(
        taken_q(start=start, until=until, provider_ids=provider_ids or [], room=room_id)
    )
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return qs.order_by("start", "id")


def time_is_taken(*, provider_id: int, start: datetime, until: datetime) -> bool:
    return appointments_overlapping(
        start=start, until=until, provider_ids=[provider_id]
    ).exists()


def taken_exists(*, provider: OuterRef, start: OuterRef, until: OuterRef) -> Exists:
    """The same rule as a correlated EXISTS (one query for a list of slots)."""
    return Exists(
        Appointment.objects.filter(taken_q(provider=provider, start=start, until=until))
    )


def busy_intervals(
    *,
    provider_ids: list[int],
    start: datetime,
    end: datetime,
    exclude_id: int | None = None,
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Each provider's taken time (start to busy-until), sorted."""
    qs = appointments_overlapping(
        start=start, until=end, provider_ids=provider_ids, exclude_id=exclude_id
    )
    busy: dict[int, list[tuple[datetime, datetime]]] = {pid: [] for pid in provider_ids}
    for pid, s, e in qs.values_list("provider_id", "start", "busy_until"):
        busy[pid].append((s, e))
    return busy


class WallClock(Func):
    """A timestamp as seconds since 1970-01-01 00:00 on a timezone's wall clock."""

    template = "EXTRACT(EPOCH FROM timezone(%(expressions)s))::bigint"
    output_field = BigIntegerField()


def busy_wall_seconds(
    *, provider_ids: list[int], start: datetime, end: datetime
) -> dict[int, list[tuple[int, int]]]:
    """Each provider's taken time as wall-clock seconds (for the calendars), sorted."""
    tz = V(str(clinic_tz()))
    qs = appointments_overlapping(
        start=start, until=end, provider_ids=provider_ids
    ).annotate(
        wall_start=WallClock(tz, F("start")), wall_busy=WallClock(tz, F("busy_until"))
    )
    busy: dict[int, list[tuple[int, int]]] = {pid: [] for pid in provider_ids}
    for pid, s, e in qs.values_list("provider_id", "wall_start", "wall_busy"):
        busy[pid].append((s, e))
    return busy


@dataclass(frozen=True, slots=True)
class Grid:
    """Where a provider's visits can start: every `step` minutes past midnight,
    for at least `shortest` minutes."""

    step: int
    shortest: int


def booking_grids(provider_ids: list[int]) -> dict[int, Grid]:
    """Each provider's grid, from the active visit types they offer.

    A start is on the grid when some type can start there (the greatest common
    divisor of the types' intervals); a stretch shorter than the shortest of
    the types fits no visit. A provider who offers no type has no grid.
    """
    steps: dict[int, int] = {}
    shortest: dict[int, int] = {}
    rows = AppointmentType.objects.filter(
        is_active=True, providers__in=provider_ids
    ).values_list("providers", "slot_interval_minutes", "duration_minutes")
    for pid, interval, duration in rows:
        steps[pid] = gcd(steps.get(pid, 0), interval)
        shortest[pid] = min(shortest.get(pid, duration), duration)
    return {pid: Grid(steps[pid], shortest[pid]) for pid in steps}


def _clashes(
    taken: list[tuple[datetime, datetime]], first: int, start: datetime, until: datetime
) -> bool:
    """Whether [start, until) overlaps a busy interval at or after index `first`."""
    for busy_start, busy_end in taken[first:]:
        if busy_start >= until:
            return False
        if busy_end > start:
            return True
    return False


def _grid_starts(
    w: Window, step: int, tz, *, not_before: datetime
) -> Iterator[datetime]:
    """Grid points (wall-clock minutes past midnight) from a window's start, as UTC instants.

    Within one UTC offset the grid is plain arithmetic; a window that spans a
    clock change (a night shift) is walked in wall-clock time instead.
    """
    local = w.start.astimezone(tz)
    minutes = local.hour * 60 + local.minute
    wall = local.replace(tzinfo=None, second=0, microsecond=0) + timedelta(
        minutes=(-minutes) % step
    )
    if local.second or local.microsecond:
        wall += timedelta(minutes=step)
    interval = timedelta(minutes=step)
    if w.start.astimezone(tz).utcoffset() == w.end.astimezone(tz).utcoffset():
        first = local_instant(wall.date(), wall.time(), tz)
        if first is None:
            return
        start = first.astimezone(UTC)
        if start < not_before:
            start += interval * -(-(not_before - start) // interval)
        end = w.end.astimezone(UTC)
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
            yield start.astimezone(UTC)


def free_slots(
    *,
    provider_ids: list[int],
    appointment_type: AppointmentType,
    start_date: date,
    end_date: date,
    earliest: datetime,
) -> list[Slot]:
    """Bookable starts for a type, on its grid, inside working hours, clear of
    taken time (see the module's docstring), from `earliest` on."""
    tz = clinic_tz()
    windows = working_windows(
        provider_ids=provider_ids, start_date=start_date, end_date=end_date
    )
    range_start = datetime.combine(start_date, time.min, tzinfo=tz)
    range_end = datetime.combine(end_date + timedelta(days=1), time.min, tzinfo=tz)
    busy = busy_intervals(provider_ids=provider_ids, start=range_start, end=range_end)
    duration = timedelta(minutes=appointment_type.duration_minutes)
    occupied = duration + timedelta(minutes=appointment_type.buffer_after_minutes)
    step = appointment_type.slot_interval_minutes
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
