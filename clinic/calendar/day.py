"""The day calendar: a column per provider, visits and free time placed by minutes."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.html import format_html

from clinic.calendar.layout import (
    ACTIVE,
    CLOCK,
    DAY,
    EPOCH,
    NO_BADGE,
    OB_BADGE,
    STATUS_CLASS,
    STATUS_LABELS,
    STEP,
    Urls,
    calendar_providers,
    calendar_rows,
    free_time,
    hhmm,
    join_html,
    short_name,
    shown_patient_ids,
    visit_types,
    wall_seconds,
    windows_by_day,
)
from clinic.clock import clinic_tz

DAY_FIRST_HOUR, DAY_LAST_HOUR = 8, 18  # the day view shows at least these hours
DAY_VISIT = (
    '<a class="appt t{type} st-{status}{ob}{short}" href="{href}" title="{title}" '
    'style="--s: {top}; --d: {height}; --lane: {lane}; --lanes: {lanes}">'
    '<span class="t">{times}</span> <span class="n">{name}</span> '
    '<span class="ty">{type_name}</span>{badge}'
    '<span class="sr-only"> · {label}</span></a>'
)
DAY_FREE = (
    '<a class="free" href="{href}" data-minutes="{height}" data-step="{step}" '
    'style="--s: {top}; --d: {height}" '
    'aria-label="Book {provider}, free {label}"><span>{label}</span></a>'
)
DAY_WORK = '<div class="dg-work" style="--s: {top}; --d: {height}"></div>'
DAY_COLUMN = '<div class="dg-col" role="group" aria-label="{name}">{body}</div>'
NOW_LINE = '<div class="now-line" style="--s: {top}" aria-hidden="true"></div>'


def _lanes(visits: list[list]) -> None:
    """Side by side where visits overlap (overbookings, a cancelled one and the next).

    Visits are [start, end, lane, lanes, row], sorted by start; sets lane and lanes.
    """
    cluster: list[list] = []
    cluster_end = 0
    lane_ends: list[int] = []
    for visit in visits:
        if cluster and visit[0] >= cluster_end:
            for member in cluster:
                member[3] = len(lane_ends)
            cluster, lane_ends = [], []
        for lane, lane_end in enumerate(lane_ends):
            if lane_end <= visit[0]:
                lane_ends[lane] = visit[1]
                visit[2] = lane
                break
        else:
            visit[2] = len(lane_ends)
            lane_ends.append(visit[1])
        cluster.append(visit)
        cluster_end = max(cluster_end, visit[1]) if len(cluster) > 1 else visit[1]
    for member in cluster:
        member[3] = len(lane_ends)


def day_grid(
    *,
    day: date,
    provider_ids: list[int],
    patient_id: int | None = None,
    now: datetime | None = None,
) -> dict:
    """A column per provider; visits and free time placed by minutes from the top."""
    tz = clinic_tz()
    number = (day - EPOCH).days
    midnight = number * DAY
    providers = calendar_providers(provider_ids)
    first = datetime.combine(day, time.min, tzinfo=tz)
    last = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    rows = calendar_rows(first, last, providers, provider_ids)
    windows = windows_by_day(providers, day, day, tz)
    types = visit_types()
    type_names = {t.pk: t.name for t in types}
    urls = Urls(patient_id)
    moment = now or timezone.now()
    free = free_time(providers, first, last, moment, tz)
    now = wall_seconds(moment, tz)

    # The hours shown: at least 8-18, and whatever working time or visits need.
    first_hour, last_hour = DAY_FIRST_HOUR, DAY_LAST_HOUR
    for spans in windows.values():
        for start, end in spans:
            first_hour = min(first_hour, (start - midnight) // 3600)
            last_hour = max(last_hour, -(-(end - midnight) // 3600))
    for row in rows:
        first_hour = min(first_hour, (row[7] - midnight) // 3600)
        last_hour = max(last_hour, -(-(row[8] - midnight) // 3600))
    last_hour = min(last_hour, 24)
    origin = midnight + first_hour * 3600
    span = (last_hour - first_hour) * 60

    def minutes(seconds: int) -> int:
        return min(max((seconds - origin) // 60, 0), span)

    by_provider: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        by_provider[row[1]].append(row)
    columns = []
    total = 0
    for provider in providers:
        provider_name = provider.name
        visits = [
            [row[7], row[8], 0, 1, row] for row in by_provider.get(provider.pk, ())
        ]
        _lanes(visits)
        parts = []
        day_windows = windows.get((provider.pk, number), [])
        for start, end in day_windows:
            parts.append(
                format_html(
                    DAY_WORK, top=minutes(start), height=minutes(end) - minutes(start)
                )
            )
        count = sum(1 for row in by_provider.get(provider.pk, ()) if row[3] in ACTIVE)
        grid = free.grids.get(provider.pk)
        for gap_start, gap_end in free.gaps(provider.pk, day_windows):
            label = f"{hhmm(gap_start, number)}–{hhmm(gap_end, number)}"
            parts.append(
                format_html(
                    DAY_FREE,
                    href=urls.book_at(provider.pk, gap_start),
                    top=minutes(gap_start),
                    height=minutes(gap_end) - minutes(gap_start),
                    step=grid.step,
                    provider=provider_name,
                    label=label,
                )
            )
        for start, end, lane, lanes, row in visits:
            pk, _, type_id, status, overbooked, first_name, last_name = row[:7]
            top = minutes(start)
            height = max(minutes(end) - top, 10)
            times = f"{hhmm(start, number)}–{hhmm(end, number)}"
            parts.append(
                format_html(
                    DAY_VISIT,
                    type=type_id,
                    status=STATUS_CLASS.get(status, "other"),
                    ob=" ob" if overbooked else "",
                    short=" short" if height < 25 else "",
                    href=urls.panel.format(pk),
                    title=f"{times} {first_name} {last_name}"
                    f" · {type_names.get(type_id, '')}"
                    f" · {STATUS_LABELS.get(status, status)}"
                    + (" · overbooked" if overbooked else ""),
                    top=top,
                    height=height,
                    lane=lane,
                    lanes=lanes,
                    times=times,
                    name=short_name(first_name, last_name),
                    type_name=type_names.get(type_id, ""),
                    badge=OB_BADGE if overbooked else NO_BADGE,
                    label=STATUS_LABELS.get(status, status),
                )
            )
        if origin <= now < origin + span * 60:
            parts.append(format_html(NOW_LINE, top=(now - origin) // 60))
        total += count
        columns.append(
            {
                "provider": provider,
                "count": count,
                "html": format_html(
                    DAY_COLUMN, name=provider_name, body=join_html(parts)
                ),
            }
        )
    hours = [
        {"label": CLOCK[hour * 60], "top": (hour - first_hour) * 60}
        for hour in range(first_hour, last_hour)
    ]
    return {
        "columns": columns,
        "hours": hours,
        "span": span,
        "step": STEP,
        "types": types,
        "total": total,
        "patient_ids": shown_patient_ids(rows),
    }
