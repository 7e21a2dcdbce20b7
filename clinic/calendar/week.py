"""The week calendar: days as rows, a column per provider, visits and free time."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.safestring import mark_safe

from clinic.availability import clinic_tz
from clinic.calendar.layout import (
    ACTIVE,
    DAY,
    EPOCH,
    OB_BADGE,
    STATUS_CLASS,
    STATUS_SR,
    Urls,
    calendar_providers,
    calendar_rows,
    free_gaps,
    hhmm,
    short_name,
    shown_patient_ids,
    visit_types,
    wall_seconds,
    windows_by_day,
)

WEEK_VISIT = (
    '<a class="appt t{type} st-{status}{ob}" href="{href}">'
    '<span class="t">{time}</span> '
    "{name}{badge}{sr}</a>"
)
WEEK_FREE = '<a class="free" href="{href}">{label}</a>'


def week_grid(
    *,
    day: date,
    provider_ids: list[int],
    patient_id: int | None = None,
    now: datetime | None = None,
) -> dict:
    """Days as rows, a column per provider; each cell its visits and free time."""
    tz = clinic_tz()
    monday = day - timedelta(days=day.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    first_day = (monday - EPOCH).days
    providers = calendar_providers(provider_ids)
    rows = calendar_rows(
        datetime.combine(monday, time.min, tzinfo=tz),
        datetime.combine(monday + timedelta(days=7), time.min, tzinfo=tz),
        providers,
        provider_ids,
    )
    windows = windows_by_day(providers, monday, days[-1], tz)
    urls = Urls(patient_id)
    now = wall_seconds(now or timezone.now(), tz)
    today = now // DAY

    items: dict[tuple[int, int], list[tuple[int, int, str]]] = defaultdict(list)
    busy: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    counts = [0] * 7
    for (
        pk,
        pid,
        type_id,
        status,
        overbooked,
        first,
        last,
        start,
        _,
        busy_until,
        _,
    ) in rows:
        key = (pid, start // DAY)
        items[key].append(
            (
                start,
                0,
                WEEK_VISIT.format(
                    type=type_id,
                    status=STATUS_CLASS.get(status, "other"),
                    ob=" ob" if overbooked else "",
                    href=urls.panel.format(pk),
                    time=hhmm(start, start // DAY),
                    name=short_name(first, last),
                    badge=OB_BADGE if overbooked else "",
                    sr=STATUS_SR.get(status, ""),
                ),
            )
        )
        if status in ACTIVE:
            busy[key].append((start, busy_until))
            counts[min(max(key[1] - first_day, 0), 6)] += 1

    grid_rows = []
    for index, current in enumerate(days):
        number = first_day + index
        is_today = number == today
        cells = []
        for provider in providers:
            key = (provider.pk, number)
            cell = items.get(key, [])
            day_windows = windows.get(key)
            if day_windows and number >= today:
                for gap_start, gap_end in free_gaps(
                    day_windows, busy.get(key, []), now
                ):
                    label = f"{hhmm(gap_start, number)}–{hhmm(gap_end, number)}"
                    cell.append(
                        (
                            gap_start,
                            1,
                            WEEK_FREE.format(
                                href=urls.book_at(provider.pk, gap_start), label=label
                            ),
                        )
                    )
                cell.sort()
            classes = (
                "wg-cell"
                + (" off" if not day_windows else "")
                + (" is-today" if is_today else "")
            )
            body = "".join(part for _, _, part in cell) or (
                '<span class="off-label">Off</span>' if not day_windows else ""
            )
            cells.append(f'<div class="{classes}">{body}</div>')
        grid_rows.append(
            {
                "day": current,
                "is_today": is_today,
                "count": counts[index],
                "cells": mark_safe("".join(cells)),
            }
        )
    return {
        "days": days,
        "monday": monday,
        "sunday": days[-1],
        "providers": providers,
        "types": visit_types(),
        "rows": grid_rows,
        "total": sum(counts),
        "patient_ids": shown_patient_ids(rows),
    }
