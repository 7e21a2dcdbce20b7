"""After the primary payer pays, the balance goes to the secondary policy as a new claim."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing.models import Claim, Policy
from billing.services import (
    claim_mark_ready,
    claim_submit,
    claims_export_837,
    policy_create,
)
from billing.services.remittances import remittance_import
from billing.tests.support import draft_claim
from billing.tests.test_x12_import import sample
from billing.x12.validate import own_checks, pyx12_errors


def test_the_balance_after_the_primary_pays_goes_to_the_secondary_through_the_api(
    setup, team, api_as
):
    api = api_as(team.billing)
    primary = claim_submit(
        claim=claim_mark_ready(
            claim=draft_claim(setup, team.billing), actor=team.billing
        ),
        actor=team.billing,
    )
    early = api.post(f"/api/v1/claims/{primary.pk}/secondary/", {}, format="json")
    assert early.status_code == 409 and early.json()["current_status"] == "submitted"
    remittance_import(content=sample("paid", primary), actor=team.billing)
    no_policy = api.post(f"/api/v1/claims/{primary.pk}/secondary/", {}, format="json")
    assert no_policy.status_code == 409 and "no further active policy" in str(
        no_policy.json()
    )
    policy_create(
        patient=setup.patient,
        actor=team.billing,
        payer=setup.second_payer,
        member_id="SEC55555",
        priority=Policy.Priority.SECONDARY,
        effective_from=date(2020, 1, 1),
    )
    assert (
        api_as(team.front_desk)
        .post(f"/api/v1/claims/{primary.pk}/secondary/", {}, format="json")
        .status_code
        == 403
    )
    made = api.post(f"/api/v1/claims/{primary.pk}/secondary/", {}, format="json")
    assert made.status_code == 201, made.json()
    secondary = Claim.objects.get(pk=made.json()["id"])
    assert (secondary.payer_order, secondary.payer_id) == ("S", setup.second_payer.pk)
    assert secondary.primary_claim_id == primary.pk
    assert secondary.prior_payer_paid == Decimal("128.00")  # what the 835 paid
    assert secondary.total_charge == primary.total_charge
    again = api.post(f"/api/v1/claims/{primary.pk}/secondary/", {}, format="json")
    assert again.status_code == 409
    events = [e.action for e in primary.events.all()]
    assert events[-1] == "next_payer"
    claim_mark_ready(claim=secondary, actor=team.billing)
    text = claims_export_837(claims=[secondary.pk], actor=team.billing).content
    assert pyx12_errors(text) == [] and own_checks(text) == []
    paid = [
        s.split("*")[2]
        for s in text.replace("\n", "").split("~")
        if s.startswith("AMT*D*")
    ]
    assert [Decimal(x) for x in paid] == [
        Decimal("128.00")
    ]  # the primary payer's payment
