"""The message log: every text in and out, with filters; and the consent ledger's CSV."""

from __future__ import annotations

import csv
import io

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from calls import selectors
from calls.forms import LogFilterForm
from calls.models import Message
from calls.permissions import can_export_consent
from calls.policy import clinic_zone
from calls.views.common import clinic_time
from clinic.audit import ShownPatient, audit_record_search
from clinic.models import Patient
from portal.decorators import staff_required
from portal.pagination import LookaheadPaginator

PER_PAGE = 50


@never_cache
@staff_required
@clinic_time
def message_log(request: HttpRequest) -> HttpResponse:
    form = LogFilterForm(request.GET or None)
    valid = form.is_valid() if request.GET else True
    data = form.cleaned_data if request.GET and valid else {}
    patient = (
        Patient.objects.filter(pk=data["patient"]).first()
        if data.get("patient")
        else None
    )
    rows = (
        selectors.message_log(
            filters=selectors.LogFilters(
                status=data.get("status", ""),
                direction=data.get("direction", ""),
                purpose=data.get("purpose", ""),
                patient=patient,
                start=data.get("start"),
                end=data.get("end"),
            )
        )
        if valid
        else Message.objects.none()
    )
    if data.get("q"):
        rows = rows.filter(patient__full_name__contains=data["q"].lower())
    page = LookaheadPaginator(rows, PER_PAGE).page(request.GET.get("page"))
    audit_record_search(
        patients=[
            ShownPatient(pk)
            for pk in dict.fromkeys(m.patient_id for m in page if m.patient_id)
        ],
        query=data.get("q", ""),
        via="page",
        what="Message log",
        filters={k: str(v) for k, v in data.items() if v and k != "q"},
    )
    return render(
        request,
        "calls/message_log.html",
        {
            "form": form,
            "page": page,
            "patient": patient,
            "can_export": can_export_consent(request.membership),
        },
    )


@never_cache
@staff_required
def consent_export(request: HttpRequest) -> HttpResponse:
    """The opt-out and opt-in ledger as CSV: the evidence a clinic keeps (admins only)."""
    if not can_export_consent(request.membership):
        raise PermissionDenied("Only the clinic's admins export the consent ledger.")
    rows = list(selectors.consent_ledger())
    audit_record_search(
        patients=[
            ShownPatient(pk)
            for pk in dict.fromkeys(r.patient_id for r in rows if r.patient_id)
        ],
        query="",
        via="page",
        filters={},
        what="Consent ledger export",
    )
    tz = clinic_zone()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "time",
            "number",
            "patient_id",
            "patient",
            "change",
            "keyword",
            "source",
            "message_sid",
            "recorded_by",
        ]
    )
    for event in rows:
        writer.writerow(
            [
                event.at.astimezone(tz).isoformat(),
                event.number,
                event.patient_id or "",
                str(event.patient) if event.patient else "",
                event.get_kind_display(),
                event.keyword,
                event.get_source_display(),
                event.message_sid,
                event.recorded_by,
            ]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime(timezone.now(), tz).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="consent-ledger-{request.tenant.slug}-{stamp}.csv"'
    )
    return response
