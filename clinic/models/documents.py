"""Documents kept on a patient's record: scans, PDFs, card photos, and what they say."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models import Q
from django.urls import reverse

CONTENT_TYPES = [
    ("application/pdf", "PDF"),
    ("image/png", "PNG image"),
    ("image/jpeg", "JPEG image"),
    ("image/tiff", "TIFF image"),
]


class Document(models.Model):
    """One uploaded file of a patient's (lab result, insurance card...) and its text."""

    class Kind(models.TextChoices):
        LAB_RESULT = "lab_result", "Lab result"
        INSURANCE_CARD = "insurance_card", "Insurance card"
        REFERRAL = "referral", "Referral"
        CONSENT_FORM = "consent_form", "Consent form"
        IDENTITY = "identity", "Identity document"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        NEEDS_REVIEW = "needs_review", "Needs review"
        FAILED = "failed", "Failed"

    patient = models.ForeignKey(
        "clinic.Patient", on_delete=models.PROTECT, related_name="documents"
    )
    appointment = models.ForeignKey(
        "clinic.Appointment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="documents",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The file's name in the "documents" storage (per clinic: see
    # clinic.document_storage); never a path the uploader chose.
    file_name = models.CharField(max_length=255, unique=True)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=40, choices=CONTENT_TYPES)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    pages = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(
        max_length=14, choices=Status.choices, default=Status.UPLOADED
    )
    text = models.TextField(blank=True)
    # "text_layer", "ocr" or "text_layer+ocr"; empty until extracted.
    text_method = models.CharField(max_length=20, blank=True)
    # The least sure field's confidence, or the text's mean (0-100, Tesseract's).
    confidence = models.FloatField(null=True, blank=True)
    # {name: {value, confidence, valid, problem}} as extracted.
    fields = models.JSONField(default=dict, blank=True)
    # {name: value} as a member confirmed or corrected them on review.
    confirmed_fields = models.JSONField(default=dict, blank=True)
    review_reasons = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    uploaded_by_label = models.CharField(max_length=120)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["patient", "-created_at"], name="clinic_document_patient_idx"
            ),
            models.Index(fields=["status", "kind"], name="clinic_document_status_idx"),
            # Full-text search of the extracted text, per clinic (its schema).
            GinIndex(
                SearchVector("text", config="simple"), name="clinic_document_text_fts"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(size__gt=0), name="%(app_label)s_%(class)s_size_positive"
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True)
                | Q(confidence__gte=0, confidence__lte=100),
                name="%(app_label)s_%(class)s_confidence_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    content_type__in=[
                        "application/pdf",
                        "image/png",
                        "image/jpeg",
                        "image/tiff",
                    ]
                ),
                name="%(app_label)s_%(class)s_content_type_allowed",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "uploaded",
                        "processing",
                        "processed",
                        "needs_review",
                        "failed",
                    ]
                ),
                name="%(app_label)s_%(class)s_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("document-detail", args=[self.pk])

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def is_settled(self) -> bool:
        return self.status not in (self.Status.UPLOADED, self.Status.PROCESSING)
