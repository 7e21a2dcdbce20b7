"""The claim state machine: every legal move, every illegal one refused, the timeline."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from billing.actors import SystemActor
from billing.models import Claim, ClaimEvent, FollowUp
from billing.services import (
    MOVE_SERVICES,
    MOVES,
    allowed_moves,
    claim_accept,
    claim_appeal,
    claim_deny,
    claim_mark_ready,
    claim_pay,
    claim_reject,
    claim_reopen,
    claim_resubmit,
    claim_submit,
    claim_void,
)
from billing.tests.support import draft_claim
from portal.errors import ApplicationError

S = Claim.Status
NOTE = {"note": "because"}


def put_in(claim: Claim, status: str) -> Claim:
    """Force a status (the row only) to test the moves out of it."""
    Claim.objects.filter(pk=claim.pk).update(status=status, payer_claim_number="PCN-1")
    claim.refresh_from_db()
    return claim


ILLEGAL = [
    (move, status)
    for move, table in MOVES.items()
    for status in S.values
    if status not in table
]


@pytest.mark.parametrize(("move", "status"), ILLEGAL)
def test_every_illegal_move_is_refused_with_the_current_status(
    setup, team, move, status
):
    claim = put_in(draft_claim(setup, team.billing), status)
    events = ClaimEvent.objects.filter(claim=claim).count()
    with pytest.raises(ApplicationError) as refused:
        MOVE_SERVICES[move](claim=claim, actor=team.billing, **NOTE)
    assert refused.value.status == 409
    assert refused.value.extra["current_status"] == status
    claim.refresh_from_db()
    assert claim.status == status
    assert ClaimEvent.objects.filter(claim=claim).count() == events


def test_the_whole_happy_path_writes_one_event_per_move(setup, team):
    claim = draft_claim(setup, team.billing)
    claim_mark_ready(claim=claim, actor=team.billing)
    claim_submit(claim=claim, actor=team.billing)
    claim_accept(claim=claim, actor=team.billing, payer_claim_number="PAYER-77")
    claim_pay(claim=claim, actor=SystemActor("835 import TRN 1"), note="Paid in full")
    claim.refresh_from_db()
    assert claim.status == S.PAID
    assert claim.payer_claim_number == "PAYER-77"
    events = list(claim.events.order_by("at", "id"))
    assert [(e.from_status, e.to_status) for e in events] == [
        ("", "draft"),
        ("draft", "ready"),
        ("ready", "submitted"),
        ("submitted", "accepted"),
        ("accepted", "paid"),
    ]
    assert events[1].actor == team.billing.user
    assert "Billing" in events[1].actor_name
    assert (
        events[-1].actor is None and events[-1].actor_name == "System: 835 import TRN 1"
    )
    assert events[-1].note == "Paid in full"


def test_ready_requires_a_valid_claim_and_lists_every_problem(setup, team):
    claim = draft_claim(setup, team.billing)
    billing = setup.payer  # noqa: F841
    from billing.models import BillingSettings, ProviderBilling

    BillingSettings.objects.update(npi="1234567890")  # wrong check digit
    ProviderBilling.objects.update(npi="1245319590")
    with pytest.raises(ValidationError) as refused:
        claim_mark_ready(claim=claim, actor=team.billing)
    problems = refused.value.message_dict
    assert "billing_provider_npi" in problems and "rendering_provider_npi" in problems
    assert "check digit" in problems["rendering_provider_npi"][0]
    claim.refresh_from_db()
    assert claim.status == S.DRAFT


def test_a_policy_not_active_on_the_date_of_service_is_refused(setup, team):
    from datetime import timedelta

    claim = draft_claim(setup, team.billing)
    setup.policy.__class__.objects.filter(pk=setup.policy.pk).update(
        effective_from=claim.date_of_service + timedelta(days=1)
    )
    with pytest.raises(ValidationError) as refused:
        claim_mark_ready(claim=claim, actor=team.billing)
    assert "policy" in refused.value.message_dict


def test_a_denial_opens_one_follow_up_closed_by_the_appeal(setup, team):
    claim = put_in(draft_claim(setup, team.billing), S.ACCEPTED)
    claim_deny(claim=claim, actor=team.billing, note="CO-50 not medically necessary")
    follow_up = FollowUp.objects.get(claim=claim)
    assert follow_up.status == FollowUp.Status.OPEN
    assert "not medically necessary" in follow_up.reason
    claim_appeal(claim=claim, actor=team.billing, note="Chart notes attached")
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.DONE
    claim_deny(claim=claim, actor=team.billing, note="Upheld")
    assert FollowUp.objects.filter(claim=claim, status="open").count() == 1


def test_a_rejected_claim_is_fixed_and_sent_again(setup, team):
    claim = draft_claim(setup, team.billing)
    claim_mark_ready(claim=claim, actor=team.billing)
    claim_submit(claim=claim, actor=team.billing)
    with pytest.raises(ValidationError):
        claim_reject(claim=claim, actor=team.billing, note="")
    claim_reject(claim=claim, actor=team.billing, note="Invalid member id")
    claim_reopen(claim=claim, actor=team.billing)
    claim_mark_ready(claim=claim, actor=team.billing)
    claim.refresh_from_db()
    assert claim.status == S.READY


def test_a_correction_is_a_frequency_7_claim_with_the_payers_number(setup, team):
    claim = put_in(draft_claim(setup, team.billing), S.PAID)
    claim_resubmit(claim=claim, actor=team.billing, note="Wrong modifier")
    claim.refresh_from_db()
    assert claim.status == S.RESUBMITTED
    replacement = claim.replacements.get()
    assert replacement.frequency_code == "7"
    assert replacement.payer_claim_number == "PCN-1"
    assert replacement.status == S.DRAFT
    assert replacement.total_charge == claim.total_charge


def test_voiding_a_claim_the_payer_has_sends_a_frequency_8_claim(setup, team):
    claim = put_in(draft_claim(setup, team.billing), S.ACCEPTED)
    claim_void(claim=claim, actor=team.billing, note="Billed the wrong patient")
    claim.refresh_from_db()
    assert claim.status == S.VOID
    void = claim.replacements.get()
    assert (void.frequency_code, void.payer_claim_number) == ("8", "PCN-1")


def test_voiding_a_draft_sends_nothing(setup, team):
    claim = draft_claim(setup, team.billing)
    claim_void(claim=claim, actor=team.billing, note="Duplicate")
    claim.refresh_from_db()
    assert claim.status == S.VOID and not claim.replacements.exists()


def test_without_the_payers_number_no_correction_is_made(setup, team):
    claim = put_in(draft_claim(setup, team.billing), S.DENIED)
    Claim.objects.filter(pk=claim.pk).update(payer_claim_number="")
    with pytest.raises(ApplicationError) as refused:
        claim_resubmit(claim=claim, actor=team.billing, note="fix")
    assert "payer's claim number" in refused.value.message
    claim.refresh_from_db()
    assert claim.status == S.DENIED and not claim.replacements.exists()


@pytest.mark.parametrize("role", ["front_desk", "clinician"])
def test_only_billing_staff_and_admins_move_claims(setup, team, role):
    claim = draft_claim(setup, team.billing)
    with pytest.raises(ApplicationError) as refused:
        claim_mark_ready(claim=claim, actor=getattr(team, role))
    assert refused.value.status == 403
    claim_mark_ready(claim=claim, actor=team.admin)


def test_the_actions_offered_are_exactly_the_legal_ones():
    assert allowed_moves(S.DRAFT) == ["mark_ready", "void"]
    assert set(allowed_moves(S.DENIED)) == {"appeal", "resubmit", "void"}
    assert allowed_moves(S.VOID) == []
