"""What both calendars share: the rows they read, the clock they count in, their links.

A week of a large clinic is thousands of visits, and it must render in well
under 150 ms. So the calendars (1) read plain tuples, not model instances,
with times as the clinic's wall clock in whole seconds, computed by
PostgreSQL (no datetime parsing, no timezone maths per row), and (2) write
each visit and free stretch with one `format_html` call instead of a template
loop: Django's template engine spends 10-20 µs on every variable it prints,
which alone would blow the budget. `format_html` escapes every value it puts
in (names, titles, links), so no text reaches the page unescaped; fixed
fragments of markup are SafeStrings. (Wall-clock seconds fold the repeated
hour of the night the clocks go back onto itself; clinics are closed then.)

Free time is what clinic.selectors.availability says is not taken (the same
rule as booking and the free slots), on each provider's own grid: it starts
where one of their visit types could start, from the clinic's minimum notice
on, and a stretch shorter than their shortest visit is left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter

from django.db.models import F, QuerySet, Value
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from clinic.clock import clinic_tz, earliest_bookable
from clinic.models import ACTIVE_STATUSES, Appointment, AppointmentType, Provider
from clinic.selectors.availability import (
    Grid,
    WallClock,
    booking_grids,
    busy_wall_seconds,
    working_windows,
)
from clinic.selectors.scheduling import appointments_between

Status = Appointment.Status

STEP = 15  # minutes: the day view's grid lines (free time has each provider's grid)
DAY = 86_400
CLOCK = [f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60 + 1)]
EPOCH = date(1970, 1, 1)
STATUS_LABELS = dict(Status.choices)
# Status words in class names and hidden text come from this table, never from a row.
STATUS_CLASS = {status: status for status in Status.values}
STATUS_SR = {
    status: SafeString(
        "" if status == Status.SCHEDULED else f'<span class="sr-only"> ({label})</span>'
    )
    for status, label in Status.choices
}
ACTIVE = frozenset(ACTIVE_STATUSES)
OB_BADGE = SafeString('<span class="ob-badge">OB</span>')
NO_BADGE = SafeString("")

PATIENT = 10  # the patient's id in a row of calendar_rows (for the access entry)


def wall_seconds(value: datetime, tz) -> int:
    """The same, computed here (for working hours and now)."""
    local = value.astimezone(tz).replace(tzinfo=None)
    return int((local - datetime(1970, 1, 1)).total_seconds())


def hhmm(seconds: int, day_number: int) -> str:
    """The clock time of a wall-clock instant on a day ("24:00": the next midnight)."""
    return CLOCK[min(max((seconds - day_number * DAY) // 60, 0), 24 * 60)]


def _ceil(seconds: int, step_minutes: int) -> int:
    """The first start on the grid (minutes past the wall clock's midnight) at or after."""
    midnight = seconds // DAY * DAY
    step = step_minutes * 60
    return midnight + -(-(seconds - midnight) // step) * step


def free_gaps(
    windows: list[tuple[int, int]],
    busy: list[tuple[int, int]],
    earliest: int,
    grid: Grid,
) -> list[tuple[int, int]]:
    """Working time not taken by a visit or its buffer, from `earliest` on, on the grid.

    All in wall-clock seconds; `busy` is sorted by start. A stretch starts where
    a visit could start and is left out when the shortest visit does not fit.
    """
    gaps = []
    for window_start, window_end in windows:
        cursor = _ceil(max(window_start, earliest), grid.step)
        for busy_start, busy_end in busy:
            if busy_end <= cursor:
                continue
            if busy_start >= window_end:
                break
            if busy_start > cursor:
                gaps.append((cursor, busy_start))
            cursor = max(cursor, _ceil(busy_end, grid.step))
        if cursor < window_end:
            gaps.append((cursor, window_end))
    return [(s, e) for s, e in gaps if e - s >= grid.shortest * 60]


@dataclass
class FreeTime:
    """What the calendars need to place free time: grids, taken time, the notice."""

    grids: dict[int, Grid]
    busy: dict[int, list[tuple[int, int]]]
    earliest: int  # wall-clock seconds

    def gaps(self, provider_id: int, windows: list[tuple[int, int]]) -> list:
        grid = self.grids.get(provider_id)
        if grid is None or not windows:
            return []
        return free_gaps(windows, self.busy.get(provider_id, []), self.earliest, grid)


def free_time(
    providers: list[Provider], start: datetime, end: datetime, now: datetime, tz
) -> FreeTime:
    """Two queries: the providers' grids and their taken time (overlapping the span)."""
    ids = [p.pk for p in providers]
    return FreeTime(
        grids=booking_grids(ids),
        busy=busy_wall_seconds(provider_ids=ids, start=start, end=end),
        earliest=wall_seconds(earliest_bookable(now), tz),
    )


def join_html(parts: Iterable[SafeString]) -> SafeString:
    """Fragments already made by format_html, joined (each is escaped again if not)."""
    return format_html_join("", "{}", ((part,) for part in parts))


def calendar_providers(provider_ids: list[int]) -> list[Provider]:
    qs = Provider.objects.only(
        "id", "name", "credentials", "specialty", "colour", "is_active"
    )
    if provider_ids:
        return list(qs.filter(pk__in=provider_ids).order_by("name", "id"))
    return list(qs.filter(is_active=True).order_by("name", "id"))


def calendar_queryset(
    start: datetime, end: datetime, provider_ids: list[int]
) -> QuerySet:
    """The one query behind a calendar: visits starting in [start, end) as tuples.

    (id, provider, type, status, overbooked, first name, last name, start, end,
    busy until, patient), the times as wall-clock seconds.
    """
    tz = Value(str(clinic_tz()))
    return (
        appointments_between(start=start, end=end, provider_ids=provider_ids or None)
        .annotate(
            wall_start=WallClock(tz, F("start")),
            wall_end=WallClock(tz, F("end")),
            wall_busy=WallClock(tz, F("busy_until")),
        )
        .values_list(
            "id",
            "provider_id",
            "appointment_type_id",
            "status",
            "is_overbooked",
            "patient__first_name",
            "patient__last_name",
            "wall_start",
            "wall_end",
            "wall_busy",
            "patient_id",
        )
    )


def calendar_rows(
    start: datetime, end: datetime, providers: list[Provider], provider_ids: list[int]
) -> list[tuple]:
    """The visits of a calendar (see calendar_queryset); a provider retired since,
    who still has visits here, is added to `providers`."""
    rows = list(calendar_queryset(start, end, provider_ids))
    known = {p.pk for p in providers}
    missing = {row[1] for row in rows} - known
    if missing:
        providers.extend(
            Provider.objects.filter(pk__in=missing).only(
                "id", "name", "credentials", "specialty", "colour", "is_active"
            )
        )
    return rows


def shown_patient_ids(rows: list[tuple]) -> list[int]:
    """The distinct patients of these rows, first seen first (for the access entry)."""
    return list(dict.fromkeys(map(itemgetter(PATIENT), rows)))


def visit_types() -> list[AppointmentType]:
    """Every visit type: colour classes (t<id>) and the names the day view prints."""
    return list(AppointmentType.objects.only("id", "name", "colour"))


def windows_by_day(providers: list[Provider], first: date, last: date, tz) -> dict:
    """{(provider id, day number): [(start, end)]} of working time (wall seconds)."""
    by_day: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    working = working_windows(
        provider_ids=[p.pk for p in providers], start_date=first, end_date=last
    )
    for pid, windows in working.items():
        for window in windows:
            start, end = wall_seconds(window.start, tz), wall_seconds(window.end, tz)
            by_day[(pid, start // DAY)].append((start, end))
    return by_day


class Urls:
    """Links the calendars print thousands of, made with string formatting.

    They are plain URLs; format_html escapes them (the & of a query) on the page.
    """

    def __init__(self, patient_id: int | None) -> None:
        self.panel = reverse("appointment-panel", args=[0]).replace("/0/", "/{}/")
        self.book = (
            reverse("schedule-book")
            + "?provider={}&start={}T{}"
            + (f"&patient={patient_id}" if patient_id else "")
        )
        self.days: dict[int, str] = {}

    def book_at(self, provider_id: int, seconds: int) -> str:
        day = seconds // DAY
        if day not in self.days:
            self.days[day] = (EPOCH + timedelta(days=day)).isoformat()
        return self.book.format(provider_id, self.days[day], CLOCK[seconds % DAY // 60])


def short_name(first: str, last: str) -> str:
    """ "Hopper, G." (not escaped: format_html escapes it where it is printed)."""
    return f"{last}, {first[:1]}." if first else last
