"""Workflows and patients."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex, GistIndex, OpClass
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat, Lower
from django.urls import reverse

from portal.validators import validate_e164

LANGUAGE_CHOICES = [
    ("en", "English"),
    ("es", "Spanish"),
    ("zh", "Chinese"),
    ("vi", "Vietnamese"),
    ("tl", "Tagalog"),
    ("ar", "Arabic"),
    ("fr", "French"),
    ("ko", "Korean"),
    ("ru", "Russian"),
    ("pt", "Portuguese"),
    ("ht", "Haitian Creole"),
    ("de", "German"),
    ("pl", "Polish"),
    ("hi", "Hindi"),
]


class Workflow(models.Model):
    """A way the clinic works with patients (e.g. new-patient intake), with its own fields.

    `fields_schema` is a JSON Schema (draft 2020-12) of the extra patient fields.
    """

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    fields_schema = models.JSONField(default=dict, blank=True)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="%(app_label)s_%(class)s_one_default",
                violation_error_message="Only one workflow can be the default.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Patient(models.Model):
    """A person the clinic cares for."""

    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    phone = models.CharField(max_length=20, blank=True, validators=[validate_e164])
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    preferred_language = models.CharField(
        max_length=8, choices=LANGUAGE_CHOICES, default="en"
    )
    sms_consent = models.BooleanField(default=False)
    voice_consent = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    workflow = models.ForeignKey(
        Workflow,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patients",
    )
    fields = models.JSONField(default=dict, blank=True)
    full_name = models.GeneratedField(
        expression=Lower(Concat("first_name", Value(" "), "last_name")),
        output_field=models.CharField(max_length=201),
        db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            # GiST, not GIN: it also serves "nearest names first" (ORDER BY <->)
            # so a search stops after one page instead of ranking every match.
            GistIndex(
                OpClass("full_name", name="gist_trgm_ops"),
                name="clinic_patient_name_trgm",
            ),
            GinIndex(
                OpClass("phone", name="gin_trgm_ops"), name="clinic_patient_phone_trgm"
            ),
            models.Index(fields=["date_of_birth"], name="clinic_patient_dob"),
            models.Index(
                fields=["last_name", "first_name", "id"], name="clinic_patient_sort"
            ),
            models.Index(
                fields=["status", "workflow"], name="clinic_patient_status_wf"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["active", "archived"]),
                name="%(app_label)s_%(class)s_status_valid",
                violation_error_message="A patient is active or archived.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def get_absolute_url(self) -> str:
        return reverse("patient-detail", args=[self.pk])
