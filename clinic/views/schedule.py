"""Schedule pages: day and week calendars, booking, the appointment panel, today.

Calendars read their visits with one query (clinic.selectors.appointments_between)
and lay them out in Python. Writes go through clinic.services; a rule's
ValidationError comes back on the form (400), a conflict or an illegal move
(ApplicationError) with its own status (409). Visits and free time open in a
side panel (htmx, static/js/schedule.js); without JavaScript the same links
open full pages.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import BigIntegerField, F, Func, Prefetch, Value
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from clinic import selectors, services
from clinic.audit import audit_record_access, audit_record_search
from clinic.availability import clinic_tz, working_windows
from clinic.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentType,
    Patient,
    Provider,
)
from clinic.schedule_forms import (
    CANCEL_REASONS,
    BookingForm,
    CancelForm,
    PatientPickForm,
    RescheduleForm,
    active_providers,
    parse_day,
    parse_ids,
    parse_local,
)
from clinic.services.scheduling import RESCHEDULABLE, TRANSITIONS
from portal.decorators import staff_required
from portal.errors import ApplicationError

Status = Appointment.Status

PICKER_RESULTS = 8


# --- Helpers --------------------------------------------------------------------------


def clinic_time(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Render in the clinic's timezone: htmx partials have no base layout to set it."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with timezone.override(clinic_tz()):
            return view(request, *args, **kwargs)

    return wrapper


def _today() -> date:
    return timezone.localdate(timezone=clinic_tz())


def is_partial(request: HttpRequest, target: str | None = None) -> bool:
    """An htmx request (not a history restore), aimed at `target` if given."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return False
    return target is None or htmx.target == target


def _can_overbook(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return bool(
        request.tenant.allow_overbooking
        and membership is not None
        and membership.can_overbook
    )


def _appointment_or_404(pk: int) -> Appointment:
    """The appointment with this id in this clinic; 404 if missing or elsewhere."""
    return get_object_or_404(
        Appointment.objects.select_related(
            "patient", "provider", "appointment_type", "location", "room"
        ).prefetch_related(
            Prefetch(
                "events",
                queryset=AppointmentEvent.objects.select_related(
                    "by", "old_provider"
                ).order_by("at", "id"),
            )
        ),
        pk=pk,
    )


# --- Calendar layout ------------------------------------------------------------------
#
# A week of a large clinic is thousands of visits, and it must render in well
# under 150 ms. So the calendars (1) read plain tuples, not model instances,
# with times as the clinic's wall clock in whole seconds, computed by
# PostgreSQL (no datetime parsing, no timezone maths per row), and (2) write
# each visit and free stretch with one format string here instead of a
# template loop: Django's template engine spends 10-20 µs on every variable it
# prints, which alone would blow the budget. Text from users is escaped
# (html.escape); everything else is a number or a fixed word. (Wall-clock
# seconds fold the repeated hour of the night the clocks go back onto itself;
# clinics are closed then.)

STEP = 15  # minutes: free time is offered on this grid of the clinic's clock
DAY = 86_400
DAY_FIRST_HOUR, DAY_LAST_HOUR = 8, 18  # the day view shows at least these hours
CLOCK = [f"{m // 60:02d}:{m % 60:02d}" for m in range(24 * 60 + 1)]
EPOCH = date(1970, 1, 1)
STATUS_LABELS = dict(Status.choices)
# Status words in class names and hidden text come from this table, never from a row.
STATUS_CLASS = {status: status for status in Status.values}
STATUS_SR = {
    status: ""
    if status == Status.SCHEDULED
    else f'<span class="sr-only"> ({label})</span>'
    for status, label in Status.choices
}
ACTIVE = frozenset(ACTIVE_STATUSES)
OB_BADGE = '<span class="ob-badge">OB</span>'

WEEK_VISIT = (
    '<a class="appt t{type} st-{status}{ob}" href="{href}">'
    '<span class="t">{time}</span> '
    "{name}{badge}{sr}</a>"
)
WEEK_FREE = '<a class="free" href="{href}">{label}</a>'
DAY_VISIT = (
    '<a class="appt t{type} st-{status}{ob}{short}" href="{href}" title="{title}" '
    'style="--s: {top}; --d: {height}; --lane: {lane}; --lanes: {lanes}">'
    '<span class="t">{times}</span> <span class="n">{name}</span> '
    '<span class="ty">{type_name}</span>{badge}'
    '<span class="sr-only"> · {label}</span></a>'
)
DAY_FREE = (
    '<a class="free" href="{href}" data-minutes="{height}" '
    'style="--s: {top}; --d: {height}" '
    'aria-label="Book {provider}, free {label}"><span>{label}</span></a>'
)
DAY_WORK = '<div class="dg-work" style="--s: {top}; --d: {height}"></div>'
DAY_COLUMN = '<div class="dg-col" role="group" aria-label="{name}">{body}</div>'
NOW_LINE = '<div class="now-line" style="--s: {top}" aria-hidden="true"></div>'


class WallClock(Func):
    """A timestamp as seconds since 1970-01-01 00:00 on a timezone's wall clock."""

    template = "EXTRACT(EPOCH FROM timezone(%(expressions)s))::bigint"
    output_field = BigIntegerField()


def wall_seconds(value: datetime, tz) -> int:
    """The same, computed here (for working hours and now)."""
    local = value.astimezone(tz).replace(tzinfo=None)
    return int((local - datetime(1970, 1, 1)).total_seconds())


def _hhmm(seconds: int, day_number: int) -> str:
    """The clock time of a wall-clock instant on a day ("24:00": the next midnight)."""
    return CLOCK[min(max((seconds - day_number * DAY) // 60, 0), 24 * 60)]


def _ceil(seconds: int, step: int = STEP * 60) -> int:
    return -(-seconds // step) * step


def _free_gaps(
    windows: list[tuple[int, int]], busy: list[tuple[int, int]], earliest: int
) -> list[tuple[int, int]]:
    """Working time not taken by a visit or its buffer, from `earliest` on, on the grid.

    All in wall-clock seconds; `busy` is sorted by start. Stretches shorter than
    one step of the grid are left out.
    """
    gaps = []
    for window_start, window_end in windows:
        cursor = _ceil(max(window_start, earliest))
        for busy_start, busy_end in busy:
            if busy_end <= cursor:
                continue
            if busy_start >= window_end:
                break
            if busy_start > cursor:
                gaps.append((cursor, busy_start))
            cursor = max(cursor, _ceil(busy_end))
        if cursor < window_end:
            gaps.append((cursor, window_end))
    return [(s, e) for s, e in gaps if e - s >= STEP * 60]


def _calendar_providers(provider_ids: list[int]) -> list[Provider]:
    qs = Provider.objects.only(
        "id", "name", "credentials", "specialty", "colour", "is_active"
    )
    if provider_ids:
        return list(qs.filter(pk__in=provider_ids).order_by("name", "id"))
    return list(qs.filter(is_active=True).order_by("name", "id"))


def _calendar_rows(
    start: datetime, end: datetime, providers: list[Provider], provider_ids: list[int]
) -> list[tuple]:
    """The visits starting in [start, end) as tuples, in one query.

    (id, provider, type, status, overbooked, first name, last name, start, end,
    busy until), the times as wall-clock seconds. A provider retired since, who
    still has visits here, is added to `providers`.
    """
    tz = Value(str(clinic_tz()))
    rows = list(
        selectors.appointments_between(
            start=start, end=end, provider_ids=provider_ids or None
        )
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
        )
    )
    known = {p.pk for p in providers}
    missing = {row[1] for row in rows} - known
    if missing:
        providers.extend(
            Provider.objects.filter(pk__in=missing).only(
                "id", "name", "credentials", "specialty", "colour", "is_active"
            )
        )
    return rows


def _visit_types() -> list[AppointmentType]:
    """Every visit type: colour classes (t<id>) and the names the day view prints."""
    return list(AppointmentType.objects.only("id", "name", "colour"))


def _windows_by_day(providers: list[Provider], first: date, last: date, tz) -> dict:
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


class _Urls:
    """Links the calendars print thousands of, made with string formatting."""

    def __init__(self, patient_id: int | None) -> None:
        self.panel = reverse("appointment-panel", args=[0]).replace("/0/", "/{}/")
        self.book = (
            reverse("schedule-book")
            + "?provider={}&amp;start={}T{}"
            + (f"&amp;patient={patient_id}" if patient_id else "")
        )
        self.days: dict[int, str] = {}

    def book_at(self, provider_id: int, seconds: int) -> str:
        day = seconds // DAY
        if day not in self.days:
            self.days[day] = (EPOCH + timedelta(days=day)).isoformat()
        return self.book.format(provider_id, self.days[day], CLOCK[seconds % DAY // 60])


def _short_name(first: str, last: str) -> str:
    return html.escape(f"{last}, {first[:1]}." if first else last)


def _booking_patient(request: HttpRequest) -> Patient | None:
    """The patient a schedule page books for (from a patient's "Book" link)."""
    pk = request.GET.get("patient", "")
    if not pk.isdigit():
        return None
    return Patient.objects.filter(pk=int(pk), status=Patient.Status.ACTIVE).first()


def _nav_context(request: HttpRequest, view: str, day: date, step: timedelta) -> dict:
    """Links to the previous, next and current period and the other view."""
    query = request.GET.copy()
    links = {}
    for name, target in (
        ("prev", day - step),
        ("next", day + step),
        ("today", _today()),
    ):
        query["date"] = target.isoformat()
        links[name] = "?" + query.urlencode()
    query["date"] = day.isoformat()
    links["day"] = reverse("schedule-day") + "?" + query.urlencode()
    links["week"] = reverse("schedule-week") + "?" + query.urlencode()
    query.pop("patient", None)
    links["no_patient"] = "?" + query.urlencode()
    providers = list(active_providers().only("id", "name", "credentials", "colour"))
    chosen = set(parse_ids(request.GET.getlist("provider")))
    return {
        "nav": links,
        "view": view,
        "all_providers": providers,
        "chosen_ids": chosen,
        "chosen_count": len(chosen),
    }


# --- Week -----------------------------------------------------------------------------


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
    providers = _calendar_providers(provider_ids)
    rows = _calendar_rows(
        datetime.combine(monday, time.min, tzinfo=tz),
        datetime.combine(monday + timedelta(days=7), time.min, tzinfo=tz),
        providers,
        provider_ids,
    )
    windows = _windows_by_day(providers, monday, days[-1], tz)
    urls = _Urls(patient_id)
    now = wall_seconds(now or timezone.now(), tz)
    today = now // DAY

    items: dict[tuple[int, int], list[tuple[int, int, str]]] = defaultdict(list)
    busy: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    counts = [0] * 7
    for pk, pid, type_id, status, overbooked, first, last, start, _, busy_until in rows:
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
                    time=_hhmm(start, start // DAY),
                    name=_short_name(first, last),
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
                for gap_start, gap_end in _free_gaps(
                    day_windows, busy.get(key, []), now
                ):
                    label = f"{_hhmm(gap_start, number)}–{_hhmm(gap_end, number)}"
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
        "types": _visit_types(),
        "rows": grid_rows,
        "total": sum(counts),
    }


@never_cache
@vary_on_headers("HX-Request", "HX-Target")
@staff_required
@clinic_time
def schedule_week(request: HttpRequest) -> HttpResponse:
    day = parse_day(request.GET.get("date"), _today())
    provider_ids = parse_ids(request.GET.getlist("provider"))
    patient = _booking_patient(request)
    context = week_grid(
        day=day, provider_ids=provider_ids, patient_id=patient and patient.pk
    )
    context.update(day=day, booking_patient=patient)
    if is_partial(request, "calendar"):
        return render(request, "clinic/_schedule_week_grid.html", context)
    context.update(_nav_context(request, "week", day, timedelta(days=7)))
    return render(request, "clinic/schedule_week.html", context)


# --- Day ------------------------------------------------------------------------------


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
    providers = _calendar_providers(provider_ids)
    rows = _calendar_rows(
        datetime.combine(day, time.min, tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz),
        providers,
        provider_ids,
    )
    windows = _windows_by_day(providers, day, day, tz)
    types = _visit_types()
    type_names = {t.pk: html.escape(t.name) for t in types}
    urls = _Urls(patient_id)
    now = wall_seconds(now or timezone.now(), tz)

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
        provider_name = html.escape(provider.name)
        visits = [
            [row[7], row[8], 0, 1, row] for row in by_provider.get(provider.pk, ())
        ]
        _lanes(visits)
        parts = []
        day_windows = windows.get((provider.pk, number), [])
        for start, end in day_windows:
            parts.append(
                DAY_WORK.format(
                    top=minutes(start), height=minutes(end) - minutes(start)
                )
            )
        busy = [
            (row[7], row[9])
            for row in by_provider.get(provider.pk, ())
            if row[3] in ACTIVE
        ]
        if day_windows and number >= now // DAY:
            for gap_start, gap_end in _free_gaps(day_windows, busy, now):
                label = f"{_hhmm(gap_start, number)}–{_hhmm(gap_end, number)}"
                parts.append(
                    DAY_FREE.format(
                        href=urls.book_at(provider.pk, gap_start),
                        top=minutes(gap_start),
                        height=minutes(gap_end) - minutes(gap_start),
                        provider=provider_name,
                        label=label,
                    )
                )
        for start, end, lane, lanes, row in visits:
            pk, _, type_id, status, overbooked, first, last = row[:7]
            top = minutes(start)
            height = max(minutes(end) - top, 10)
            times = f"{_hhmm(start, number)}–{_hhmm(end, number)}"
            name = _short_name(first, last)
            parts.append(
                DAY_VISIT.format(
                    type=type_id,
                    status=STATUS_CLASS.get(status, "other"),
                    ob=" ob" if overbooked else "",
                    short=" short" if height < 25 else "",
                    href=urls.panel.format(pk),
                    title=f"{times} {html.escape(first)} {html.escape(last)}"
                    f" · {type_names.get(type_id, '')}"
                    f" · {STATUS_LABELS.get(status, status)}"
                    + (" · overbooked" if overbooked else ""),
                    top=top,
                    height=height,
                    lane=lane,
                    lanes=lanes,
                    times=times,
                    name=name,
                    type_name=type_names.get(type_id, ""),
                    badge=OB_BADGE if overbooked else "",
                    label=STATUS_LABELS.get(status, status),
                )
            )
        if origin <= now < origin + span * 60:
            parts.append(NOW_LINE.format(top=(now - origin) // 60))
        count = len(busy)
        total += count
        columns.append(
            {
                "provider": provider,
                "count": count,
                "html": mark_safe(
                    DAY_COLUMN.format(name=provider_name, body="".join(parts))
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
    }


@never_cache
@vary_on_headers("HX-Request", "HX-Target")
@staff_required
@clinic_time
def schedule_day(request: HttpRequest) -> HttpResponse:
    day = parse_day(request.GET.get("date"), _today())
    provider_ids = parse_ids(request.GET.getlist("provider"))
    patient = _booking_patient(request)
    context = day_grid(
        day=day, provider_ids=provider_ids, patient_id=patient and patient.pk
    )
    context.update(day=day, booking_patient=patient, is_today=day == _today())
    if is_partial(request, "calendar"):
        return render(request, "clinic/_schedule_day_grid.html", context)
    context.update(_nav_context(request, "day", day, timedelta(days=1)))
    return render(request, "clinic/schedule_day.html", context)


# --- Booking --------------------------------------------------------------------------


def conflicting_appointments(exc: ApplicationError) -> list[Appointment]:
    ids = [c["id"] for c in exc.extra.get("conflicts", [])]
    if not ids:
        return []
    return list(
        Appointment.objects.filter(pk__in=ids)
        .select_related("patient", "provider", "appointment_type")
        .order_by("start")
    )


def picked_patient(form, key: str = "patient") -> Patient | None:
    """The patient picked on a bound or initial form, kept picked on a re-render."""
    value = form.data.get(key) if form.is_bound else form.initial.get(key)
    if isinstance(value, Patient):
        return value
    if value and str(value).isdigit():
        return Patient.objects.filter(pk=int(value)).first()
    return None


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
@clinic_time
def schedule_book(request: HttpRequest) -> HttpResponse:
    """The booking form for a provider and time picked on a calendar; POST books."""
    source = request.POST if request.method == "POST" else request.GET
    provider_id = source.get("provider", "")
    if not provider_id.isdigit():
        raise Http404("No provider given.")
    provider = get_object_or_404(Provider, pk=int(provider_id))
    can_overbook = _can_overbook(request)
    context: dict[str, Any] = {"provider": provider}
    status = 200
    if request.method == "POST":
        form = BookingForm(request.POST, provider=provider, can_overbook=can_overbook)
        if form.is_valid():
            try:
                appointment = services.appointment_book(
                    **form.service_kwargs(), booked_by=request.user
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
                status = 400
            except ApplicationError as exc:
                context.update(
                    error=exc.message, conflicts=conflicting_appointments(exc)
                )
                status = exc.status
            else:
                if not is_partial(request):
                    messages.success(request, "Appointment booked.")
                    return redirect("appointment-panel", appointment.pk)
                response = panel_response(
                    request, appointment.pk, notice="Appointment booked."
                )
                response["HX-Trigger"] = "appointments-changed"
                return response
        else:
            status = 400
    else:
        start = parse_local(request.GET.get("start"))
        initial: dict[str, Any] = {}
        if start is not None:
            local = start.astimezone(clinic_tz())
            initial.update(date=local.date(), time=local.time())
        patient = _booking_patient(request)
        if patient is not None:
            initial["patient"] = patient
        form = BookingForm(
            initial=initial, provider=provider, can_overbook=can_overbook
        )
    context.update(form=form, picked=picked_patient(form))
    template = (
        "clinic/_booking_form.html"
        if is_partial(request)
        else "clinic/schedule_book.html"
    )
    return render(request, template, context, status=status)


@never_cache
@staff_required
@clinic_time
def schedule_patients(request: HttpRequest) -> HttpResponse:
    """Patients for the booking and waitlist forms' pickers, as the user types."""
    form = PatientPickForm(request.GET)
    q = form.cleaned_data.get("q", "").strip() if form.is_valid() else ""
    patients = (
        list(selectors.patient_list(q=q, status=Patient.Status.ACTIVE)[:PICKER_RESULTS])
        if q
        else []
    )
    if patients:
        audit_record_search(patients=patients, query=q, via="schedule", filters={})
    # The patient already picked stays on top while the user searches again.
    picked = _booking_patient(request)
    return render(
        request,
        "clinic/_patient_choices.html",
        {"patients": patients, "q": q, "picked": picked},
    )


# --- Appointment panel ----------------------------------------------------------------

MOVES = {
    "confirm": ("Confirm", services.appointment_confirm),
    "check-in": ("Check in", services.appointment_check_in),
    "complete": ("Complete", services.appointment_complete),
    "no-show": ("No-show", services.appointment_no_show),
}


def _legal_moves(appointment: Appointment) -> list[dict[str, str]]:
    """The moves the rules allow now: the panel offers these and nothing else."""
    now = timezone.now()
    moves = []
    for slug, (label, _) in MOVES.items():
        if appointment.status not in TRANSITIONS[slug.replace("-", "_")]:
            continue
        if (
            slug == "check-in"
            and appointment.start.astimezone(clinic_tz()).date() != _today()
        ):
            continue
        if slug == "no-show" and now < appointment.start:
            continue
        moves.append({"slug": slug, "label": label})
    return moves


def _freed_slot_matches(appointment: Appointment) -> list:
    """Waiting patients who fit a cancelled visit's slot, while it is still free."""
    if appointment.status != Status.CANCELLED or appointment.start < timezone.now():
        return []
    taken = Appointment.objects.filter(
        provider_id=appointment.provider_id,
        status__in=ACTIVE_STATUSES,
        start__lt=appointment.end,
        busy_until__gt=appointment.start,
    ).exists()
    if taken:
        return []
    return selectors.waitlist_matches(
        provider=appointment.provider,
        appointment_type=appointment.appointment_type,
        start=appointment.start,
        end=appointment.end,
    )[:5]


def _panel_context(appointment: Appointment, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "appointment": appointment,
        "events": list(appointment.events.all()),
        "moves": _legal_moves(appointment),
        "can_cancel": appointment.status in TRANSITIONS["cancel"],
        "can_reschedule": appointment.status in RESCHEDULABLE,
        "cancel_reasons": CANCEL_REASONS,
        "matches": _freed_slot_matches(appointment),
    }
    if context["can_cancel"] and "cancel_form" not in extra:
        context["cancel_form"] = CancelForm()
    if context["can_reschedule"] and "reschedule_form" not in extra:
        context["reschedule_form"] = RescheduleForm(appointment=appointment)
    context.update(extra)
    return context


def panel_response(
    request: HttpRequest, pk: int, *, status: int = 200, **extra: Any
) -> HttpResponse:
    appointment = _appointment_or_404(pk)
    template = (
        "clinic/_appointment_panel.html"
        if is_partial(request)
        else "clinic/appointment_detail.html"
    )
    return render(
        request, template, _panel_context(appointment, **extra), status=status
    )


@never_cache
@staff_required
@clinic_time
def appointment_panel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment_or_404(pk)
    audit_record_access(patient=appointment.patient, via="page")
    template = (
        "clinic/_appointment_panel.html"
        if is_partial(request)
        else "clinic/appointment_detail.html"
    )
    return render(request, template, _panel_context(appointment))


@never_cache
@require_POST
@staff_required
@clinic_time
def appointment_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One move of the panel: the service decides, the panel shows the outcome."""
    appointment = _appointment_or_404(pk)
    extra: dict[str, Any] = {}
    try:
        if action in MOVES:
            MOVES[action][1](appointment=appointment, by=request.user)
            notice = f"{MOVES[action][0]}: done."
        elif action == "cancel":
            form = CancelForm(request.POST)
            form.is_valid()
            extra["cancel_form"] = form
            services.appointment_cancel(
                appointment=appointment,
                by=request.user,
                reason=form.cleaned_data.get("reason", ""),
            )
            extra.pop("cancel_form")
            notice = "Appointment cancelled."
        elif action == "reschedule":
            form = RescheduleForm(request.POST, appointment=appointment)
            extra["reschedule_form"] = form
            if not form.is_valid():
                return panel_response(
                    request, pk, status=400, open_form="reschedule", **extra
                )
            services.appointment_reschedule(
                appointment=appointment,
                start=form.cleaned_data["start"],
                provider=form.cleaned_data["provider"],
                by=request.user,
            )
            extra.pop("reschedule_form")
            notice = "Appointment moved."
        else:
            raise Http404("No such action.")
    except ValidationError as exc:
        form = extra.get("cancel_form") or extra.get("reschedule_form")
        if form is not None:
            form.add_service_errors(exc)
        open_form = "cancel" if "cancel_form" in extra else "reschedule"
        return panel_response(
            request,
            pk,
            status=400,
            open_form=open_form,
            error=None if form else " ".join(exc.messages),
            **extra,
        )
    except ApplicationError as exc:
        open_form = "reschedule" if "reschedule_form" in extra else None
        return panel_response(
            request,
            pk,
            status=exc.status,
            error=exc.message,
            conflicts=conflicting_appointments(exc),
            open_form=open_form,
            **extra,
        )
    if not is_partial(request):
        messages.success(request, notice)
        return redirect("appointment-panel", pk)
    response = panel_response(request, pk, notice=notice)
    response["HX-Trigger"] = "appointments-changed"
    return response


# --- Today ----------------------------------------------------------------------------


def _today_context(**extra: Any) -> dict[str, Any]:
    day = _today()
    summary = selectors.day_summary(day=day)
    counts = summary.counts
    waiting = counts[Status.SCHEDULED] + counts[Status.CONFIRMED]
    now = timezone.now()
    rows = []
    for appointment in summary.appointments:
        rows.append(
            {
                "appointment": appointment,
                "can_check_in": appointment.status in TRANSITIONS["check_in"],
                "late": appointment.status in (Status.SCHEDULED, Status.CONFIRMED)
                and appointment.start < now,
            }
        )
    return {
        "day": day,
        "rows": rows,
        "counts": counts,
        "stats": [
            ("Expected", waiting, "expected"),
            ("Checked in", counts[Status.CHECKED_IN], "checked_in"),
            ("Completed", counts[Status.COMPLETED], "completed"),
            ("No-show", counts[Status.NO_SHOW], "no_show"),
            ("Cancelled", counts[Status.CANCELLED], "cancelled"),
        ],
        "total": len(summary.appointments) - counts[Status.CANCELLED],
        **extra,
    }


@never_cache
@vary_on_headers("HX-Request", "HX-Target")
@staff_required
@clinic_time
def today(request: HttpRequest) -> HttpResponse:
    """The front desk's day: arrivals in order, check-in, counts by status."""
    context = _today_context()
    if is_partial(request, "today-board"):
        return render(request, "clinic/_today_board.html", context)
    return render(request, "clinic/today.html", context)


@never_cache
@require_POST
@staff_required
@clinic_time
def today_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment_or_404(pk)
    try:
        services.appointment_check_in(appointment=appointment, by=request.user)
    except ApplicationError as exc:
        context = _today_context(error=exc.message)
        template = (
            "clinic/_today_board.html" if is_partial(request) else "clinic/today.html"
        )
        return render(request, template, context, status=exc.status)
    if not is_partial(request):
        messages.success(request, "Checked in.")
        return redirect("today")
    who = appointment.patient
    context = _today_context(
        notice=f"{who.first_name} {who.last_name} is checked in.",
        checked_in=appointment.pk,
    )
    return render(request, "clinic/_today_board.html", context)
