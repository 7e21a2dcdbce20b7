"""Document pages: the patient page's section (list, upload), review, preview, download.

Role rules: clinic.permissions (a kind a member may not see is a 404 to
them). Every page or file that shows a document writes an access entry.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from clinic import permissions as rules
from clinic.audit import audit_record_access
from clinic.document_storage import document_storage
from clinic.extraction.fields import LABELS
from clinic.extraction.run import preview_png
from clinic.models import Appointment, Document, Patient
from clinic.selectors.documents import (
    document_for,
    document_list,
    document_record_access,
    open_review_task,
)
from clinic.services.documents import (
    document_fill_policy,
    document_read,
    document_retry,
    document_review,
    document_upload,
    review_fields,
)
from portal.decorators import staff_required
from portal.errors import ApplicationError
from portal.limits import parse_id


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


@never_cache
@require_GET
@staff_required
def patient_documents(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient page's document rows (fetched again when a status changes)."""
    patient = get_object_or_404(Patient, pk=pk)
    rows = list(document_list(who=request.membership, patient=patient)[:100])
    audit_record_access(patient=patient, via="page: documents list")
    return render(
        request,
        "clinic/_document_rows.html",
        {"documents": rows, "patient": patient},
    )


@never_cache
@require_POST
@staff_required
def patient_document_upload(request: HttpRequest, pk: int) -> JsonResponse:
    """One file from the patient page's drop zone (XHR); answers JSON."""
    patient = get_object_or_404(Patient, pk=pk)
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"errors": {"file": ["Choose a file."]}}, status=400)
    appointment = None
    appointment_id = request.POST.get("appointment", "")
    if appointment_id:
        appointment = Appointment.objects.filter(
            pk=parse_id(appointment_id) or 0, patient=patient
        ).first()
        if appointment is None:
            return JsonResponse(
                {"errors": {"appointment": ["No such appointment of this patient."]}},
                status=400,
            )
    try:
        document = document_upload(
            actor=request.membership,
            patient=patient,
            kind=request.POST.get("kind", ""),
            file=upload,
            original_name=upload.name,
            appointment=appointment,
        )
    except ValidationError as exc:
        return JsonResponse({"errors": _errors(exc)}, status=400)
    except ApplicationError as exc:
        return JsonResponse({"errors": {"file": [exc.message]}}, status=exc.status)
    return JsonResponse(
        {
            "id": document.pk,
            "status": document.status,
            "url": document.get_absolute_url(),
        },
        status=201,
    )


def _review_rows(document: Document) -> list[dict]:
    rows = []
    for name in review_fields(document.kind):
        found = document.fields.get(name) or {}
        value = document.confirmed_fields.get(name, found.get("value", ""))
        if isinstance(value, list):
            value = "\n".join(value)
        rows.append(
            {
                "name": name,
                "label": LABELS.get(name, name),
                "value": value,
                "extracted": found.get("value", ""),
                "confidence": found.get("confidence"),
                "valid": found.get("valid", False),
                "problem": found.get("problem", ""),
                "multiline": name == "test_names",
            }
        )
    return rows


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The review page: the fields beside the page images; confirm or correct."""
    document = document_for(who=request.membership, pk=pk)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = {
            name: request.POST.get(name, "") for name in review_fields(document.kind)
        }
        try:
            document_review(actor=request.membership, document=document, values=values)
        except ValidationError as exc:
            errors, status = _errors(exc), 400
        except ApplicationError as exc:
            return HttpResponse(exc.message, status=exc.status)
        else:
            messages.success(request, "Fields confirmed.")
            return redirect(document)
    document_record_access(document=document, what="review page", via="page")
    context = {
        "document": document,
        "patient": document.patient,
        "rows": _review_rows(document),
        "errors": errors,
        "pages": range(min(document.pages, 10)),
        "task": open_review_task(document),
        "may_review": rules.may_review_document(request.membership, document.kind),
        "payers": _payers_for(request, document),
    }
    return render(request, "clinic/document_detail.html", context, status=status)


def _payers_for(request: HttpRequest, document: Document):
    from billing.models import Payer
    from billing.permissions import Perm, role_may

    if document.kind != Document.Kind.INSURANCE_CARD or not document.confirmed_fields:
        return None
    if not role_may(request.membership.role, Perm.MANAGE_POLICIES):
        return None
    return Payer.objects.order_by("name")


@never_cache
@require_GET
@staff_required
def document_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """One page of the document as a PNG (TIFF and PDF pages rendered), audited."""
    document = document_for(who=request.membership, pk=pk)
    page = parse_id(request.GET.get("page", "1")) or 1
    if page > document.pages:
        return HttpResponse("No such page.", status=404)
    png = preview_png(
        document_read(document),
        content_type=document.content_type,
        page=page - 1,
        max_pixels=settings.DOCUMENT_MAX_PIXELS,
    )
    document_record_access(document=document, what=f"preview page {page}", via="page")
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@require_GET
@staff_required
def document_download(request: HttpRequest, pk: int) -> FileResponse:
    document = document_for(who=request.membership, pk=pk)
    document_record_access(document=document, what="download", via="page")
    response = FileResponse(
        document_storage().open(document.file_name, "rb"),
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@require_POST
@staff_required
def document_policy(request: HttpRequest, pk: int) -> HttpResponse:
    """Fill the patient's policy from the confirmed card (billing's policy service)."""
    from billing.models import Payer

    document = document_for(who=request.membership, pk=pk)
    payer = Payer.objects.filter(pk=parse_id(request.POST.get("payer")) or 0).first()
    if payer is None:
        messages.error(request, "Choose the payer.")
        return redirect(document)
    try:
        effective = date.fromisoformat(request.POST.get("effective_from") or "")
    except ValueError:
        effective = None
    try:
        document_fill_policy(
            actor=request.membership,
            document=document,
            payer=payer,
            effective_from=effective,
        )
    except ValidationError as exc:
        for problems in _errors(exc).values():
            for problem in problems:
                messages.error(request, problem)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The patient's policy now has the card's member id.")
    return redirect(document)


@never_cache
@require_POST
@staff_required
def document_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    document = document_for(who=request.membership, pk=pk)
    try:
        document_retry(actor=request.membership, document=document)
    except ValidationError as exc:
        messages.error(request, " ".join(_errors(exc).get("status", [])))
    return redirect(document)
