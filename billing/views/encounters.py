"""Coding a visit: the encounter page, opened from a completed appointment."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from billing.actors import membership_of
from billing.codes import PLACES_OF_SERVICE, display_icd10
from billing.forms import CodingForm
from billing.models import Diagnosis, Encounter, FeeScheduleEntry, ServiceLine
from billing.permissions import Perm, role_may
from billing.services import (
    DiagnosisInput,
    LineInput,
    claim_create,
    encounter_code,
    encounter_open,
)
from billing.services.encounters import encounter_is_recodable
from billing.views.helpers import billing_page, perms_of
from clinic.audit import ShownPatient, audit_record_access, audit_record_search
from clinic.models import Appointment
from portal.errors import ApplicationError
from portal.pagination import LookaheadPaginator

DX_ROWS = 12
LINE_ROWS = 8


@billing_page(Perm.CODE_ENCOUNTERS)
def encounter_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    encounters = Encounter.objects.select_related("patient", "provider").order_by(
        "date_of_service", "id"
    )
    if status in Encounter.Status.values:
        encounters = encounters.filter(status=status)
    page = LookaheadPaginator(encounters, 50).page(request.GET.get("page") or 1)
    audit_record_search(
        patients=[ShownPatient(pk) for pk in dict.fromkeys(e.patient_id for e in page)],
        query="",
        via="page",
        filters={"status": status},
        what="Encounters",
    )
    return render(
        request,
        "billing/encounter_list.html",
        {"page": page, "status": status, "statuses": Encounter.Status.choices},
    )


@billing_page(Perm.CODE_ENCOUNTERS)
def visit_code(request: HttpRequest, appointment_pk: int) -> HttpResponse:
    """'Code this visit' from the appointment panel: its encounter's coding page."""
    appointment = get_object_or_404(Appointment, pk=appointment_pk)
    encounter = Encounter.objects.filter(appointment=appointment).first()
    if encounter is None:
        try:
            encounter = encounter_open(appointment=appointment)
        except ApplicationError as exc:
            return render(
                request,
                "billing/problem.html",
                {"message": exc.message, "back": appointment},
                status=exc.status,
            )
    return redirect("billing-encounter", encounter.pk)


def _encounter_or_404(pk: int) -> Encounter:
    return get_object_or_404(
        Encounter.objects.select_related(
            "patient", "provider", "appointment"
        ).prefetch_related(
            Prefetch("diagnoses", queryset=Diagnosis.objects.order_by("position")),
            Prefetch("lines", queryset=ServiceLine.objects.order_by("line_number")),
        ),
        pk=pk,
    )


def _rows_from(encounter: Encounter) -> tuple[list[dict], list[dict]]:
    diagnoses = [
        {"code": display_icd10(d.code), "description": d.description}
        for d in encounter.diagnoses.all()
    ]
    lines = [
        {
            "code": line.code,
            "modifiers": " ".join(line.modifiers),
            "units": line.units,
            "charge": line.charge,
            "pointers": ",".join(map(str, line.diagnosis_pointers)),
            "pos": line.place_of_service,
            "description": line.description,
        }
        for line in encounter.lines.all()
    ]
    return diagnoses, lines


def _rows_posted(data) -> tuple[list[dict], list[dict]]:
    diagnoses = [
        {
            "code": data.get(f"dx_code_{i}", "").strip()[:10],
            "description": data.get(f"dx_desc_{i}", "").strip()[:200],
        }
        for i in range(1, DX_ROWS + 1)
    ]
    lines = [
        {
            key: data.get(f"line_{key}_{i}", "").strip()[:200]
            for key in (
                "code",
                "modifiers",
                "units",
                "charge",
                "pointers",
                "pos",
                "description",
            )
        }
        for i in range(1, LINE_ROWS + 1)
    ]
    return (
        [d for d in diagnoses if d["code"]],
        [line for line in lines if line["code"]],
    )


def _inputs(diagnoses: list[dict], lines: list[dict]) -> tuple[list, list, dict]:
    errors: dict[str, list[str]] = {}
    line_inputs = []
    for index, row in enumerate(lines, start=1):
        try:
            units = int(row["units"] or 1)
            charge = Decimal(row["charge"]) if row["charge"] else None
            pointers = [
                int(p) for p in row["pointers"].replace(" ", "").split(",") if p
            ] or [1]
        except (ValueError, InvalidOperation):
            errors[f"lines.{index}"] = ["Units, charge and pointers must be numbers."]
            continue
        line_inputs.append(
            LineInput(
                code=row["code"],
                modifiers=row["modifiers"].replace(",", " ").split(),
                units=units,
                charge=charge,
                diagnosis_pointers=pointers,
                place_of_service=row["pos"],
                description=row["description"],
            )
        )
    return (
        [DiagnosisInput(d["code"], d["description"]) for d in diagnoses],
        line_inputs,
        errors,
    )


def _page(
    request: HttpRequest,
    encounter: Encounter,
    *,
    form: CodingForm,
    diagnoses: list,
    lines: list,
    errors: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    errors = errors or {}
    dx_rows = [
        {
            **(diagnoses[i] if i < len(diagnoses) else {"code": "", "description": ""}),
            "n": i + 1,
            "errors": errors.get(f"diagnoses.{i + 1}", []),
        }
        for i in range(DX_ROWS)
    ]
    line_rows = [
        {
            **(lines[i] if i < len(lines) else {}),
            "n": i + 1,
            "errors": errors.get(f"lines.{i + 1}", []),
        }
        for i in range(LINE_ROWS)
    ]
    general = [
        m
        for key in ("diagnoses", "lines", "__all__", "place_of_service")
        for m in errors.get(key, [])
    ]
    membership = request.membership
    return render(
        request,
        "billing/encounter_coding.html",
        {
            "encounter": encounter,
            "form": form,
            "dx_rows": dx_rows,
            "line_rows": line_rows,
            "general_errors": general,
            "recodable": encounter_is_recodable(encounter),
            "claims": list(encounter.claims.select_related("payer").order_by("id")),
            "fees": FeeScheduleEntry.objects.filter(is_active=True).order_by("code")[
                :200
            ],
            "can_bill": role_may(membership.role, Perm.EDIT_CLAIMS),
            "perms": perms_of(request),
            "places": sorted(PLACES_OF_SERVICE.items()),
        },
        status=status,
    )


@billing_page(Perm.CODE_ENCOUNTERS)
def encounter_coding(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = _encounter_or_404(pk)
    if request.method != "POST":
        audit_record_access(patient=encounter.patient, via="page")
        diagnoses, lines = _rows_from(encounter)
        form = CodingForm(
            initial={
                "place_of_service": encounter.place_of_service,
                "self_pay": encounter.self_pay,
            }
        )
        return _page(request, encounter, form=form, diagnoses=diagnoses, lines=lines)
    form = CodingForm(request.POST)
    diagnoses, lines = _rows_posted(request.POST)
    if not form.is_valid():
        return _page(
            request, encounter, form=form, diagnoses=diagnoses, lines=lines, status=400
        )
    dx_inputs, line_inputs, errors = _inputs(diagnoses, lines)
    try:
        if errors:
            raise ValidationError(errors)
        encounter_code(
            encounter=encounter,
            actor=membership_of(request),
            diagnoses=dx_inputs,
            lines=line_inputs,
            place_of_service=form.cleaned_data["place_of_service"],
            self_pay=form.cleaned_data["self_pay"],
        )
    except ValidationError as exc:
        return _page(
            request,
            encounter,
            form=form,
            diagnoses=diagnoses,
            lines=lines,
            errors=exc.message_dict,
            status=400,
        )
    except ApplicationError as exc:
        return _page(
            request,
            encounter,
            form=form,
            diagnoses=diagnoses,
            lines=lines,
            errors={"__all__": [exc.message]},
            status=exc.status,
        )
    messages.success(request, "Coding saved.")
    return redirect("billing-encounter", pk)


@require_POST
@billing_page(Perm.EDIT_CLAIMS)
def encounter_bill(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = _encounter_or_404(pk)
    try:
        claim = claim_create(encounter=encounter, actor=membership_of(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("billing-encounter", pk)
    messages.success(request, f"Claim {claim.control_number} built.")
    return redirect(claim)
