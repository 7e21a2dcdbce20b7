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
from clinic.actors import Actor, request_actor
from clinic.audit import ShownPatient, audit_record_access, audit_record_search
from clinic.forms.schedule import CANCEL_REASONS, CancelForm, RescheduleForm
from clinic.models import Appointment
from clinic.selectors.availability import time_is_taken
from clinic.views.helpers import (
    appointment_or_404,
    clinic_time,
    conflicting_appointments,
    is_partial,
)
from portal.decorators import staff_required
from portal.errors import ApplicationError

Status = Appointment.Status

# The panel's buttons for the service's moves (clinic.services.appointment_allowed_moves).
MOVES = {
    "confirm": ("Confirm", services.appointment_confirm),
    "check-in": ("Check in", services.appointment_check_in),
    "complete": ("Complete", services.appointment_complete),
    "no-show": ("No-show", services.appointment_no_show),
}
MATCHES_SHOWN = 5


def _freed_slot_matches(appointment: Appointment) -> list:
    """Waiting patients who fit a cancelled visit's slot, while it is still free."""
    if appointment.status != Status.CANCELLED or appointment.start < timezone.now():
        return []
    if time_is_taken(
        provider_id=appointment.provider_id,
        start=appointment.start,
        until=appointment.end,
    ):
        return []
    matches = selectors.waitlist_matches(
        provider=appointment.provider,
        appointment_type=appointment.appointment_type,
        start=appointment.start,
        end=appointment.end,
    )[:MATCHES_SHOWN]
    if matches:
        # The panel names these waiting patients: an access entry for them.
        audit_record_search(
            patients=[ShownPatient(m.entry.patient_id) for m in matches],
            query="",
            via="appointment-panel",
            filters={"appointment": appointment.pk},
            what="Waitlist matches",
        )
    return matches


def _panel_context(
    appointment: Appointment, actor: Actor, **extra: Any
) -> dict[str, Any]:
    allowed = services.appointment_allowed_moves(appointment=appointment, actor=actor)
    context: dict[str, Any] = {
        "appointment": appointment,
        "events": list(appointment.events.all()),
        "moves": [
            {"slug": slug, "label": label}
            for slug, (label, _) in MOVES.items()
            if slug.replace("-", "_") in allowed
        ],
        "can_cancel": "cancel" in allowed,
        "can_reschedule": "reschedule" in allowed,
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
    context = _panel_context(appointment, request_actor(request), **extra)
    return render(request, template, context, status=status)


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
    return render(
        request, template, _panel_context(appointment, request_actor(request))
    )


@never_cache
@require_POST
@staff_required
@clinic_time
def appointment_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One move of the panel: the service decides, the panel shows the outcome."""
    appointment = appointment_or_404(pk)
    actor = request_actor(request)
    extra: dict[str, Any] = {}
    try:
        if action in MOVES:
            MOVES[action][1](appointment=appointment, actor=actor)
            notice = f"{MOVES[action][0]}: done."
        elif action == "cancel":
            form = CancelForm(request.POST)
            form.is_valid()
            extra["cancel_form"] = form
            services.appointment_cancel(
                appointment=appointment,
                actor=actor,
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
                actor=actor,
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
