"""Writes of clinical notes: drafted, changed while a draft, signed, then only added to.

Role rules are clinic.permissions'. The database backs the one rule that
matters most: a signed note, its diagnoses and prescriptions cannot change or
go (triggers of migration 0010), so neither a bug here nor the admin can
rewrite the record of a visit. Corrections are addenda.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing.codes import MAX_DIAGNOSES, normalize_icd10, validate_icd10
from calls.actors import acting_as, actor_label
from clinic.models import (
    Appointment,
    ClinicalNote,
    NoteAddendum,
    NoteDiagnosis,
    Prescription,
)
from clinic.permissions import require_note_signer, require_note_writer
from portal.errors import ApplicationError
from portal.models import Membership

MAX_PRESCRIPTIONS = 20
PRESCRIPTION_FIELDS = ("drug", "dose", "route", "frequency", "quantity", "refills")
SIGNED_REFUSED = "This note is signed; write an addendum instead."


def _diagnoses(items: Sequence[dict[str, Any]]) -> list[NoteDiagnosis]:
    if len(items) > MAX_DIAGNOSES:
        raise ValidationError(
            {"diagnoses": [f"At most {MAX_DIAGNOSES} diagnoses on a note."]}
        )
    rows, problems, seen = [], [], set()
    for i, item in enumerate(items, start=1):
        raw = str(item.get("code") or "").strip()
        try:
            validate_icd10(raw)
        except ValidationError as exc:
            problems.append(f"Diagnosis {i}: {exc.messages[0]}")
            continue
        code = normalize_icd10(raw)
        if code in seen:
            problems.append(f"Diagnosis {i}: {code} is listed twice.")
            continue
        seen.add(code)
        description = str(item.get("description") or "").strip()
        if len(description) > 200:
            problems.append(
                f"Diagnosis {i}: keep the description under 200 characters."
            )
        rows.append(NoteDiagnosis(position=i, code=code, description=description))
    if problems:
        raise ValidationError({"diagnoses": problems})
    return rows


def _prescriptions(items: Sequence[dict[str, Any]]) -> list[Prescription]:
    if len(items) > MAX_PRESCRIPTIONS:
        raise ValidationError(
            {"prescriptions": [f"At most {MAX_PRESCRIPTIONS} prescriptions on a note."]}
        )
    rows, problems = [], []
    for i, item in enumerate(items, start=1):
        data = {name: item.get(name) for name in PRESCRIPTION_FIELDS}
        for name in ("drug", "dose", "route", "frequency"):
            data[name] = str(data[name] or "").strip()
        if data["refills"] in (None, ""):
            data["refills"] = 0
        row = Prescription(position=i, **data)
        try:
            row.full_clean(exclude=["note"], validate_constraints=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                problems.extend(f"Prescription {i}, {name}: {m}" for m in messages)
            continue
        if not 0 <= row.refills <= 11:
            problems.append(f"Prescription {i}, refills: at most 11 refills.")
        elif row.quantity < 1:
            problems.append(f"Prescription {i}, quantity: at least 1.")
        rows.append(row)
    if problems:
        raise ValidationError({"prescriptions": problems})
    return rows


def _text(value: str, field: str, limit: int = 20000) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        raise ValidationError({field: ["Remove the NUL character."]})
    if len(value) > limit:
        raise ValidationError({field: [f"Keep this under {limit:,} characters."]})
    return value


def _write_parts(note: ClinicalNote, diagnoses, prescriptions) -> None:
    if diagnoses is not None:
        note.diagnoses.all().delete()
        for row in diagnoses:
            row.note = note
        NoteDiagnosis.objects.bulk_create(diagnoses)
    if prescriptions is not None:
        note.prescriptions.all().delete()
        for row in prescriptions:
            row.note = note
        Prescription.objects.bulk_create(prescriptions)


@transaction.atomic
def note_create(
    *,
    actor: Membership,
    appointment: Appointment,
    assessment: str = "",
    plan: str = "",
    diagnoses: Sequence[dict[str, Any]] = (),
    prescriptions: Sequence[dict[str, Any]] = (),
) -> ClinicalNote:
    """Draft the note of a visit (one per visit; a cancelled visit has none)."""
    require_note_writer(actor)
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status == Appointment.Status.CANCELLED:
        raise ValidationError({"appointment": ["A cancelled visit has no note."]})
    if ClinicalNote.objects.filter(appointment=appointment).exists():
        raise ValidationError({"appointment": ["This visit already has a note."]})
    parts = (_diagnoses(diagnoses), _prescriptions(prescriptions))
    note = ClinicalNote(
        appointment=appointment,
        patient_id=appointment.patient_id,
        assessment=_text(assessment, "assessment"),
        plan=_text(plan, "plan"),
        author=actor.user,
        author_label=actor_label(actor)[:120],
    )
    with acting_as(actor):
        note.save()
        _write_parts(note, *parts)
    return note


def _locked_draft(note: ClinicalNote) -> ClinicalNote:
    row = ClinicalNote.objects.select_for_update().get(pk=note.pk)
    if row.is_signed:
        raise ApplicationError(SIGNED_REFUSED, status=409)
    return row


@transaction.atomic
def note_update(
    *,
    actor: Membership,
    note: ClinicalNote,
    assessment: str | None = None,
    plan: str | None = None,
    diagnoses: Sequence[dict[str, Any]] | None = None,
    prescriptions: Sequence[dict[str, Any]] | None = None,
) -> ClinicalNote:
    """Change a draft (what is not given stays); a signed note answers 409."""
    require_note_writer(actor)
    row = _locked_draft(note)
    parts = (
        None if diagnoses is None else _diagnoses(diagnoses),
        None if prescriptions is None else _prescriptions(prescriptions),
    )
    changed = []
    if assessment is not None:
        row.assessment = _text(assessment, "assessment")
        changed.append("assessment")
    if plan is not None:
        row.plan = _text(plan, "plan")
        changed.append("plan")
    with acting_as(actor):
        row.save(update_fields=[*changed, "updated_at"])
        _write_parts(row, *parts)
    return row


@transaction.atomic
def note_sign(
    *, actor: Membership, note: ClinicalNote, now: datetime | None = None
) -> ClinicalNote:
    """Sign a draft: from now on it is the record of the visit and never changes."""
    row = _locked_draft(note)
    provider = row.appointment.provider
    require_note_signer(actor, provider_membership_id=provider.membership_id)
    if not (row.assessment or row.plan or row.diagnoses.exists()):
        raise ValidationError(
            {
                "assessment": [
                    "Write an assessment, a plan or a diagnosis before signing."
                ]
            }
        )
    row.status = ClinicalNote.Status.SIGNED
    row.signed_by = actor.user
    row.signed_by_label = actor_label(actor)[:120]
    row.signed_at = now or timezone.now()
    with acting_as(actor):
        row.save(
            update_fields=[
                "status",
                "signed_by",
                "signed_by_label",
                "signed_at",
                "updated_at",
            ]
        )
    return row


@transaction.atomic
def note_add_addendum(
    *, actor: Membership, note: ClinicalNote, text: str, now: datetime | None = None
) -> NoteAddendum:
    """Add a dated word to a signed note; the note stays exactly as signed."""
    require_note_writer(actor)
    row = ClinicalNote.objects.select_for_update().get(pk=note.pk)
    if not row.is_signed:
        raise ApplicationError("A draft is changed, not added to.", status=409)
    text = _text(text, "text", limit=10000)
    if not text:
        raise ValidationError({"text": ["Write the addendum."]})
    with acting_as(actor):
        return NoteAddendum.objects.create(
            note=row,
            text=text,
            author=actor.user,
            author_label=actor_label(actor)[:120],
            created_at=now or timezone.now(),
        )
