"""Clinical notes: what a clinician found and decided at a visit, signed and then kept.

A note belongs to one appointment. While it is a draft its author may change it;
once signed nothing in it changes (the database refuses, see migration 0010's
triggers), and corrections are addenda written beside the original.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


class ClinicalNote(models.Model):
    """The clinician's note of one visit: diagnoses, assessment, plan, prescriptions."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNED = "signed", "Signed"

    appointment = models.OneToOneField(
        "clinic.Appointment", on_delete=models.PROTECT, related_name="clinical_note"
    )
    # The appointment's patient, kept on the note for per-patient lists.
    patient = models.ForeignKey(
        "clinic.Patient", on_delete=models.PROTECT, related_name="clinical_notes"
    )
    status = models.CharField(
        max_length=6, choices=Status.choices, default=Status.DRAFT
    )
    assessment = models.TextField(blank=True, max_length=20000)
    plan = models.TextField(blank=True, max_length=20000)
    # Users live in the public schema: no database constraint (see Provider.membership).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    author_label = models.CharField(max_length=120)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    signed_by_label = models.CharField(max_length=120, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["patient", "-created_at"], name="clinic_note_patient_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status="signed", signed_at__isnull=False, signed_by__isnull=False
                )
                | Q(status="draft", signed_at__isnull=True, signed_by__isnull=True),
                name="clinic_clinicalnote_signed_has_signer",
            ),
        ]

    def __str__(self) -> str:
        return f"Clinical note {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("note-detail", args=[self.pk])

    @property
    def is_signed(self) -> bool:
        return self.status == self.Status.SIGNED


class NoteDiagnosis(models.Model):
    """One ICD-10-CM diagnosis of a note, in the clinician's order."""

    note = models.ForeignKey(
        ClinicalNote, on_delete=models.PROTECT, related_name="diagnoses"
    )
    position = models.PositiveSmallIntegerField()
    # Stored without the dot, as claims carry it (billing.codes.normalize_icd10).
    code = models.CharField(max_length=7)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["note", "position"],
                name="clinic_notediagnosis_one_per_position",
            ),
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$"),
                name="clinic_notediagnosis_icd10_shape",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Prescription(models.Model):
    """A medicine prescribed at the visit."""

    class Route(models.TextChoices):
        ORAL = "oral", "By mouth"
        TOPICAL = "topical", "On the skin"
        INHALED = "inhaled", "Inhaled"
        SUBCUTANEOUS = "subcutaneous", "Subcutaneous injection"
        INTRAMUSCULAR = "intramuscular", "Intramuscular injection"
        INTRAVENOUS = "intravenous", "Intravenous"
        OPHTHALMIC = "ophthalmic", "Eye drops"
        OTIC = "otic", "Ear drops"
        NASAL = "nasal", "Nasal"
        RECTAL = "rectal", "Rectal"
        SUBLINGUAL = "sublingual", "Under the tongue"

    note = models.ForeignKey(
        ClinicalNote, on_delete=models.PROTECT, related_name="prescriptions"
    )
    position = models.PositiveSmallIntegerField()
    drug = models.CharField(max_length=200)
    dose = models.CharField(max_length=60, help_text="e.g. 500 mg")
    route = models.CharField(max_length=14, choices=Route.choices)
    frequency = models.CharField(max_length=60, help_text="e.g. twice a day")
    quantity = models.PositiveIntegerField()
    refills = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0) & Q(refills__lte=11),
                name="clinic_prescription_sane_amounts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drug} {self.dose}"


class NoteAddendum(models.Model):
    """A later word on a signed note; the note itself stays as it was signed."""

    note = models.ForeignKey(
        ClinicalNote, on_delete=models.PROTECT, related_name="addenda"
    )
    text = models.TextField(max_length=10000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    author_label = models.CharField(max_length=120)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Addendum {self.pk} to note {self.note_id}"
