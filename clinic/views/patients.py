"""Patient pages: list and live search, detail, create, edit, archive.

Every page that shows patient data writes an access entry (clinic.audit).
"""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from clinic import selectors, services
from clinic.actors import request_actor
from clinic.audit import audit_record_access, audit_record_search
from clinic.forms.patients import PatientForm, PatientSearchForm
from clinic.models import Patient, Workflow
from clinic.workflows import fields_from_schema
from portal.decorators import staff_required
from portal.pagination import LookaheadPaginator

PATIENTS_PER_PAGE = 25


# --- Helpers --------------------------------------------------------------------------


def _patient_or_404(pk: int) -> Patient:
    """The patient with this id in the request's clinic; 404 if missing or elsewhere.

    The clinic's schema is the boundary: another clinic's patient does not exist here.
    """
    return get_object_or_404(Patient.objects.select_related("workflow"), pk=pk)


def _workflows_for(patient: Patient | None = None):
    """Active workflows, plus the patient's own even if it was retired since."""
    condition = Q(is_active=True)
    if patient is not None and patient.workflow_id:
        condition |= Q(pk=patient.workflow_id)
    return Workflow.objects.filter(condition).order_by("name")


def _default_workflow() -> Workflow | None:
    return (
        Workflow.objects.filter(is_default=True, is_active=True).first()
        or selectors.workflows_active().first()
    )


def _workflow_values(patient: Patient) -> list[dict[str, Any]]:
    """The patient's workflow fields with their labels, in the workflow's order."""
    schema = patient.workflow.fields_schema if patient.workflow else {}
    values = dict(patient.fields or {})
    rows = []
    for definition in fields_from_schema(schema or {}):
        rows.append(
            {
                "label": definition["label"],
                "type": definition["type"],
                "value": values.pop(definition["name"], None),
            }
        )
    # Values kept from an earlier workflow are still part of the record: show them.
    for name, value in values.items():
        rows.append(
            {
                "label": name.replace("_", " ").capitalize(),
                "type": "text",
                "value": value,
                "stale": True,
            }
        )
    return rows


# --- Patients -------------------------------------------------------------------------


@never_cache
@vary_on_headers("HX-Request")
@staff_required
def patient_list(request: HttpRequest) -> HttpResponse:
    form = PatientSearchForm(request.GET, workflows=selectors.workflows_active())
    filters = form.selector_kwargs()
    page = LookaheadPaginator(
        selectors.patient_list(**filters), PATIENTS_PER_PAGE
    ).page(form.page_number())
    audit_record_search(
        patients=page.object_list,
        query=filters["q"],
        via="page",
        filters={
            "workflow": filters["workflow"],
            "status": filters["status"],
            "page": page.number,
        },
    )
    context = {"form": form, "page": page, "q": filters["q"]}
    # An invalid filter (a page past the last supported one) is left out: the
    # list still shows, and the 400 says the request was not what it asked for.
    status = 400 if form.errors else 200
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        return render(request, "clinic/_patient_rows.html", context, status=status)
    return render(request, "clinic/patient_list.html", context, status=status)


@never_cache
@staff_required
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _patient_or_404(pk)
    audit_record_access(patient=patient, via="page")
    upcoming, past = selectors.patient_appointments(patient=patient)
    return render(
        request,
        "clinic/patient_detail.html",
        {
            "patient": patient,
            "workflow_values": _workflow_values(patient),
            "upcoming": upcoming,
            "past": past,
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def patient_create(request: HttpRequest) -> HttpResponse:
    workflows = _workflows_for()
    if request.method == "POST":
        form = PatientForm(
            request.POST, workflows=workflows, workflow=_default_workflow()
        )
        if form.is_valid():
            try:
                patient = services.patient_create(
                    **form.service_kwargs(), actor=request_actor(request)
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                # No names in flash messages: they may travel in a cookie.
                messages.success(request, "Patient added.")
                return redirect(patient)
        return render(request, "clinic/patient_form.html", {"form": form}, status=400)
    form = PatientForm(workflows=workflows, workflow=_default_workflow())
    return render(request, "clinic/patient_form.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _patient_or_404(pk)
    workflows = _workflows_for(patient)
    if request.method == "POST":
        form = PatientForm(
            request.POST,
            workflows=workflows,
            workflow=patient.workflow,
            with_status=True,
        )
        if form.is_valid():
            try:
                # The service sets attributes before it validates; keep `patient`
                # as stored for the page around the form.
                services.patient_update(
                    patient=copy.copy(patient),
                    actor=request_actor(request),
                    **form.service_kwargs(),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Changes saved.")
                return redirect(patient)
        context = {"form": form, "patient": patient}
        return render(request, "clinic/patient_form.html", context, status=400)
    audit_record_access(patient=patient, via="edit")
    form = PatientForm(
        workflows=workflows,
        workflow=patient.workflow,
        with_status=True,
        initial=PatientForm.initial_for(patient),
    )
    return render(
        request, "clinic/patient_form.html", {"form": form, "patient": patient}
    )


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def patient_workflow_fields(request: HttpRequest) -> HttpResponse:
    """The workflow part of the patient form, re-rendered when the workflow changes.

    POSTed (no write happens) so values already typed travel in the body, not the URL.
    """
    data = request.POST if request.method == "POST" else request.GET
    initial = {key: data.get(key) for key in data if key != "csrfmiddlewaretoken"}
    form = PatientForm(
        workflows=Workflow.objects.all(), workflow=_default_workflow(), initial=initial
    )
    return render(request, "clinic/_workflow_fields.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def patient_archive(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _patient_or_404(pk)
    if request.method == "POST":
        if patient.status == Patient.Status.ARCHIVED:
            messages.info(request, "This patient was already archived.")
        else:
            services.patient_archive(patient=patient, actor=request_actor(request))
            messages.success(request, "Patient archived.")
        return redirect(patient)
    audit_record_access(patient=patient, via="archive")
    return render(request, "clinic/patient_archive.html", {"patient": patient})
