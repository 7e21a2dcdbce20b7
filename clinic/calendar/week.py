"""The week calendar: days as rows, a column per provider, visits and free time."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from clinic.calendar.layout import (
    ACTIVE,
    DAY,
    EPOCH,
    NO_BADGE,
    OB_BADGE,
    STATUS_CLASS,
    STATUS_SR,
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

WEEK_VISIT = (
    '<a class="appt t{type} st-{status}{ob}" href="{href}">'
    '<span class="t">{time}</span> '
    "{name}{badge}{sr}</a>"
)
WEEK_FREE = '<a class="free" href="{href}">{label}</a>'
WEEK_CELL = '<div class="{classes}">{body}</div>'
OFF_LABEL = SafeString('<span class="off-label">Off</span>')


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
    first = datetime.combine(monday, time.min, tzinfo=tz)
    last = datetime.combine(monday + timedelta(days=7), time.min, tzinfo=tz)
    rows = calendar_rows(first, last, providers, provider_ids)
    windows = windows_by_day(providers, monday, days[-1], tz)
    urls = Urls(patient_id)
    moment = now or timezone.now()
    free = free_time(providers, first, last, moment, tz)
    today = wall_seconds(moment, tz) // DAY

    items: dict[tuple[int, int], list[tuple[int, int, SafeString]]] = defaultdict(list)
    counts = [0] * 7
    for pk, pid, type_id, status, overbooked, first_name, last_name, start, *_ in rows:
        key = (pid, start // DAY)
        items[key].append(
            (
                start,
                0,
                format_html(
                    WEEK_VISIT,
                    type=type_id,
                    status=STATUS_CLASS.get(status, "other"),
                    ob=" ob" if overbooked else "",
                    href=urls.panel.format(pk),
                    time=hhmm(start, start // DAY),
                    name=short_name(first_name, last_name),
                    badge=OB_BADGE if overbooked else NO_BADGE,
                    sr=STATUS_SR.get(status, NO_BADGE),
                ),
            )
        )
        if status in ACTIVE:
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
            gaps = free.gaps(provider.pk, day_windows or [])
            for gap_start, gap_end in gaps:
                label = f"{hhmm(gap_start, number)}–{hhmm(gap_end, number)}"
                href = urls.book_at(provider.pk, gap_start)
                cell.append(
                    (gap_start, 1, format_html(WEEK_FREE, href=href, label=label))
                )
            if gaps:
                cell.sort(key=lambda item: item[:2])
            classes = (
                "wg-cell"
                + (" off" if not day_windows else "")
                + (" is-today" if is_today else "")
            )
            body = join_html(part for _, _, part in cell) or (
                OFF_LABEL if not day_windows else NO_BADGE
            )
            cells.append(format_html(WEEK_CELL, classes=classes, body=body))
        grid_rows.append(
            {
                "day": current,
                "is_today": is_today,
                "count": counts[index],
                "cells": join_html(cells),
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
