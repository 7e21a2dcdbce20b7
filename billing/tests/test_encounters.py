"""Encounters: opened by a completed visit, coded with checked codes, kept sane by the DB."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.models import Claim, ClaimLine, Encounter, ServiceLine
from billing.services import (
    DiagnosisInput,
    LineInput,
    claim_create,
    claim_mark_ready,
    encounter_code,
    encounter_open,
)
from billing.tests.support import NY, coded_encounter, completed_visit, draft_claim
from clinic.models import Appointment
from clinic.services import appointment_complete
from clinic.tests.factories import member
from portal.errors import ApplicationError

DX = [DiagnosisInput("J02.9"), DiagnosisInput("R50.9")]


def test_completing_a_visit_opens_its_encounter_in_the_same_transaction(setup, team):
    visit = completed_visit(setup.patient, setup.provider)
    Appointment.objects.filter(pk=visit.pk).update(status=Appointment.Status.CHECKED_IN)
    visit.refresh_from_db()
    appointment_complete(appointment=visit, actor=member(team.clinician.user))
    encounter = Encounter.objects.get(appointment=visit)
    assert encounter.status == Encounter.Status.OPEN
    assert (
        encounter.patient_id == setup.patient.pk
        and encounter.provider_id == setup.provider.pk
    )
    assert encounter.date_of_service == visit.start.astimezone(NY).date()
    visit.refresh_from_db()
    assert encounter_open(appointment=visit) == encounter  # once only


def test_an_unfinished_visit_opens_no_encounter(setup):
    visit = completed_visit(setup.patient, setup.provider)
    Appointment.objects.filter(pk=visit.pk).update(status=Appointment.Status.SCHEDULED)
    visit.refresh_from_db()
    with pytest.raises(ApplicationError):
        encounter_open(appointment=visit)


def test_the_fee_schedule_fills_charges_and_codes_are_normalised(setup, team):
    encounter = encounter_open(
        appointment=completed_visit(setup.patient, setup.provider)
    )
    encounter_code(
        encounter=encounter,
        actor=team.clinician,
        diagnoses=[DiagnosisInput("j02.9"), DiagnosisInput("E11.65")],
        lines=[
            LineInput("99213", units=1, diagnosis_pointers=[1, 2]),
            LineInput("87880", units=2, diagnosis_pointers=[1]),
            LineInput("J3420", charge=Decimal("12.345"), modifiers=["jw"]),
        ],
    )
    lines = list(encounter.lines.order_by("line_number"))
    assert [line.charge for line in lines] == [
        Decimal("120.00"),
        Decimal("71.00"),
        Decimal("12.35"),
    ]
    assert lines[2].modifiers == ["JW"]
    assert [d.code for d in encounter.diagnoses.order_by("position")] == [
        "J029",
        "E1165",
    ]
    encounter.refresh_from_db()
    assert (
        encounter.status == Encounter.Status.CODED
        and encounter.coded_by == team.clinician.user
    )


@pytest.mark.parametrize(
    ("diagnoses", "line", "key"),
    [
        ([DiagnosisInput("J2.9")], LineInput("99213"), "diagnoses.1"),
        ([DiagnosisInput("123.4")], LineInput("99213"), "diagnoses.1"),
        (
            [DiagnosisInput("J02.9"), DiagnosisInput("J029")],
            LineInput("99213"),
            "diagnoses.2",
        ),
        ([], LineInput("99213"), "diagnoses"),
        (DX, LineInput("9921"), "lines.1"),
        (DX, LineInput("99213", modifiers=["25", "59", "LT", "RT", "76"]), "lines.1"),
        (DX, LineInput("99213", modifiers=["2"]), "lines.1"),
        (DX, LineInput("99213", units=0), "lines.1"),
        (DX, LineInput("99213", diagnosis_pointers=[3]), "lines.1"),
        (DX, LineInput("99213", diagnosis_pointers=[1, 1]), "lines.1"),
        (DX, LineInput("99213", diagnosis_pointers=[]), "lines.1"),
        (DX, LineInput("99214"), "lines.1"),  # no fee and no charge
        (DX, LineInput("99213", charge=Decimal("-1")), "lines.1"),
        (DX, LineInput("99213", place_of_service="1"), "lines.1"),
    ],
)
def test_bad_coding_is_refused_field_by_field(setup, team, diagnoses, line, key):
    encounter = encounter_open(
        appointment=completed_visit(setup.patient, setup.provider)
    )
    with pytest.raises(ValidationError) as refused:
        encounter_code(
            encounter=encounter, actor=team.clinician, diagnoses=diagnoses, lines=[line]
        )
    assert key in refused.value.message_dict
    assert not encounter.lines.exists() and not encounter.diagnoses.exists()


def test_front_desk_does_not_code(setup, team):
    encounter = encounter_open(
        appointment=completed_visit(setup.patient, setup.provider)
    )
    with pytest.raises(ApplicationError) as refused:
        encounter_code(
            encounter=encounter,
            actor=team.front_desk,
            diagnoses=DX,
            lines=[LineInput("99213")],
        )
    assert refused.value.status == 403


def test_recoding_updates_a_draft_claim_but_not_one_that_is_ready(setup, team):
    claim = draft_claim(setup, team.billing)
    encounter = claim.encounter
    encounter_code(
        encounter=encounter,
        actor=team.billing,
        diagnoses=DX,
        lines=[LineInput("99213", units=2)],
    )
    claim.refresh_from_db()
    assert claim.total_charge == Decimal("240.00")
    assert list(claim.lines.values_list("code", flat=True)) == ["99213"]
    claim_mark_ready(claim=claim, actor=team.billing)
    with pytest.raises(ApplicationError) as refused:
        encounter_code(
            encounter=encounter,
            actor=team.billing,
            diagnoses=DX,
            lines=[LineInput("87880")],
        )
    assert refused.value.status == 409


def test_a_second_claim_for_the_same_visit_and_payer_is_refused(setup, team):
    claim = draft_claim(setup, team.billing)
    with pytest.raises(ApplicationError) as refused:
        claim_create(encounter=claim.encounter, actor=team.billing)
    assert refused.value.status == 409


def _insert_fails(**changes) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceLine.objects.filter(pk=changes.pop("pk")).update(**changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"charge": Decimal("-0.01")},
        {"units": 0},
        {"units": 1000},
        {"modifiers": ["25", "59", "LT", "RT", "76"]},
        {"diagnosis_pointers": [13]},
        {"diagnosis_pointers": []},
        {"code": "ABCDE"},
    ],
)
def test_the_database_keeps_service_lines_sane(setup, team, changes):
    encounter = coded_encounter(setup, team.billing)
    _insert_fails(pk=encounter.lines.first().pk, **changes)


def test_the_database_checks_a_claims_total_against_its_lines(setup, team):
    claim = draft_claim(setup, team.billing)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClaimLine.objects.filter(claim=claim, line_number=1).update(
            charge=Decimal("1.00")
        )
        connection.check_constraints()  # what COMMIT does
    with pytest.raises(IntegrityError), transaction.atomic():
        Claim.objects.filter(pk=claim.pk).update(total_charge=Decimal("0.01"))
        connection.check_constraints()


def test_money_is_never_a_float(setup):
    from billing.money import money

    with pytest.raises(TypeError):
        money(0.1)
    assert money("0.105") == Decimal("0.11")


def test_a_future_date_of_service_is_not_ready(setup, team):
    claim = draft_claim(
        setup, team.billing, day=timezone.localdate(timezone=NY) + timedelta(days=2)
    )
    with pytest.raises(ValidationError) as refused:
        claim_mark_ready(claim=claim, actor=team.billing)
    assert "date_of_service" in refused.value.message_dict
