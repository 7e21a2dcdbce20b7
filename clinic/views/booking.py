"""Booking from the calendars: the booking form and its patient picker.

A rule's ValidationError comes back on the form (400), a conflict
(ApplicationError) with its own status (409) and the visits in the way.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from clinic import selectors, services
from clinic.actors import request_actor
from clinic.audit import audit_record_search
from clinic.clock import clinic_tz
from clinic.forms.schedule import BookingForm, PatientPickForm, parse_local
from clinic.models import Patient, Provider
from clinic.permissions import can_overbook
from clinic.views.appointments import panel_response
from clinic.views.helpers import (
    booking_patient,
    clinic_time,
    conflicting_appointments,
    is_partial,
)
from portal.decorators import staff_required
from portal.errors import ApplicationError
from portal.limits import parse_id

PICKER_RESULTS = 8


def picked_patient(form, key: str = "patient") -> Patient | None:
    """The patient picked on a bound or initial form, kept picked on a re-render."""
    value = form.data.get(key) if form.is_bound else form.initial.get(key)
    if isinstance(value, Patient):
        return value
    pk = parse_id(str(value)) if value else None
    return Patient.objects.filter(pk=pk).first() if pk is not None else None


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
@clinic_time
def schedule_book(request: HttpRequest) -> HttpResponse:
    """The booking form for a provider and time picked on a calendar; POST books."""
    source = request.POST if request.method == "POST" else request.GET
    provider_id = parse_id(source.get("provider"))
    if provider_id is None:
        raise Http404("No provider given.")
    provider = get_object_or_404(Provider, pk=provider_id)
    actor = request_actor(request)
    may_overbook = can_overbook(actor)
    context: dict[str, Any] = {"provider": provider}
    status = 200
    if request.method == "POST":
        form = BookingForm(request.POST, provider=provider, can_overbook=may_overbook)
        if form.is_valid():
            try:
                appointment = services.appointment_book(
                    **form.service_kwargs(), actor=actor
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
        patient = booking_patient(request)
        if patient is not None:
            initial["patient"] = patient
        form = BookingForm(
            initial=initial, provider=provider, can_overbook=may_overbook
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
    picked = booking_patient(request)
    return render(
        request,
        "clinic/_patient_choices.html",
        {"patients": patients, "q": q, "picked": picked},
    )
