"""Template tags of calls: the Call button and last call on the patient and visit pages."""

from __future__ import annotations

from typing import Any

from django import template

from calls.models import PatientCallState
from calls.permissions import can_place_calls
from calls.services.voice_dial import calling_problem
from clinic.models import Appointment, Patient

register = template.Library()


@register.inclusion_tag("calls/_call_button.html", takes_context=True)
def call_button(
    context: template.Context,
    patient: Patient,
    appointment: Appointment | None = None,
) -> dict[str, Any]:
    """A Call button (for the roles that call), why it cannot be used, and the last call."""
    membership = context.get("membership")
    _, problem = calling_problem(patient)
    upcoming = appointment is not None and appointment.status in (
        "scheduled",
        "confirmed",
    )
    return {
        "patient": patient,
        "appointment": appointment if upcoming else None,
        "show": can_place_calls(membership) and (appointment is None or upcoming),
        "problem": problem,
        "state": PatientCallState.objects.filter(patient=patient)
        .select_related("last_session")
        .first(),
        "csrf_token": context.get("csrf_token"),
    }
