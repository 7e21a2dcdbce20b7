"""Writes of documents: upload, extraction, review, and filling a policy from a card.

Role rules come from clinic.permissions. A refused upload stores nothing:
the file is checked (size, type by content, pixel count, pages) before it is
written, and a file whose row is not written is removed again.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, timedelta
from typing import IO, Any
from uuid import uuid4

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from calls.actors import SystemActor, acting_as, actor_label, actor_user
from clinic import permissions as rules
from clinic.document_storage import document_storage
from clinic.extraction import RefusedFile, extract, inspect_file
from clinic.extraction.detect import EXTENSIONS
from clinic.extraction.fields import (
    GROUP_RE,
    INSURANCE_FIELDS,
    LAB_FIELDS,
    MEMBER_ID_RE,
    parse_date,
)
from clinic.models import Appointment, Document, NotificationKind, Patient, Task
from clinic.services.notifications import members_with_roles, notification_send
from clinic.services.tasks import task_create, task_move
from portal.errors import ApplicationError
from portal.live import publish
from portal.models import Membership

logger = logging.getLogger(__name__)

EXTRACTION = SystemActor("document extraction")
# A document left "processing" this long (its worker died) may be claimed again.
STALE_PROCESSING = timedelta(minutes=10)


def review_source_key(document: Document | int) -> str:
    return f"document:{getattr(document, 'pk', document)}"


def _publish(document: Document) -> None:
    # Ids and status only: pages fetch what they show, with their own checks.
    publish("document", {"id": document.pk, "status": document.status})


def _enqueue(document_id: int) -> None:
    from clinic.tasks import document_extract

    document_extract.delay(document_id)


# --- Upload --------------------------------------------------------------------------


def _sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def document_upload(
    *,
    actor: Membership,
    patient: Patient,
    kind: str,
    file: IO[bytes],
    original_name: str = "",
    appointment: Appointment | None = None,
) -> Document:
    """Keep an uploaded file on the patient's record and queue its extraction."""
    if kind not in Document.Kind.values:
        raise ValidationError(
            {"kind": [f"Choose one of: {', '.join(Document.Kind.values)}."]}
        )
    rules.require_document_kind(actor, kind)
    if appointment is not None and appointment.patient_id != patient.pk:
        raise ValidationError(
            {"appointment": ["This appointment is another patient's."]}
        )
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, 2)
        size = file.tell()
    if size > settings.DOCUMENT_MAX_BYTES:
        raise ApplicationError(
            f"The file is larger than {settings.DOCUMENT_MAX_BYTES:,} bytes.",
            status=413,
            extra={"file": ["The file is too large."]},
        )
    if size == 0:
        raise ValidationError({"file": ["The file is empty."]})
    try:
        found = inspect_file(
            file,
            max_pixels=settings.DOCUMENT_MAX_PIXELS,
            max_pages=settings.DOCUMENT_MAX_PAGES,
        )
    except RefusedFile as exc:
        raise ValidationError({"file": [exc.message]}, code=exc.code) from exc
    digest = _sha256(file)
    now = timezone.now()
    name = f"documents/{now:%Y/%m}/{uuid4().hex}.{EXTENSIONS[found.content_type]}"
    storage = document_storage()
    stored = storage.save(name, File(file, name=name))
    try:
        with transaction.atomic(), acting_as(actor):
            document = Document.objects.create(
                patient=patient,
                appointment=appointment,
                kind=kind,
                file_name=stored,
                original_name=(original_name or getattr(file, "name", "") or "upload")[
                    -255:
                ],
                content_type=found.content_type,
                size=size,
                sha256=digest,
                pages=found.pages,
                uploaded_by=actor_user(actor),
                uploaded_by_label=actor_label(actor)[:120],
            )
            _publish(document)
            transaction.on_commit(lambda: _enqueue(document.pk))
    except BaseException:
        # The row was not written: the file must not stay behind.
        storage.delete(stored)
        raise
    return document


def document_read(document: Document) -> bytes:
    with document_storage().open(document.file_name, "rb") as handle:
        return handle.read()


# --- Extraction ------------------------------------------------------------------------


def _claim(document_id: int) -> Document | None:
    with transaction.atomic():
        row = Document.objects.select_for_update().filter(pk=document_id).first()
        if row is None:
            return None
        stale = timezone.now() - STALE_PROCESSING
        claimable = row.status == Document.Status.UPLOADED or (
            row.status == Document.Status.PROCESSING and row.updated_at < stale
        )
        if not claimable:
            return None
        row.status = Document.Status.PROCESSING
        row.error = ""
        row.save(update_fields=["status", "error", "updated_at"])
        _publish(row)
        return row


def _payer_names() -> list[str]:
    from billing.models import Payer

    return list(Payer.objects.values_list("name", flat=True)[:500])


def document_extract(*, document_id: int) -> Document | None:
    """Extract the text and fields of an uploaded document (the worker's job)."""
    row = _claim(document_id)
    if row is None:
        return None
    try:
        result = extract(
            document_read(row),
            content_type=row.content_type,
            kind=row.kind,
            today=timezone.localdate(),
            payer_names=_payer_names()
            if row.kind == Document.Kind.INSURANCE_CARD
            else (),
            dpi=settings.DOCUMENT_OCR_DPI,
            max_pixels=settings.DOCUMENT_MAX_PIXELS,
        )
    except Exception as exc:  # noqa: BLE001  any failure is the document's status
        # The class only: messages of PDF and image libraries may quote content.
        logger.warning(
            "document %s: extraction failed (%s)", row.pk, type(exc).__name__
        )
        with transaction.atomic():
            row.status = Document.Status.FAILED
            row.error = f"Extraction failed ({type(exc).__name__})."[:200]
            row.save(update_fields=["status", "error", "updated_at"])
            _publish(row)
        return row
    reasons = result.problems(settings.DOCUMENT_REVIEW_CONFIDENCE)
    with transaction.atomic(), acting_as(EXTRACTION):
        row = Document.objects.select_for_update().get(pk=row.pk)
        row.text = result.text.replace("\x00", "")
        row.text_method = result.method
        row.confidence = result.confidence
        row.fields = result.fields
        row.pages = result.pages
        row.review_reasons = reasons
        row.status = (
            Document.Status.NEEDS_REVIEW if reasons else Document.Status.PROCESSED
        )
        row.processed_at = timezone.now()
        row.save()
        if reasons:
            task_create(
                actor=EXTRACTION,
                title=f"Review {row.get_kind_display().lower()} #{row.pk}",
                description="\n".join(reasons),
                patient=row.patient,
                kind=Task.Kind.DOCUMENT_REVIEW,
                source_key=review_source_key(row),
            )
            notification_send(
                membership_ids=members_with_roles(
                    rules.document_reviewer_roles(row.kind)
                ),
                kind=NotificationKind.DOCUMENT_REVIEW,
                title=f"{row.get_kind_display()} #{row.pk} needs review",
                url=reverse("document-detail", args=[row.pk]),
            )
        _publish(row)
    return row


def document_retry(*, actor: Membership, document: Document) -> Document:
    """Run a failed (or abandoned: its worker died) document's extraction again."""
    rules.require_document_kind(actor, document.kind)
    with transaction.atomic():
        row = Document.objects.select_for_update().get(pk=document.pk)
        abandoned = (
            row.status == Document.Status.PROCESSING
            and row.updated_at < timezone.now() - STALE_PROCESSING
        )
        if row.status != Document.Status.FAILED and not abandoned:
            raise ValidationError(
                {"status": ["Only a failed extraction is run again."]}
            )
        row.status = Document.Status.UPLOADED
        row.save(update_fields=["status", "updated_at"])
        _publish(row)
        transaction.on_commit(lambda: _enqueue(row.pk))
    return row


# --- Review ---------------------------------------------------------------------------


def review_fields(kind: str) -> tuple[str, ...]:
    if kind == Document.Kind.INSURANCE_CARD:
        return INSURANCE_FIELDS
    if kind == Document.Kind.LAB_RESULT:
        return LAB_FIELDS
    return ()


def _clean_review(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name in review_fields(kind):
        value = values.get(name, "")
        if name == "test_names":
            items = value if isinstance(value, list) else str(value).split("\n")
            items = [str(i).strip()[:80] for i in items if str(i).strip()]
            if not items:
                errors[name] = ["Name at least one test."]
            cleaned[name] = items[:50]
            continue
        value = str(value or "").strip()
        if name == "member_id":
            value = value.upper()
            if not MEMBER_ID_RE.match(value):
                errors[name] = ["A member id is 5-25 letters and digits, with a digit."]
        elif name == "group_number":
            value = value.upper()
            if value and not GROUP_RE.match(value):
                errors[name] = ["A group number is 2-20 letters and digits."]
        elif name == "payer_name":
            if not value or len(value) > 120:
                errors[name] = ["Give the payer's name (up to 120 characters)."]
        elif name == "collection_date":
            parsed = parse_date(value)
            if parsed is None or not date(1900, 1, 1) <= parsed <= timezone.localdate():
                errors[name] = [
                    "Give the collection date (YYYY-MM-DD), not in the future."
                ]
            else:
                value = parsed.isoformat()
        cleaned[name] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def document_review(
    *, actor: Membership, document: Document, values: dict[str, Any]
) -> Document:
    """A member confirms or corrects the fields; the review task is closed."""
    if not rules.may_review_document(actor, document.kind):
        raise ApplicationError(rules.DOCUMENT_REFUSED, status=403)
    cleaned = _clean_review(document.kind, values)
    with transaction.atomic(), acting_as(actor):
        row = Document.objects.select_for_update().get(pk=document.pk)
        if not row.is_settled:
            raise ValidationError(
                {"status": ["Wait until the extraction has finished."]}
            )
        row.confirmed_fields = cleaned
        row.reviewed_by = actor.user
        row.reviewed_at = timezone.now()
        row.status = Document.Status.PROCESSED
        row.save(
            update_fields=[
                "confirmed_fields",
                "reviewed_by",
                "reviewed_at",
                "status",
                "updated_at",
            ]
        )
        for task in Task.objects.filter(
            kind=Task.Kind.DOCUMENT_REVIEW,
            source_key=review_source_key(row),
            state__in=Task.OPEN_STATES,
        ):
            task_move(
                actor=actor, task=task, to=Task.State.DONE, note="Fields confirmed."
            )
        _publish(row)
    return row


def document_fill_policy(
    *,
    actor: Membership,
    document: Document,
    payer,
    effective_from: date | None = None,
    priority: str = "primary",
):
    """Put a confirmed card's member id and group on the patient's policy (billing's service)."""
    from billing.models import Policy
    from billing.services.policies import policy_create, policy_update

    rules.require_document_kind(actor, document.kind)
    if document.kind != Document.Kind.INSURANCE_CARD:
        raise ValidationError({"kind": ["Only an insurance card fills a policy."]})
    confirmed = document.confirmed_fields or {}
    if not confirmed.get("member_id"):
        raise ValidationError({"member_id": ["Confirm the card's fields first."]})
    data = {
        "payer": payer,
        "member_id": confirmed["member_id"],
        "group_number": confirmed.get("group_number", ""),
    }
    with transaction.atomic():
        existing = (
            Policy.objects.filter(
                patient=document.patient, priority=priority, is_active=True
            )
            .order_by("-effective_from")
            .first()
        )
        if existing is not None:
            return policy_update(policy=existing, actor=actor, **data)
        return policy_create(
            patient=document.patient,
            actor=actor,
            priority=priority,
            effective_from=effective_from or timezone.localdate(),
            **data,
        )
