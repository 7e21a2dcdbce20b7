"""Staff pages of a clinic: patients (list, search, detail, changes), the audit trail.

Views parse input, call a selector or a service, and render. Every page that
shows patient data writes an access entry (clinic.audit).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import zoneinfo
from collections.abc import AsyncIterator, Iterator
from itertools import islice
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from clinic import selectors, services
from clinic.audit import audit_record_access, audit_record_search
from clinic.forms import AuditFilterForm, PatientForm, PatientSearchForm
from clinic.models import AuditEntry, Patient, Workflow
from clinic.workflows import fields_from_schema
from portal.decorators import role_required, staff_required
from portal.models import Membership, Role

PATIENTS_PER_PAGE = 25
AUDIT_PER_PAGE = 50


# --- Pagination without COUNT(*) ------------------------------------------------------


class LookaheadPage(Page):
    """A page that knows whether another follows without knowing how many there are."""

    def __init__(
        self, object_list: list, number: int, paginator: Paginator, has_next: bool
    ) -> None:
        super().__init__(object_list, number, paginator)
        self._has_next = has_next

    def has_next(self) -> bool:
        return self._has_next

    def has_other_pages(self) -> bool:
        return self._has_next or self.number > 1

    def next_page_number(self) -> int:
        return self.number + 1

    def start_index(self) -> int:
        return (
            (self.number - 1) * self.paginator.per_page + 1 if self.object_list else 0
        )

    def end_index(self) -> int:
        return (self.number - 1) * self.paginator.per_page + len(self.object_list)


class LookaheadPaginator(Paginator):
    """Django's Paginator, minus the COUNT(*): it reads one row past the page instead.

    Live search renders a page per keystroke; a trigram search counted over the
    whole table each time would cost more than the page itself.
    """

    def validate_number(self, number: Any) -> int:
        try:
            number = int(number)
        except (TypeError, ValueError):
            return 1
        return max(number, 1)

    def page(self, number: Any) -> LookaheadPage:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        return LookaheadPage(
            rows[: self.per_page], number, self, len(rows) > self.per_page
        )


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


# --- Home -----------------------------------------------------------------------------


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    """A small dashboard: search, quick links, and active patients per workflow."""
    workflows = selectors.workflows_active().annotate(
        active_patients=Count(
            "patients", filter=Q(patients__status=Patient.Status.ACTIVE)
        )
    )
    return render(request, "clinic/home.html", {"workflows": workflows})


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
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        return render(request, "clinic/_patient_rows.html", context)
    return render(request, "clinic/patient_list.html", context)


@never_cache
@staff_required
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _patient_or_404(pk)
    audit_record_access(patient=patient, via="page")
    return render(
        request,
        "clinic/patient_detail.html",
        {"patient": patient, "workflow_values": _workflow_values(patient)},
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
                patient = services.patient_create(**form.service_kwargs())
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
                    patient=copy.copy(patient), **form.service_kwargs()
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
            services.patient_archive(patient=patient)
            messages.success(request, "Patient archived.")
        return redirect(patient)
    audit_record_access(patient=patient, via="archive")
    return render(request, "clinic/patient_archive.html", {"patient": patient})


# --- Audit trail ----------------------------------------------------------------------


def _audit_filter_form(request: HttpRequest) -> AuditFilterForm:
    # Former staff stay in the trail, so inactive memberships are listed too.
    members = (
        Membership.objects.filter(clinic=request.tenant)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return AuditFilterForm(request.GET, members=members)


def _audit_what(entry: AuditEntry) -> str:
    if entry.action == AuditEntry.Action.ACCESS and entry.object_id is None:
        shown = len(entry.patient_ids or [])
        text = f"Patient list: {shown} patient{'s' if shown != 1 else ''} shown"
        return f'{text}, search "{entry.query}"' if entry.query else text
    what = entry.object_repr
    if entry.content_type_id and entry.content_type.model != "patient":
        what = f"{entry.content_type.name.capitalize()}: {what}"
    if entry.action == AuditEntry.Action.UPDATE and isinstance(entry.changes, dict):
        what += " (changed " + ", ".join(sorted(entry.changes)) + ")"
    return what


@never_cache
@role_required(Role.ADMIN)
def audit_list(request: HttpRequest) -> HttpResponse:
    form = _audit_filter_form(request)
    entries = selectors.audit_entries(
        **form.selector_kwargs(tz_name=request.tenant.timezone)
    )
    page = LookaheadPaginator(entries, AUDIT_PER_PAGE).page(form.page_number())
    for entry in page.object_list:
        entry.what = _audit_what(entry)
        entry.via = (entry.additional_data or {}).get("via", "")
    export_query = request.GET.copy()
    export_query.pop("page", None)
    context = {"form": form, "page": page, "export_query": export_query.urlencode()}
    return render(request, "clinic/audit_list.html", context)


AUDIT_CSV_HEADER = [
    "time",
    "actor",
    "action",
    "object_type",
    "object_id",
    "what",
    "query",
    "patient_ids",
    "via",
    "ip",
    "user_agent",
    "changes",
]


def _audit_csv_rows(entries, tz) -> Iterator[list[str]]:
    yield AUDIT_CSV_HEADER
    for entry in entries.iterator(chunk_size=2000):
        yield [
            timezone.localtime(entry.timestamp, tz).isoformat(),
            entry.actor_email or (entry.actor.email if entry.actor else ""),
            entry.get_action_display(),
            entry.content_type.model if entry.content_type_id else "",
            "" if entry.object_id is None else str(entry.object_id),
            _audit_what(entry),
            entry.query,
            " ".join(str(pk) for pk in entry.patient_ids or []),
            (entry.additional_data or {}).get("via", ""),
            entry.remote_addr or "",
            entry.user_agent,
            json.dumps(entry.changes, sort_keys=True, default=str)
            if entry.changes
            else "",
        ]


def _csv_chunks(rows: Iterator[list[str]], tenant, size: int = 500) -> Iterator[str]:
    """CSV text in chunks of `size` rows, read in the clinic's schema."""
    # The body is produced after the view returned: enter the clinic again, as
    # the connection may have served another clinic's request in between.
    connection.set_tenant(tenant)
    while True:
        batch = list(islice(rows, size))
        if not batch:
            return
        buffer = io.StringIO()
        csv.writer(buffer).writerows(batch)
        yield buffer.getvalue()


async def _async_chunks(chunks: Iterator[str]) -> AsyncIterator[str]:
    # Under ASGI a synchronous body would be read into memory whole before the
    # first byte goes out; pull it chunk by chunk in the request's thread instead.
    step = sync_to_async(lambda: next(chunks, None), thread_sensitive=True)
    while (chunk := await step()) is not None:
        yield chunk


@role_required(Role.ADMIN)
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered trail as CSV, streamed, for the clinic's records or an auditor."""
    form = _audit_filter_form(request)
    entries = selectors.audit_entries(
        **form.selector_kwargs(tz_name=request.tenant.timezone)
    )
    tz = zoneinfo.ZoneInfo(request.tenant.timezone or "UTC")
    chunks = _csv_chunks(_audit_csv_rows(entries, tz), request.tenant)
    body = _async_chunks(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime(timezone.now(), tz).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{request.tenant.slug}-{stamp}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response
