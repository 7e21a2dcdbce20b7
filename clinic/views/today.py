"""The Today page: the front desk's arrivals in order, check-in, counts by status."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from clinic import selectors, services
from clinic.actors import Actor, request_actor
from clinic.audit import ShownPatient, audit_record_search
from clinic.clock import clinic_today
from clinic.models import Appointment
from clinic.views.helpers import (
    appointment_or_404,
    clinic_time,
    is_partial,
)
from portal.decorators import staff_required
from portal.errors import ApplicationError

Status = Appointment.Status


def _today_context(actor: Actor, **extra: Any) -> dict[str, Any]:
    day = clinic_today()
    summary = selectors.day_summary(day=day)
    counts = summary.counts
    waiting = counts[Status.SCHEDULED] + counts[Status.CONFIRMED]
    now = timezone.now()
    rows = []
    for appointment in summary.appointments:
        rows.append(
            {
                "appointment": appointment,
                "can_check_in": "check_in"
                in services.appointment_allowed_moves(
                    appointment=appointment, actor=actor, at=now
                ),
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


def _render_board(
    request: HttpRequest, template: str, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """The board (or the page around it), with one access entry for its patients.

    The board names every patient of the day and their visit reasons, so each
    render of it is a read: the page, its refresh and a check-in's answer.
    """
    context = _today_context(request_actor(request), **extra)
    shown = dict.fromkeys(row["appointment"].patient_id for row in context["rows"])
    audit_record_search(
        patients=[ShownPatient(pk) for pk in shown],
        query="",
        via="today",
        filters={"date": context["day"].isoformat()},
        what="Today",
    )
    return render(request, template, context, status=status)


@never_cache
@vary_on_headers("HX-Request", "HX-Target")
@staff_required
@clinic_time
def today(request: HttpRequest) -> HttpResponse:
    """The front desk's day: arrivals in order, check-in, counts by status."""
    if is_partial(request, "today-board"):
        return _render_board(request, "clinic/_today_board.html")
    return _render_board(request, "clinic/today.html")


@never_cache
@require_POST
@staff_required
@clinic_time
def today_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = appointment_or_404(pk)
    try:
        services.appointment_check_in(
            appointment=appointment, actor=request_actor(request)
        )
    except ApplicationError as exc:
        template = (
            "clinic/_today_board.html" if is_partial(request) else "clinic/today.html"
        )
        return _render_board(request, template, status=exc.status, error=exc.message)
    if not is_partial(request):
        messages.success(request, "Checked in.")
        return redirect("today")
    who = appointment.patient
    return _render_board(
        request,
        "clinic/_today_board.html",
        notice=f"{who.first_name} {who.last_name} is checked in.",
        checked_in=appointment.pk,
    )
