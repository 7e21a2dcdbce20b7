"""The schedule's calendars: a day and a week per provider.

The grids come from clinic.calendar (one query, laid out in Python, written as
ready HTML for speed); these views parse the filters, add the navigation and
write one access entry for the patients the grid names. Visits and free time
open in a side panel (htmx, static/js/schedule.js); without JavaScript the
same links open full pages.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.vary import vary_on_headers

from clinic.audit import ShownPatient, audit_record_search
from clinic.calendar import day_grid, week_grid
from clinic.clock import clinic_today
from clinic.forms.schedule import DayOutOfRange, active_providers, parse_day, parse_ids
from clinic.models import Patient
from clinic.views.helpers import booking_patient, clinic_time, is_partial
from portal.decorators import staff_required


def _nav_context(request: HttpRequest, view: str, day: date, step: timedelta) -> dict:
    """Links to the previous, next and current period and the other view."""
    query = request.GET.copy()
    links = {}
    for name, target in (
        ("prev", day - step),
        ("next", day + step),
        ("today", clinic_today()),
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


def _audit_calendar(
    *,
    via: str,
    patient_ids: list[int],
    booking_for: Patient | None,
    day: date,
    provider_ids: list[int],
) -> None:
    """One access entry for a calendar render: every patient it names.

    The grid names its visits' patients; the full page also names the patient
    being booked for (the toolbar's "Booking for" line).
    """
    shown = dict.fromkeys(patient_ids)
    if booking_for is not None:
        shown[booking_for.pk] = None
    audit_record_search(
        patients=[ShownPatient(pk) for pk in shown],
        query="",
        via=via,
        filters={"date": day.isoformat(), "provider": provider_ids},
        what="Schedule",
    )


def _calendar(
    request: HttpRequest, *, view: str, grid, span: timedelta
) -> HttpResponse:
    """A day or week calendar: the grid (alone for an htmx refresh) or the whole page.

    A date the calendars cannot show (year 9999) answers 400 with today's
    calendar and the supported range; an unreadable one just shows today.
    """
    status = 200
    partial = is_partial(request, "calendar")
    try:
        day = parse_day(request.GET.get("date"), clinic_today())
    except DayOutOfRange as exc:
        day, status = clinic_today(), 400
        if not partial:
            messages.error(request, f"{exc.message} Showing today instead.")
    provider_ids = parse_ids(request.GET.getlist("provider"))
    patient = booking_patient(request)
    context = grid(
        day=day, provider_ids=provider_ids, patient_id=patient and patient.pk
    )
    context.update(day=day, booking_patient=patient)
    if view == "day":
        context["is_today"] = day == clinic_today()
    _audit_calendar(
        via=f"schedule-{view}",
        patient_ids=context["patient_ids"],
        booking_for=None if partial else patient,
        day=day,
        provider_ids=provider_ids,
    )
    if partial:
        return render(
            request, f"clinic/_schedule_{view}_grid.html", context, status=status
        )
    context.update(_nav_context(request, view, day, span))
    return render(request, f"clinic/schedule_{view}.html", context, status=status)


@never_cache
@vary_on_headers("HX-Request", "HX-Target")
@staff_required
@clinic_time
def schedule_week(request: HttpRequest) -> HttpResponse:
    return _calendar(request, view="week", grid=week_grid, span=timedelta(days=7))


@never_cache
@vary_on_headers("HX-Request", "HX-Target")
@staff_required
@clinic_time
def schedule_day(request: HttpRequest) -> HttpResponse:
    return _calendar(request, view="day", grid=day_grid, span=timedelta(days=1))
