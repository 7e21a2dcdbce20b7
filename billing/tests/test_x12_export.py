"""837P export: pyx12 finds no error, and every segment says what it should."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing.models import BillingSettings, Claim, Policy
from billing.services import (
    claim_create_secondary,
    claim_mark_ready,
    claim_resubmit,
    policy_create,
)
from billing.services.export import claims_export_837
from billing.tests.support import OTHER_NPI, VALID_NPI, draft_claim, past_day
from billing.x12.validate import own_checks, pyx12_errors, segments_of
from clinic.models import Patient
from portal.errors import ApplicationError

S = Claim.Status


def ready_claim(setup, team, **kwargs) -> Claim:
    claim = draft_claim(setup, team.billing, **kwargs)
    return claim_mark_ready(claim=claim, actor=team.billing)


def by_id(text: str, segment_id: str) -> list[list[str]]:
    return [s for s in segments_of(text) if s[0] == segment_id]


def test_a_batch_passes_pyx12_and_says_what_it_should_segment_by_segment(setup, team):
    child = Patient.objects.create(
        first_name="Tom",
        last_name="Lovelace",
        date_of_birth=date(2015, 5, 5),
        sex="male",
        address="12 Elm St\nSpringfield, IL 62701",
    )
    policy_create(
        patient=child,
        actor=team.billing,
        payer=setup.payer,
        member_id="KID000111",
        relationship=Policy.Relationship.CHILD,
        subscriber_first_name="Ada",
        subscriber_last_name="Lovelace",
        subscriber_date_of_birth=date(1990, 12, 10),
        subscriber_sex="F",
        effective_from=date(2020, 1, 1),
    )
    first = ready_claim(setup, team)
    second = ready_claim(setup, team, patient=child)
    batch = claims_export_837(claims=[first, second], actor=team.billing)
    text = batch.content

    assert pyx12_errors(text) == []
    assert own_checks(text) == []

    isa = segments_of(text)[0]
    assert isa[0] == "ISA" and len("*".join(isa)) == 105  # fixed width
    assert isa[6].strip() == "ALPHA01" and isa[8].strip() == "CLEARHOUSE"
    assert isa[12] == "00501" and isa[15] == "T" and isa[16] == ":"
    assert int(isa[13]) == batch.control_number
    gs, ge, iea = by_id(text, "GS")[0], by_id(text, "GE")[0], by_id(text, "IEA")[0]
    assert (
        gs[1] == "HC" and gs[8] == "005010X222A1" and int(gs[6]) == batch.control_number
    )
    assert ge == ["GE", "1", gs[6]] and iea == ["IEA", "1", isa[13]]
    st, se = by_id(text, "ST")[0], by_id(text, "SE")[0]
    assert st == ["ST", "837", "0001", "005010X222A1"] and se[2] == "0001"
    body = segments_of(text)
    assert int(se[1]) == body.index(se) - body.index(st) + 1

    assert by_id(text, "NM1")[2][:3] == ["NM1", "85", "2"]
    billing_provider = next(s for s in by_id(text, "NM1") if s[1] == "85")
    assert billing_provider[8:] == ["XX", VALID_NPI]
    assert ["REF", "EI", "123456789"] in by_id(text, "REF")
    rendering = [s for s in by_id(text, "NM1") if s[1] == "82"]
    assert [r[8:] for r in rendering] == [["XX", OTHER_NPI]] * 2

    clms = by_id(text, "CLM")
    assert [c[1] for c in clms] == [first.control_number, second.control_number]
    for clm, claim in zip(clms, (first, second), strict=True):
        assert Decimal(clm[2]) == claim.total_charge == Decimal("155.50")
        assert clm[5] == "11:B:1"
    assert by_id(text, "HI")[0] == ["HI", "ABK:J029", "ABF:R509"]
    sv1 = by_id(text, "SV1")
    assert sv1[0][1:5] == ["HC:99213:25", "120", "UN", "1"] and sv1[0][7] == "1:2"
    assert sv1[1][1:3] == ["HC:87880", "35.5"]
    # Ada is her own subscriber; Tom is a child of the subscriber: a 2000C loop.
    hls = by_id(text, "HL")
    assert [h[3] for h in hls] == ["20", "22", "22", "23"]
    assert hls[2][4] == "1" and hls[3][2] == hls[2][1]
    assert ["PAT", "19"] in by_id(text, "PAT")
    sbrs = by_id(text, "SBR")
    assert sbrs[0][1:4] == ["P", "18", "G-100"] and sbrs[1][2] == ""
    subscribers = [s for s in by_id(text, "NM1") if s[1] == "IL"]
    assert subscribers[0][8:] == ["MI", "XQZ123456789"]

    for claim in (first, second):
        claim.refresh_from_db()
        assert claim.status == S.SUBMITTED and claim.batch_id == batch.pk
        assert claim.events.last().to_status == S.SUBMITTED


def test_control_numbers_go_up_batch_after_batch(setup, team):
    one = claims_export_837(claims=[ready_claim(setup, team)], actor=team.billing)
    two = claims_export_837(claims=[ready_claim(setup, team)], actor=team.billing)
    assert two.control_number == one.control_number + 1
    assert BillingSettings.objects.get().last_control_number == two.control_number


def test_a_claim_that_is_not_ready_stops_the_whole_batch(setup, team):
    ready = ready_claim(setup, team)
    draft = draft_claim(setup, team.billing)
    with pytest.raises(ApplicationError) as refused:
        claims_export_837(claims=[ready, draft], actor=team.billing)
    assert refused.value.status == 409
    assert refused.value.extra["not_ready"] == [draft.control_number]
    ready.refresh_from_db()
    assert ready.status == S.READY and ready.batch_id is None


def test_front_desk_cannot_export(setup, team):
    with pytest.raises(ApplicationError) as refused:
        claims_export_837(claims=[ready_claim(setup, team)], actor=team.front_desk)
    assert refused.value.status == 403


def test_a_corrected_claim_carries_frequency_7_and_the_payers_number(setup, team):
    claim = ready_claim(setup, team)
    claims_export_837(claims=[claim], actor=team.billing)
    Claim.objects.filter(pk=claim.pk).update(
        status=S.PAID, payer_claim_number="PAYER-123"
    )
    claim_resubmit(claim=claim, actor=team.billing, note="Modifier fixed")
    replacement = claim_mark_ready(claim=claim.replacements.get(), actor=team.billing)
    text = claims_export_837(claims=[replacement], actor=team.billing).content
    assert pyx12_errors(text) == [] and own_checks(text) == []
    assert by_id(text, "CLM")[0][5] == "11:B:7"
    assert ["REF", "F8", "PAYER-123"] in by_id(text, "REF")


def test_a_secondary_claim_reports_the_primary_payers_decision(setup, team):
    policy_create(
        patient=setup.patient,
        actor=team.billing,
        payer=setup.second_payer,
        member_id="SEC55555",
        priority=Policy.Priority.SECONDARY,
        effective_from=date(2020, 1, 1),
    )
    primary = ready_claim(setup, team)
    claims_export_837(claims=[primary], actor=team.billing)
    Claim.objects.filter(pk=primary.pk).update(status=S.PARTIALLY_PAID)
    secondary = claim_mark_ready(
        claim=claim_create_secondary(claim=primary, actor=team.billing),
        actor=team.billing,
    )
    assert secondary.payer_id == setup.second_payer.pk and secondary.payer_order == "S"
    text = claims_export_837(claims=[secondary], actor=team.billing).content
    assert pyx12_errors(text) == [] and own_checks(text) == []
    sbrs = by_id(text, "SBR")
    assert [s[1] for s in sbrs] == ["S", "P"]
    assert ["AMT", "D", "0"] in by_id(text, "AMT")
    payers = [s[9] for s in by_id(text, "NM1") if s[1] == "PR"]
    assert payers == ["SECMUT", "ACME1"]


def test_our_checks_catch_what_pyx12_does_not(setup, team):
    text = claims_export_837(
        claims=[ready_claim(setup, team)], actor=team.billing
    ).content
    wrong_total = text.replace("*155.5***11:B:1", "*155.6***11:B:1")
    assert pyx12_errors(wrong_total) == []  # pyx12 does not add up money
    assert any("not the sum of its lines" in p for p in own_checks(wrong_total))
    wrong_npi = text.replace(f"XX*{VALID_NPI}", "XX*1234567890")
    assert pyx12_errors(wrong_npi) == []  # nor check NPIs
    assert any("NPI 1234567890" in p for p in own_checks(wrong_npi))


def test_pyx12_catches_a_broken_file(setup, team):
    text = claims_export_837(
        claims=[ready_claim(setup, team)], actor=team.billing
    ).content
    broken = "\n".join(
        line for line in text.splitlines() if not line.startswith("NM1*PR")
    )
    assert pyx12_errors(broken)


def test_a_claim_failing_its_checks_is_not_exported(setup, team):
    claim = ready_claim(setup, team)
    Patient.objects.filter(pk=setup.patient.pk).update(address="somewhere")
    with pytest.raises(ValidationError) as refused:
        claims_export_837(claims=[claim], actor=team.billing)
    assert claim.control_number in refused.value.message_dict["claims"][0]
    claim.refresh_from_db()
    assert claim.status == S.READY


def test_encounters_of_one_patient_can_be_many(setup, team):
    claims = [ready_claim(setup, team, day=past_day(d)) for d in (6, 7, 8)]
    text = claims_export_837(claims=claims, actor=team.billing).content
    assert pyx12_errors(text) == []
    assert len(by_id(text, "CLM")) == 3


def test_a_large_batch_is_checked_by_pyx12_on_every_claim_shape(
    setup, team, monkeypatch
):
    from billing.services import export

    monkeypatch.setattr(export, "FULL_PYX12_MAX", 1)
    monkeypatch.setattr(export, "SAMPLE_SIZE", 1)
    claims = [ready_claim(setup, team) for _ in range(3)]
    batch = claims_export_837(claims=claims, actor=team.billing)
    assert (
        batch.validation.startswith("pyx12: ")
        and "every claim shape" in batch.validation
    )
    assert pyx12_errors(batch.content) == [] and own_checks(batch.content) == []
