"""The appointment panel: a visit, its history, and the moves the rules allow now.

Visits open in a side panel (htmx, static/js/schedule.js); without JavaScript
the same links open full pages. Writes go through clinic.services; a rule's
ValidationError comes back on the form (400), a conflict or an illegal move
(ApplicationError) with its own status (409).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from clinic import selectors, services
from clinic.audit import audit_record_access
from clinic.availability import clinic_tz
from clinic.models import ACTIVE_STATUSES, Appointment
from clinic.schedule_forms import CANCEL_REASONS, CancelForm, RescheduleForm
from clinic.services.scheduling import RESCHEDULABLE, TRANSITIONS
from clinic.views.helpers import (
    appointment_or_404,
    clinic_time,
    clinic_today,
    conflicting_appointments,
    is_partial,
)
from portal.decorators import staff_required
from portal.errors import ApplicationError

Status = Appointment.Status

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
            and appointment.start.astimezone(clinic_tz()).date() != clinic_today()
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
    appointment = appointment_or_404(pk)
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
    appointment = appointment_or_404(pk)
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
    appointment = appointment_or_404(pk)
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
