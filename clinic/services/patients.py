"""Writes of the clinic schema: workflows and patients.

Each service takes its actor and asks clinic.permissions first.
"""

from __future__ import annotations

from collections.abc import Sized
from datetime import date

from auditlog.context import disable_auditlog
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from clinic.actors import SYSTEM, Actor
from clinic.audit import audit_record_bulk_create
from clinic.clock import clinic_today
from clinic.models import Patient, Workflow
from clinic.permissions import Perm, require
from clinic.workflows import schema_from_fields, validate_fields
from portal.errors import ApplicationError

BULK_LIMIT = 1000
PATIENT_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address",
    "preferred_language",
    "sms_consent",
    "voice_consent",
    "status",
    "fields",
)


# --- Workflows ------------------------------------------------------------------


@transaction.atomic
def workflow_create(
    *,
    name: str,
    fields: list[dict],
    actor: Actor,
    description: str = "",
    slug: str = "",
    is_default: bool = False,
    is_active: bool = True,
) -> Workflow:
    require(actor, Perm.EDIT_WORKFLOWS)
    slug = slug or slugify(name)
    if Workflow.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": [f"A workflow '{slug}' already exists."]})
    workflow = Workflow(
        name=name,
        slug=slug,
        description=description,
        fields_schema=schema_from_fields(fields),
        is_default=is_default,
        is_active=is_active,
    )
    workflow.full_clean()
    workflow.save()
    return workflow


@transaction.atomic
def workflow_update(
    *,
    workflow: Workflow,
    name: str,
    fields: list[dict],
    actor: Actor,
    description: str = "",
    is_active: bool | None = None,
) -> Workflow:
    """Change a workflow's fields (and retire or restore it with `is_active`)."""
    require(actor, Perm.EDIT_WORKFLOWS)
    workflow.name = name
    workflow.description = description
    workflow.fields_schema = schema_from_fields(fields)
    fields_changed = ["name", "description", "fields_schema", "updated_at"]
    if is_active is not None:
        workflow.is_active = is_active
        fields_changed.append("is_active")
    workflow.full_clean()
    workflow.save(update_fields=fields_changed)
    return workflow


@transaction.atomic
def workflow_delete(*, workflow: Workflow, actor: Actor) -> None:
    """Delete a workflow no patient follows; the default one stays."""
    require(actor, Perm.EDIT_WORKFLOWS)
    if workflow.is_default:
        raise ApplicationError("The default workflow cannot be deleted.", status=409)
    workflow.delete()  # PROTECT refuses a workflow that patients follow


def workflow_create_default() -> Workflow:
    """Every new clinic starts with one general workflow with no extra fields."""
    return workflow_create(
        actor=SYSTEM,
        name="General",
        slug="general",
        fields=[],
        description="Patients seen without a specific programme.",
        is_default=True,
    )


# --- Patients --------------------------------------------------------------------


def _check_patient(patient: Patient, *, today: date) -> None:
    """All patient rules, raising errors keyed by field (workflow fields as fields.<name>)."""
    errors: dict[str, list[str]] = {}
    try:
        # The database enforces the check constraints; validating them here would
        # cost a query per patient (and per row of a bulk import).
        patient.full_clean(exclude=["workflow", "fields"], validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if patient.date_of_birth and patient.date_of_birth > today:
        errors.setdefault("date_of_birth", []).append(
            "Date of birth cannot be in the future."
        )
    schema = patient.workflow.fields_schema if patient.workflow else {}
    for name, messages in validate_fields(schema, patient.fields or {}).items():
        key = "fields" if name == "fields" else f"fields.{name}"
        errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def patient_create(
    *, actor: Actor, workflow: Workflow | None = None, **data: object
) -> Patient:
    require(actor, Perm.EDIT_PATIENTS)
    patient = Patient(
        workflow=workflow or Workflow.objects.filter(is_default=True).first()
    )
    for name in PATIENT_FIELDS:
        if name in data:
            setattr(patient, name, data[name])
    _check_patient(patient, today=clinic_today())
    patient.save()
    return patient


@transaction.atomic
def patient_update(
    *, patient: Patient, actor: Actor, workflow: Workflow | None = None, **data: object
) -> Patient:
    require(actor, Perm.EDIT_PATIENTS)
    changed = []
    if workflow is not None and workflow.pk != patient.workflow_id:
        patient.workflow = workflow
        changed.append("workflow")
    for name in PATIENT_FIELDS:
        if name in data and getattr(patient, name) != data[name]:
            setattr(patient, name, data[name])
            changed.append(name)
    _check_patient(patient, today=clinic_today())
    if changed:
        patient.save(update_fields=[*changed, "updated_at"])
    return patient


def patient_archive(*, patient: Patient, actor: Actor) -> Patient:
    return patient_update(patient=patient, actor=actor, status=Patient.Status.ARCHIVED)


def patients_bulk_check_size(rows: Sized) -> None:
    """The bulk import's size rule (1 to BULK_LIMIT rows), with its one message.

    The API asks it before it validates any row, the service again inside.
    """
    if len(rows) > BULK_LIMIT:
        raise ValidationError(
            {
                "non_field_errors": [
                    f"At most {BULK_LIMIT} patients per request; got {len(rows)}."
                ]
            }
        )
    if not rows:
        raise ValidationError({"non_field_errors": ["Send at least one patient."]})


@transaction.atomic
def patients_bulk_create(*, rows: list[dict], actor: Actor) -> list[Patient]:
    """Create up to BULK_LIMIT patients, all or nothing.

    Each row is a dict of patient fields with `workflow` as a Workflow (or
    None for the default). Errors come back keyed by row index.
    """
    require(actor, Perm.IMPORT_PATIENTS)
    patients_bulk_check_size(rows)
    today = clinic_today()
    default = Workflow.objects.filter(is_default=True).first()
    patients: list[Patient] = []
    errors: dict[str, dict] = {}
    for index, row in enumerate(rows):
        patient = Patient(workflow=row.get("workflow") or default)
        for name in PATIENT_FIELDS:
            if name in row:
                setattr(patient, name, row[name])
        try:
            _check_patient(patient, today=today)
        except ValidationError as exc:
            errors[str(index)] = exc.message_dict
        patients.append(patient)
    if errors:
        raise ApplicationError(
            f"{len(errors)} of {len(rows)} rows are invalid; nothing was written.",
            extra={"rows": errors},
        )
    now = timezone.now()
    for patient in patients:
        patient.created_at = patient.updated_at = now
    with disable_auditlog():
        created = Patient.objects.bulk_create(patients, batch_size=500)
    audit_record_bulk_create(patients=created)
    return created
