"""Encounters: opened by a completed visit, coded by clinicians and coders."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing.actors import Actor, SystemActor, actor_user
from billing.codes import (
    MAX_DIAGNOSES,
    MAX_MODIFIERS,
    MAX_POINTERS,
    normalize_icd10,
    validate_icd10,
    validate_modifier,
    validate_pos,
    validate_procedure,
)
from billing.models import (
    BillingSettings,
    Claim,
    ClaimLine,
    Diagnosis,
    Encounter,
    FeeScheduleEntry,
    ServiceLine,
)
from billing.models.encounters import MAX_UNITS
from billing.money import MAX_AMOUNT, money
from billing.permissions import Perm, require
from clinic.clock import clinic_tz
from clinic.models import Appointment
from portal.errors import ApplicationError

MAX_LINES = 50


@dataclass
class DiagnosisInput:
    code: str
    description: str = ""


@dataclass
class LineInput:
    code: str
    modifiers: list[str] = field(default_factory=list)
    units: int = 1
    charge: Decimal | None = None  # None: the fee schedule's amount x units
    diagnosis_pointers: list[int] = field(default_factory=lambda: [1])
    place_of_service: str = ""
    description: str = ""


def encounter_open(*, appointment: Appointment) -> Encounter:
    """The encounter of a completed visit; opened once, whoever completes it.

    Called from clinic.services.scheduling.appointment_complete, inside its
    transaction: the visit is completed and its encounter exists, or neither.
    """
    if appointment.status != Appointment.Status.COMPLETED:
        raise ApplicationError("Only a completed visit opens an encounter.", status=409)
    existing = Encounter.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing
    billing = BillingSettings.objects.first()
    return Encounter.objects.create(
        appointment=appointment,
        patient_id=appointment.patient_id,
        provider_id=appointment.provider_id,
        date_of_service=appointment.start.astimezone(clinic_tz()).date(),
        place_of_service=billing.default_place_of_service if billing else "11",
    )


def fee_for(code: str, modifiers: list[str]) -> Decimal | None:
    """The fee schedule's amount for one unit (the first modifier's row wins)."""
    rows = {
        (row.modifier or ""): row.amount
        for row in FeeScheduleEntry.objects.filter(code=code, is_active=True)
    }
    for modifier in [*modifiers[:1], ""]:
        if modifier in rows:
            return rows[modifier]
    return None


def _clean_diagnoses(
    diagnoses: list[DiagnosisInput],
) -> tuple[list[DiagnosisInput], dict]:
    errors: dict[str, list[str]] = {}
    cleaned: list[DiagnosisInput] = []
    if not diagnoses:
        errors["diagnoses"] = ["Give at least one diagnosis (ICD-10-CM)."]
    if len(diagnoses) > MAX_DIAGNOSES:
        errors["diagnoses"] = [f"At most {MAX_DIAGNOSES} diagnoses per claim."]
    seen: set[str] = set()
    for index, item in enumerate(diagnoses[:MAX_DIAGNOSES], start=1):
        try:
            validate_icd10(item.code)
        except ValidationError as exc:
            errors[f"diagnoses.{index}"] = exc.messages
            continue
        code = normalize_icd10(item.code)
        if code in seen:
            errors[f"diagnoses.{index}"] = [f"{item.code} is listed twice."]
        seen.add(code)
        cleaned.append(DiagnosisInput(code=code, description=item.description[:200]))
    return cleaned, errors


def _clean_lines(
    lines: list[LineInput], diagnosis_count: int
) -> tuple[list[dict], dict]:
    errors: dict[str, list[str]] = {}
    cleaned: list[dict] = []
    if not lines:
        errors["lines"] = ["Give at least one service line (CPT or HCPCS)."]
    if len(lines) > MAX_LINES:
        errors["lines"] = [f"At most {MAX_LINES} service lines."]
    for index, line in enumerate(lines[:MAX_LINES], start=1):
        problems: list[str] = []
        code = (line.code or "").strip().upper()
        modifiers = [m.strip().upper() for m in line.modifiers if m and m.strip()]
        try:
            validate_procedure(code)
        except ValidationError as exc:
            problems += exc.messages
        if len(modifiers) > MAX_MODIFIERS:
            problems.append(f"At most {MAX_MODIFIERS} modifiers.")
        for modifier in modifiers:
            try:
                validate_modifier(modifier)
            except ValidationError as exc:
                problems += exc.messages
        if not isinstance(line.units, int) or not 1 <= line.units <= MAX_UNITS:
            problems.append(f"Units are a whole number from 1 to {MAX_UNITS}.")
        pointers = list(line.diagnosis_pointers or [])
        if not 1 <= len(pointers) <= MAX_POINTERS:
            problems.append(f"Point at 1 to {MAX_POINTERS} diagnoses.")
        elif len(set(pointers)) != len(pointers) or any(
            not isinstance(p, int) or not 1 <= p <= diagnosis_count for p in pointers
        ):
            problems.append(
                f"Diagnosis pointers are distinct numbers from 1 to {diagnosis_count}."
            )
        if line.place_of_service:
            try:
                validate_pos(line.place_of_service)
            except ValidationError as exc:
                problems += exc.messages
        charge = line.charge
        if charge is None and not problems:
            fee = fee_for(code, modifiers)
            if fee is None:
                problems.append(
                    f"{code} has no fee in the fee schedule: give the charge."
                )
            else:
                charge = money(fee * line.units)
        if charge is not None:
            charge = money(charge)
            if not Decimal("0") <= charge <= MAX_AMOUNT:
                problems.append(f"A charge is from 0.00 to {MAX_AMOUNT}.")
        if problems:
            errors[f"lines.{index}"] = problems
            continue
        cleaned.append(
            {
                "line_number": index,
                "code": code,
                "modifiers": modifiers,
                "units": line.units,
                "charge": charge,
                "diagnosis_pointers": pointers,
                "place_of_service": line.place_of_service or "",
                "description": line.description[:200],
            }
        )
    return cleaned, errors


@transaction.atomic
def encounter_code(
    *,
    encounter: Encounter,
    actor: Actor,
    diagnoses: list[DiagnosisInput],
    lines: list[LineInput],
    place_of_service: str | None = None,
    self_pay: bool | None = None,
) -> Encounter:
    """Set an encounter's diagnoses and service lines (all of them, in order).

    Draft claims of the encounter follow the new coding; claims already sent
    keep what was sent (a correction is a new claim).
    """
    require(actor, Perm.CODE_ENCOUNTERS)
    encounter = Encounter.objects.select_for_update().get(pk=encounter.pk)
    if encounter.status == Encounter.Status.VOID:
        raise ApplicationError(
            "A void encounter cannot be coded.",
            status=409,
            extra={"current_status": encounter.status},
        )
    if not encounter_is_recodable(encounter):
        raise ApplicationError(
            "This visit is on a claim that is ready or sent: correct the claim instead "
            "(a replacement claim carries the new coding).",
            status=409,
            extra={"current_status": encounter.status},
        )
    clean_diagnoses, errors = _clean_diagnoses(diagnoses)
    clean_lines, line_errors = _clean_lines(
        lines, len(clean_diagnoses) or len(diagnoses)
    )
    errors.update(line_errors)
    if place_of_service is not None:
        try:
            validate_pos(place_of_service)
        except ValidationError as exc:
            errors["place_of_service"] = exc.messages
    if errors:
        raise ValidationError(errors)
    drafts = list(
        Claim.objects.select_for_update().filter(
            encounter=encounter, status=Claim.Status.DRAFT
        )
    )
    ClaimLine.objects.filter(claim__in=drafts).delete()
    Diagnosis.objects.filter(encounter=encounter).delete()
    ServiceLine.objects.filter(encounter=encounter).delete()
    Diagnosis.objects.bulk_create(
        Diagnosis(
            encounter=encounter, position=i, code=d.code, description=d.description
        )
        for i, d in enumerate(clean_diagnoses, start=1)
    )
    ServiceLine.objects.bulk_create(
        ServiceLine(encounter=encounter, **row) for row in clean_lines
    )
    if place_of_service is not None:
        encounter.place_of_service = place_of_service
    if self_pay is not None:
        encounter.self_pay = self_pay
    encounter.status = Encounter.Status.CODED
    encounter.coded_at = timezone.now()
    encounter.coded_by = actor_user(actor)
    encounter.save(
        update_fields=[
            "place_of_service",
            "self_pay",
            "status",
            "coded_at",
            "coded_by",
            "updated_at",
        ]
    )
    if drafts:
        from billing.services.claims import claim_lines_rebuild

        for claim in drafts:
            claim_lines_rebuild(claim=claim, encounter=encounter)
    return encounter


def encounter_is_recodable(encounter: Encounter) -> bool:
    """Coding may change until a claim other than a draft or void one carries it."""
    return (
        not Claim.objects.filter(encounter=encounter)
        .exclude(status__in=[Claim.Status.DRAFT, Claim.Status.VOID])
        .exists()
    )


@transaction.atomic
def encounter_void(*, encounter: Encounter, actor: Actor, reason: str) -> Encounter:
    """Nothing is billed for this visit (e.g. a no-charge visit)."""
    require(actor, Perm.EDIT_CLAIMS)
    encounter = Encounter.objects.select_for_update().get(pk=encounter.pk)
    if (
        Claim.objects.filter(encounter=encounter)
        .exclude(status=Claim.Status.VOID)
        .exists()
    ):
        raise ApplicationError(
            "Void this encounter's claims first.",
            status=409,
            extra={"current_status": encounter.status},
        )
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why nothing is billed for this visit."]})
    encounter.status = Encounter.Status.VOID
    encounter.save(update_fields=["status", "updated_at"])
    return encounter


def system_actor_for(appointment: Appointment) -> SystemActor:
    return SystemActor(label=f"visit {appointment.pk} completed")


__all__ = [
    "ClaimLine",
    "DiagnosisInput",
    "LineInput",
    "encounter_code",
    "encounter_is_recodable",
    "encounter_open",
    "encounter_void",
    "fee_for",
]
