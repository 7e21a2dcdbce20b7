"""Reads of clinical notes: what anyone may know (that a note exists) and its content.

Lists carry no content for anyone: a note's content is read one note at a time,
by a role allowed to (clinic.permissions), and every such read is audited by
the page or endpoint that shows it.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from clinic.models import ClinicalNote, NoteAddendum, NoteDiagnosis, Prescription

# What front desk and billing may see of a note: that it exists, and its state.
NOTE_META_FIELDS = (
    "id",
    "appointment_id",
    "patient_id",
    "status",
    "author_label",
    "signed_by_label",
    "signed_at",
    "created_at",
    "updated_at",
)


def notes_meta(
    *,
    patient: int | None = None,
    appointment: int | None = None,
    status: str = "",
) -> QuerySet[ClinicalNote]:
    """Notes without their content (`only` the metadata), newest first."""
    qs = ClinicalNote.objects.only(*NOTE_META_FIELDS).select_related(None)
    if patient is not None:
        qs = qs.filter(patient_id=patient)
    if appointment is not None:
        qs = qs.filter(appointment_id=appointment)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def note_meta(*, pk: int) -> ClinicalNote | None:
    """One note with its visit and patient but not its content (deferred, never read)."""
    return (
        ClinicalNote.objects.defer("assessment", "plan")
        .select_related("appointment", "patient")
        .filter(pk=pk)
        .first()
    )


def note_with_content(*, pk: int) -> ClinicalNote | None:
    """One note with diagnoses, prescriptions and addenda (for readers of content)."""
    return (
        ClinicalNote.objects.select_related(
            "patient", "appointment__provider", "appointment__appointment_type"
        )
        .prefetch_related(
            Prefetch("diagnoses", queryset=NoteDiagnosis.objects.order_by("position")),
            Prefetch(
                "prescriptions", queryset=Prescription.objects.order_by("position")
            ),
            Prefetch("addenda", queryset=NoteAddendum.objects.order_by("created_at")),
        )
        .filter(pk=pk)
        .first()
    )
