"""Patient JSON of the partner API: parsing and shaping only.

The rules (E.164 phone, no future date of birth, a workflow's own fields) live
in clinic.services and come back as field errors through the API's exception
handler.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic.api.fields import SupportedDateField
from clinic.models import LANGUAGE_CHOICES, Patient, Workflow
from clinic.services import PATIENT_FIELDS


def _timestamp(value: datetime | None) -> str | None:
    """ISO 8601 the way DRF writes it: UTC as `Z`."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def patient_to_dict(patient: Patient) -> dict[str, Any]:
    """The API's JSON of a patient, built directly (the list path is hot).

    The workflow must be loaded with the patient (select_related) or already
    attached, or this costs a query per patient.
    """
    workflow = patient.workflow
    dob = patient.date_of_birth
    return {
        "id": patient.pk,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": dob.isoformat() if dob else None,
        "sex": patient.sex,
        "phone": patient.phone,
        "email": patient.email,
        "address": patient.address,
        "preferred_language": patient.preferred_language,
        "sms_consent": patient.sms_consent,
        "voice_consent": patient.voice_consent,
        "status": patient.status,
        "workflow": workflow.slug if workflow is not None else None,
        "fields": patient.fields,
        "created_at": _timestamp(patient.created_at),
        "updated_at": _timestamp(patient.updated_at),
    }


# The columns behind patient_row_to_dict, for `QuerySet.values(*PATIENT_ROW_COLUMNS)`.
PATIENT_ROW_COLUMNS = (
    "id",
    *(name for name in PATIENT_FIELDS if name != "fields"),
    "workflow__slug",
    "fields",
    "created_at",
    "updated_at",
)


def patient_row_to_dict(row: dict[str, Any]) -> dict[str, Any]:
    """The same JSON from a `values(*PATIENT_ROW_COLUMNS)` row.

    Lists read rows, not model instances: building 50 instances costs more
    than the query that fetched them.
    """
    dob = row["date_of_birth"]
    return {
        "id": row["id"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "date_of_birth": dob.isoformat() if dob else None,
        "sex": row["sex"],
        "phone": row["phone"],
        "email": row["email"],
        "address": row["address"],
        "preferred_language": row["preferred_language"],
        "sms_consent": row["sms_consent"],
        "voice_consent": row["voice_consent"],
        "status": row["status"],
        "workflow": row["workflow__slug"],
        "fields": row["fields"],
        "created_at": _timestamp(row["created_at"]),
        "updated_at": _timestamp(row["updated_at"]),
    }


@extend_schema_field(OpenApiTypes.STR)
class WorkflowSlugField(serializers.Field):
    """A workflow by its slug; `context["workflows"]` saves queries."""

    default_error_messages = {
        "invalid": "Expected a workflow slug.",
        "unknown": "No workflow with the slug '{slug}'.",
    }

    def to_internal_value(self, data: object) -> Workflow:
        # PostgreSQL text cannot hold NUL: refuse it before the lookup.
        if not isinstance(data, str) or not data or "\x00" in data:
            self.fail("invalid")
        workflows = self.context.get("workflows")
        if workflows is not None:
            workflow = workflows.get(data)
        else:
            workflow = Workflow.objects.filter(slug=data).first()
        if workflow is None:
            self.fail("unknown", slug=data[:60])
        return workflow

    def to_representation(self, value: Workflow) -> str:
        return value.slug


class PatientSerializer(serializers.Serializer):
    """A patient as partners send and receive it."""

    id = serializers.IntegerField(read_only=True)
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    date_of_birth = SupportedDateField(help_text="YYYY-MM-DD.")
    sex = serializers.ChoiceField(choices=Patient.Sex.choices, required=False)
    phone = serializers.CharField(
        required=False, allow_blank=True, help_text="E.164, e.g. +14155550123."
    )
    email = serializers.EmailField(required=False, allow_blank=True)
    address = serializers.CharField(required=False, allow_blank=True)
    preferred_language = serializers.ChoiceField(
        choices=LANGUAGE_CHOICES, required=False
    )
    sms_consent = serializers.BooleanField(required=False)
    voice_consent = serializers.BooleanField(required=False)
    status = serializers.ChoiceField(choices=Patient.Status.choices, required=False)
    workflow = WorkflowSlugField(
        required=False,
        allow_null=True,
        help_text="The workflow's slug; the clinic's default workflow when left out.",
    )
    fields = serializers.DictField(
        required=False, help_text="Values of the workflow's own fields, by field name."
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: Patient) -> dict[str, Any]:
        return patient_to_dict(instance)


class BulkErrorSerializer(serializers.Serializer):
    """A refused bulk import: nothing was written.

    Invalid rows come as `detail` and `rows`; a body that is not a list of 1 to
    1000 patients as `non_field_errors` (or `detail` when it is not JSON).
    """

    detail = serializers.CharField(required=False)
    rows = serializers.DictField(
        child=serializers.DictField(),
        required=False,
        help_text="Field errors of each invalid row, keyed by its index in the list.",
    )
    non_field_errors = serializers.ListField(
        child=serializers.CharField(), required=False
    )
