"""Reads of documents, always narrowed to the kinds the reader may see."""

from __future__ import annotations

from datetime import datetime

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import QuerySet
from django.http import Http404

from calls.actors import Actor
from clinic import permissions as rules
from clinic.audit import audit_record_access
from clinic.models import Document, Patient


def documents_visible(*, who: Actor) -> QuerySet[Document]:
    """Every document of the clinic this member may see (by kind)."""
    return Document.objects.filter(kind__in=rules.document_kinds_visible(who))


def document_list(
    *,
    who: Actor,
    patient: Patient | int | None = None,
    kind: str = "",
    status: str = "",
    appointment: int | None = None,
    q: str = "",
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[Document]:
    """Documents in newest-first order; `q` searches the extracted text (full text)."""
    rows = documents_visible(who=who).select_related("patient")
    if patient is not None:
        rows = rows.filter(patient=patient)
    if kind:
        rows = rows.filter(kind=kind)
    if status:
        rows = rows.filter(status=status)
    if appointment is not None:
        rows = rows.filter(appointment_id=appointment)
    if created_after is not None:
        rows = rows.filter(created_at__gte=created_after)
    if created_before is not None:
        rows = rows.filter(created_at__lt=created_before)
    q = (q or "").replace("\x00", "").strip()[:200]
    if q:
        # The same expression as the GIN index clinic_document_text_fts.
        rows = rows.annotate(search=SearchVector("text", config="simple")).filter(
            search=SearchQuery(q, config="simple", search_type="websearch")
        )
    return rows.defer("text").order_by("-created_at", "-id")


def document_for(*, who: Actor, pk: int) -> Document:
    """The document with this id that `who` may see; 404 if missing or not theirs."""
    document = (
        documents_visible(who=who)
        .select_related("patient", "appointment")
        .filter(pk=pk)
        .first()
    )
    if document is None:
        raise Http404("No such document.")
    return document


def document_record_access(*, document: Document, what: str, via: str) -> None:
    """Write the access entry for reading a document (view, preview, download, text)."""
    audit_record_access(
        patient=document.patient, via=f"{via}: document {document.pk} {what}"
    )


def open_review_task(document: Document):
    from clinic.models import Task
    from clinic.services.documents import review_source_key

    return (
        Task.objects.filter(
            kind=Task.Kind.DOCUMENT_REVIEW,
            source_key=review_source_key(document),
            state__in=Task.OPEN_STATES,
        )
        .order_by("-id")
        .first()
    )
