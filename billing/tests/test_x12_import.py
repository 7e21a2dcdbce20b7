"""835 import: matching, line-level posting with CAS, status moves, the unmatched
queue, reversals, and the same payment never posted twice."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from billing.models import (
    Claim,
    FollowUp,
    Invoice,
    Remittance,
    RemittanceAdjustment,
    RemittanceClaim,
    RemittanceLine,
)
from billing.services import (
    DiagnosisInput,
    LineInput,
    claim_create,
    claim_mark_ready,
    claim_submit,
    encounter_code,
    encounter_open,
)
from billing.services.remittances import (
    remittance_claim_dismiss,
    remittance_claim_match,
    remittance_import,
)
from billing.tests.support import completed_visit, draft_claim
from portal.errors import ApplicationError

DATA = Path(__file__).parent / "data"
S = Claim.Status


def submitted(setup, team) -> Claim:
    claim = claim_mark_ready(claim=draft_claim(setup, team.billing), actor=team.billing)
    return claim_submit(claim=claim, actor=team.billing)


def sample(name: str, claim: Claim | None = None) -> str:
    """A sample file, pointed at this test's claim (its control and line numbers)."""
    text = (DATA / f"835_{name}.x12").read_text()
    if claim is not None:
        lines = list(claim.lines.order_by("line_number"))
        text = text.replace("C900001", claim.control_number)
        text = text.replace("L900001", f"L{lines[0].pk}").replace(
            "L900002", f"L{lines[1].pk}"
        )
    return text


def posted_paid(claim: Claim) -> Decimal:
    return RemittanceLine.objects.filter(
        remittance_claim__claim=claim,
        remittance_claim__match__in=["posted", "resolved"],
    ).aggregate(total=Sum("paid"))["total"] or Decimal("0")


def test_a_paid_claim_is_posted_line_by_line(setup, team):
    claim = submitted(setup, team)
    result = remittance_import(content=sample("paid", claim), actor=team.billing)
    assert (result.posted, result.unmatched, result.duplicates) == (1, 0, [])
    claim.refresh_from_db()
    assert claim.status == S.PAID and claim.payer_claim_number == "ACME-CLM-0001"
    remittance = result.remittances[0]
    assert (remittance.trace_number, remittance.payment_amount) == (
        "CHK100001",
        Decimal("128.00"),
    )
    assert remittance.payer == setup.payer
    lines = list(
        RemittanceLine.objects.filter(remittance_claim__claim=claim).order_by("id")
    )
    assert [(line.claim_line.line_number, line.paid) for line in lines] == [
        (1, Decimal("96.00")),
        (2, Decimal("32.00")),
    ]
    adjustments = {
        (a.remittance_line.claim_line.line_number, a.group, a.reason, a.amount)
        for a in RemittanceAdjustment.objects.filter(remittance_claim__claim=claim)
    }
    assert adjustments == {
        (1, "CO", "45", Decimal("4.00")),
        (1, "PR", "3", Decimal("20.00")),
        (2, "CO", "45", Decimal("3.50")),
    }
    invoice = Invoice.objects.get(claim=claim)
    assert (invoice.kind, invoice.amount, invoice.patient_id) == (
        "copay",
        Decimal("20.00"),
        setup.patient.pk,
    )
    assert "835 CHK100001: paid 128.00" in claim.events.last().note


def test_importing_the_same_file_twice_posts_nothing_twice(setup, team):
    claim = submitted(setup, team)
    text = sample("paid", claim)
    remittance_import(content=text, actor=team.billing)
    counts = (
        Remittance.objects.count(),
        RemittanceLine.objects.count(),
        Invoice.objects.count(),
        claim.events.count(),
    )
    again = remittance_import(content=text, actor=team.billing)
    assert (
        again.remittances == []
        and again.duplicates == ["CHK100001"]
        and again.posted == 0
    )
    # The same payment in a file written again (another interchange number) is no different.
    rewritten = text.replace("000000101", "000000102")
    assert remittance_import(content=rewritten, actor=team.billing).duplicates == [
        "CHK100001"
    ]
    assert (
        Remittance.objects.count(),
        RemittanceLine.objects.count(),
        Invoice.objects.count(),
        claim.events.count(),
    ) == counts
    assert posted_paid(claim) == Decimal("128.00")


def test_a_line_left_unpaid_makes_the_claim_partially_paid(setup, team):
    claim = submitted(setup, team)
    remittance_import(content=sample("partial", claim), actor=team.billing)
    claim.refresh_from_db()
    assert claim.status == S.PARTIALLY_PAID
    assert posted_paid(claim) == Decimal("96.00")
    assert RemittanceAdjustment.objects.get(
        remittance_claim__claim=claim, reason="50"
    ).amount == Decimal("35.50")
    assert not Invoice.objects.filter(claim=claim).exists()


def test_a_denial_moves_the_claim_and_opens_a_follow_up(setup, team):
    claim = submitted(setup, team)
    remittance_import(content=sample("denied", claim), actor=team.billing)
    claim.refresh_from_db()
    assert claim.status == S.DENIED
    follow_up = FollowUp.objects.get(claim=claim)
    assert follow_up.status == "open" and "CO-50" in follow_up.reason


def test_what_cannot_be_matched_waits_in_the_queue_until_matched_by_hand(setup, team):
    result = remittance_import(content=sample("unmatched"), actor=team.billing)
    assert (result.posted, result.unmatched) == (0, 1)
    row = RemittanceClaim.objects.get(match="unmatched")
    assert row.unmatched_reason == "No claim has this control number."
    assert row.patient_name == "JANE NOBODY" and row.paid == Decimal("64.00")
    assert not RemittanceLine.objects.filter(
        remittance_claim=row, claim_line__isnull=False
    ).exists()

    encounter = encounter_open(
        appointment=completed_visit(setup.patient, setup.provider)
    )
    encounter_code(
        encounter=encounter,
        actor=team.billing,
        diagnoses=[DiagnosisInput("J02.9")],
        lines=[LineInput("99212", charge=Decimal("80"))],
    )
    claim = claim_submit(
        claim=claim_mark_ready(
            claim=claim_create(encounter=encounter, actor=team.billing),
            actor=team.billing,
        ),
        actor=team.billing,
    )
    with pytest.raises(ApplicationError):
        remittance_claim_match(remittance_claim=row, claim=claim, actor=team.front_desk)
    remittance_claim_match(
        remittance_claim=row,
        claim=claim,
        actor=team.billing,
        note="Payer mistyped our number",
    )
    row.refresh_from_db()
    claim.refresh_from_db()
    assert row.match == "resolved" and row.resolved_by == team.billing.user
    assert claim.status == S.PAID and posted_paid(claim) == Decimal("64.00")
    assert RemittanceLine.objects.get(remittance_claim=row).claim_line.code == "99212"
    with pytest.raises(ApplicationError) as refused:
        remittance_claim_dismiss(remittance_claim=row, actor=team.billing, note="late")
    assert refused.value.status == 409


def test_a_queued_payment_can_be_dismissed_with_a_reason(setup, team):
    remittance_import(content=sample("unmatched"), actor=team.billing)
    row = RemittanceClaim.objects.get(match="unmatched")
    with pytest.raises(ValidationError):
        remittance_claim_dismiss(remittance_claim=row, actor=team.billing, note=" ")
    remittance_claim_dismiss(
        remittance_claim=row, actor=team.billing, note="Another practice's"
    )
    row.refresh_from_db()
    assert row.match == "dismissed"


def test_a_payment_for_a_claim_with_another_charge_is_not_posted(setup, team):
    claim = submitted(setup, team)
    text = sample("paid", claim).replace(
        f"CLP*{claim.control_number}*1*155.5", f"CLP*{claim.control_number}*1*150"
    )
    result = remittance_import(content=text, actor=team.billing)
    assert result.unmatched == 1
    assert "differs" in RemittanceClaim.objects.get().unmatched_reason
    claim.refresh_from_db()
    assert claim.status == S.SUBMITTED


def test_a_second_payment_for_an_adjudicated_claim_waits_for_a_person(setup, team):
    claim = submitted(setup, team)
    remittance_import(content=sample("paid", claim), actor=team.billing)
    result = remittance_import(content=sample("partial", claim), actor=team.billing)
    assert result.unmatched == 1
    assert (
        "needs a look by hand"
        in RemittanceClaim.objects.get(match="unmatched").unmatched_reason
    )
    assert posted_paid(claim) == Decimal("128.00")


def test_a_reversal_takes_back_the_payment_and_the_correction_is_posted(setup, team):
    claim = submitted(setup, team)
    remittance_import(content=sample("paid", claim), actor=team.billing)
    result = remittance_import(content=sample("reversal", claim), actor=team.billing)
    assert (result.posted, result.unmatched) == (2, 0)
    claim.refresh_from_db()
    assert claim.status == S.PAID
    assert posted_paid(claim) == Decimal("140.00")  # 128 - 128 + 140
    moves = [(e.from_status, e.to_status) for e in claim.events.order_by("at", "id")][
        -3:
    ]
    assert moves == [("submitted", "paid"), ("paid", "accepted"), ("accepted", "paid")]
    invoices = {(i.amount, i.status) for i in Invoice.objects.filter(claim=claim)}
    assert invoices == {(Decimal("20.00"), "void"), (Decimal("10.00"), "open")}


def test_a_reversal_with_nothing_to_reverse_is_queued(setup, team):
    claim = submitted(setup, team)
    text = sample("reversal", claim)
    result = remittance_import(content=text, actor=team.billing)
    assert (
        result.unmatched == 1 and result.posted == 1
    )  # the reversal waits, the payment posts
    assert (
        "no payment to reverse"
        in RemittanceClaim.objects.get(match="unmatched").unmatched_reason
    )


def test_a_broken_file_is_refused_whole(setup, team):
    claim = submitted(setup, team)
    broken = "\n".join(
        line
        for line in sample("paid", claim).splitlines()
        if not line.startswith("N1*PR")
    )
    with pytest.raises(ValidationError) as refused:
        remittance_import(content=broken, actor=team.billing)
    assert refused.value.message_dict["file"]
    with pytest.raises(ValidationError):
        remittance_import(content="hello", actor=team.billing)
    assert not Remittance.objects.exists()


@pytest.mark.parametrize("role", ["front_desk", "clinician"])
def test_only_billing_staff_import_remittances(setup, team, role):
    with pytest.raises(ApplicationError) as refused:
        remittance_import(content=sample("unmatched"), actor=getattr(team, role))
    assert refused.value.status == 403
