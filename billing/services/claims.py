"""Claims: built from an encounter and a policy, moved through their lifecycle.

Every move is one service that locks the claim, refuses an illegal move with
409 and the current status, and writes a ClaimEvent (from, to, actor, note).

    draft -> ready -> submitted -> accepted | rejected
    accepted (or submitted) -> paid | partially_paid | denied
    denied | partially_paid -> appealed -> paid | partially_paid | denied
    rejected -> draft (fix) ; ready -> draft (edit)
    sent and adjudicated -> resubmitted (a corrected claim, frequency 7, replaces it)
    draft | ready | rejected -> void ; accepted and later -> void (a frequency 8 claim
    tells the payer) ; paid | partially_paid | denied -> accepted (an 835 reversal)
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.actors import Actor, actor_name, actor_user
from billing.models import Claim, ClaimEvent, ClaimLine, Encounter, FollowUp, Policy
from billing.money import ZERO
from billing.permissions import Perm, require
from portal.errors import ApplicationError

S = Claim.Status
SENT_TO_PAYER = (S.ACCEPTED, S.PAID, S.PARTIALLY_PAID, S.DENIED)

# Where each move may go from; anything else is refused with the current status.
MOVES: dict[str, dict[str, str]] = {
    "mark_ready": {S.DRAFT: S.READY},
    "reopen": {S.READY: S.DRAFT, S.REJECTED: S.DRAFT},
    "submit": {S.READY: S.SUBMITTED},
    "accept": {S.SUBMITTED: S.ACCEPTED},
    "reject": {S.SUBMITTED: S.REJECTED},
    "pay": {S.SUBMITTED: S.PAID, S.ACCEPTED: S.PAID, S.APPEALED: S.PAID},
    "partially_pay": {
        S.SUBMITTED: S.PARTIALLY_PAID,
        S.ACCEPTED: S.PARTIALLY_PAID,
        S.APPEALED: S.PARTIALLY_PAID,
    },
    "deny": {S.SUBMITTED: S.DENIED, S.ACCEPTED: S.DENIED, S.APPEALED: S.DENIED},
    "appeal": {S.DENIED: S.APPEALED, S.PARTIALLY_PAID: S.APPEALED},
    "resubmit": {status: S.RESUBMITTED for status in SENT_TO_PAYER},
    "void": {
        S.DRAFT: S.VOID,
        S.READY: S.VOID,
        S.REJECTED: S.VOID,
        **{status: S.VOID for status in SENT_TO_PAYER},
    },
    "reverse": {S.PAID: S.ACCEPTED, S.PARTIALLY_PAID: S.ACCEPTED, S.DENIED: S.ACCEPTED},
}
DONE = {
    "mark_ready": "marked ready",
    "reopen": "reopened",
    "submit": "submitted",
    "accept": "accepted",
    "reject": "rejected",
    "pay": "marked paid",
    "partially_pay": "marked partially paid",
    "deny": "denied",
    "appeal": "appealed",
    "resubmit": "corrected and resubmitted",
    "void": "voided",
    "reverse": "reversed",
}
# Moves people make from the claim page and the API (the others come from
# exports and remittances, or are theirs too when done by hand).
# Moves that ask for a note on the claim page (the service refuses them without).
LABELS_NEEDING_NOTE = {"reject", "appeal", "void"}
LABELS = {
    "mark_ready": "Mark ready",
    "reopen": "Reopen for editing",
    "submit": "Mark submitted",
    "accept": "Mark accepted",
    "reject": "Mark rejected",
    "pay": "Mark paid",
    "partially_pay": "Mark partially paid",
    "deny": "Mark denied",
    "appeal": "Appeal",
    "resubmit": "Correct and resubmit",
    "void": "Void",
}


def allowed_moves(status: str) -> list[str]:
    return [move for move, table in MOVES.items() if status in table and move in LABELS]


def _event(
    claim: Claim, *, action: str, previous: str, actor: Actor, note: str
) -> ClaimEvent:
    return ClaimEvent.objects.create(
        claim=claim,
        action=action,
        from_status=previous,
        to_status=claim.status,
        actor=actor_user(actor),
        actor_name=actor_name(actor),
        note=(note or "")[:500],
    )


def _move(
    *,
    claim: Claim,
    move: str,
    actor: Actor,
    note: str = "",
    guard: Callable[[Claim], None] | None = None,
    fields: dict | None = None,
) -> Claim:
    """Make one move on the locked claim; the role is checked before anything else."""
    require(actor, Perm.EDIT_CLAIMS)
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    target = MOVES[move].get(claim.status)
    if target is None:
        raise ApplicationError(
            f"A {claim.get_status_display().lower()} claim cannot be {DONE[move]}.",
            status=409,
            extra={
                "current_status": claim.status,
                "allowed_actions": allowed_moves(claim.status),
            },
        )
    if guard is not None:
        guard(claim)
    previous = claim.status
    claim.status = target
    update = ["status", "updated_at"]
    for name, value in (fields or {}).items():
        setattr(claim, name, value)
        update.append(name)
    claim.save(update_fields=update)
    _event(claim, action=move, previous=previous, actor=actor, note=note)
    if previous == S.DENIED and target != S.DENIED:
        _close_follow_ups(claim, actor=actor, note=f"Claim {DONE[move]}.")
    return claim


def _close_follow_ups(claim: Claim, *, actor: Actor, note: str) -> None:
    FollowUp.objects.filter(claim=claim, status=FollowUp.Status.OPEN).update(
        status=FollowUp.Status.DONE,
        done_at=timezone.now(),
        done_by=actor_user(actor),
        done_note=note[:300],
    )


# --- Building claims -------------------------------------------------------------------


def _copy_encounter_lines(claim: Claim, encounter: Encounter) -> Decimal:
    lines = list(encounter.lines.order_by("line_number"))
    ClaimLine.objects.bulk_create(
        ClaimLine(
            claim=claim,
            service_line=line,
            line_number=line.line_number,
            code=line.code,
            modifiers=line.modifiers,
            units=line.units,
            charge=line.charge,
            place_of_service=line.place_of_service,
            diagnosis_pointers=line.diagnosis_pointers,
            date_of_service=encounter.date_of_service,
        )
        for line in lines
    )
    return sum((line.charge for line in lines), ZERO)


def claim_lines_rebuild(*, claim: Claim, encounter: Encounter) -> Claim:
    """A draft claim follows its encounter's new coding (called by encounter_code)."""
    claim.total_charge = _copy_encounter_lines(claim, encounter)
    claim.diagnosis_codes = list(
        encounter.diagnoses.order_by("position").values_list("code", flat=True)
    )
    claim.place_of_service = encounter.place_of_service
    claim.save(
        update_fields=[
            "total_charge",
            "diagnosis_codes",
            "place_of_service",
            "updated_at",
        ]
    )
    return claim


def policy_for(
    *, encounter: Encounter, priority: str = Policy.Priority.PRIMARY
) -> Policy | None:
    """The patient's active policy of `priority` covering the date of service."""
    day = encounter.date_of_service
    return (
        Policy.objects.select_related("payer")
        .filter(
            patient_id=encounter.patient_id,
            priority=priority,
            is_active=True,
            effective_from__lte=day,
        )
        .exclude(effective_to__lt=day)
        .order_by("-effective_from", "-id")
        .first()
    )


ORDER_OF = {
    Policy.Priority.PRIMARY: Claim.PayerOrder.PRIMARY,
    Policy.Priority.SECONDARY: Claim.PayerOrder.SECONDARY,
    Policy.Priority.TERTIARY: Claim.PayerOrder.TERTIARY,
}
LIVE = [
    S.DRAFT,
    S.READY,
    S.SUBMITTED,
    S.ACCEPTED,
    S.REJECTED,
    S.PAID,
    S.PARTIALLY_PAID,
    S.DENIED,
    S.APPEALED,
]


def _new_claim(
    *, encounter: Encounter, policy: Policy, actor: Actor, note: str, **extra
) -> Claim:
    claim = Claim.objects.create(
        encounter=encounter,
        patient_id=encounter.patient_id,
        provider_id=encounter.provider_id,
        policy=policy,
        payer_id=policy.payer_id,
        payer_order=ORDER_OF[policy.priority],
        date_of_service=encounter.date_of_service,
        place_of_service=encounter.place_of_service,
        diagnosis_codes=list(
            encounter.diagnoses.order_by("position").values_list("code", flat=True)
        ),
        total_charge=ZERO,
        created_by=actor_user(actor),
        **extra,
    )
    claim.total_charge = _copy_encounter_lines(claim, encounter)
    claim.save(update_fields=["total_charge"])
    _event(claim, action="create", previous="", actor=actor, note=note)
    return claim


@transaction.atomic
def claim_create(
    *, encounter: Encounter, actor: Actor, policy: Policy | None = None
) -> Claim:
    """A draft claim of a coded encounter to the patient's primary policy (or `policy`)."""
    require(actor, Perm.EDIT_CLAIMS)
    encounter = Encounter.objects.select_for_update().get(pk=encounter.pk)
    if encounter.status != Encounter.Status.CODED:
        raise ApplicationError(
            "Code the visit before billing it.",
            status=409,
            extra={"current_status": encounter.status},
        )
    if encounter.self_pay:
        raise ApplicationError(
            "This visit is self-pay: invoice the patient instead.",
            status=409,
            extra={"current_status": encounter.status},
        )
    policy = policy or policy_for(encounter=encounter)
    if policy is None:
        raise ApplicationError(
            "The patient has no active primary policy on the date of service.",
            status=409,
            extra={"current_status": encounter.status},
        )
    if policy.patient_id != encounter.patient_id:
        raise ApplicationError("This policy belongs to another patient.", status=400)
    if policy.priority != Policy.Priority.PRIMARY:
        raise ApplicationError(
            "Bill the primary policy first; secondary claims follow its payment.",
            status=409,
            extra={"current_status": encounter.status},
        )
    if Claim.objects.filter(
        encounter=encounter,
        policy__priority=policy.priority,
        frequency_code="1",
        status__in=LIVE,
    ).exists():
        raise ApplicationError(
            "This visit already has a claim to this payer.",
            status=409,
            extra={"current_status": encounter.status},
        )
    return _new_claim(
        encounter=encounter, policy=policy, actor=actor, note="Built from the visit."
    )


def claim_insurance_paid(claim: Claim) -> Decimal:
    from billing.models import RemittanceLine

    total = RemittanceLine.objects.filter(
        remittance_claim__claim=claim,
        remittance_claim__match__in=["posted", "resolved"],
    ).aggregate(total=Sum("paid"))["total"]
    return total or ZERO


@transaction.atomic
def claim_create_secondary(*, claim: Claim, actor: Actor) -> Claim:
    """After the primary payer paid: the balance goes to the secondary policy, as a new claim."""
    require(actor, Perm.EDIT_CLAIMS)
    primary = Claim.objects.select_for_update().get(pk=claim.pk)
    if primary.status not in (S.PAID, S.PARTIALLY_PAID):
        raise ApplicationError(
            "The prior payer must have paid first.",
            status=409,
            extra={"current_status": primary.status},
        )
    next_priority = {"P": Policy.Priority.SECONDARY, "S": Policy.Priority.TERTIARY}.get(
        primary.payer_order
    )
    policy = (
        policy_for(encounter=primary.encounter, priority=next_priority)
        if next_priority
        else None
    )
    if policy is None:
        raise ApplicationError(
            "The patient has no further active policy on the date of service.",
            status=409,
            extra={"current_status": primary.status},
        )
    if not policy.payer.accepts_secondary:
        raise ApplicationError(
            f"{policy.payer} does not take secondary claims.",
            status=409,
            extra={"current_status": primary.status},
        )
    if primary.next_payer_claims.filter(status__in=LIVE).exists():
        raise ApplicationError(
            "The balance already went to the next payer.",
            status=409,
            extra={"current_status": primary.status},
        )
    paid = claim_insurance_paid(primary) + primary.prior_payer_paid
    secondary = _new_claim(
        encounter=primary.encounter,
        policy=policy,
        actor=actor,
        primary_claim=primary,
        prior_payer_paid=min(paid, primary.total_charge),
        note=f"Balance after {primary.payer} (claim {primary.control_number}).",
    )
    _event(
        primary,
        action="next_payer",
        previous=primary.status,
        actor=actor,
        note=f"Balance sent to {policy.payer} as claim {secondary.control_number}.",
    )
    return secondary


def _resubmission(*, original: Claim, actor: Actor, frequency: str, note: str) -> Claim:
    replacement = _new_claim(
        encounter=original.encounter,
        policy=original.policy,
        actor=actor,
        frequency_code=frequency,
        original_claim=original,
        payer_claim_number=original.payer_claim_number,
        primary_claim=original.primary_claim,
        prior_payer_paid=original.prior_payer_paid,
        note=f"{'Replaces' if frequency == '7' else 'Voids'} claim {original.control_number}"
        f" (payer's number {original.payer_claim_number}). {note}".strip(),
    )
    if frequency == Claim.Frequency.VOID:
        # A void is sent with the lines as first billed: the original's, not the recoding.
        ClaimLine.objects.filter(claim=replacement).delete()
        ClaimLine.objects.bulk_create(
            ClaimLine(
                claim=replacement,
                service_line=line.service_line,
                line_number=line.line_number,
                code=line.code,
                modifiers=line.modifiers,
                units=line.units,
                charge=line.charge,
                place_of_service=line.place_of_service,
                diagnosis_pointers=line.diagnosis_pointers,
                date_of_service=line.date_of_service,
            )
            for line in original.lines.order_by("line_number")
        )
        replacement.total_charge = original.total_charge
        replacement.diagnosis_codes = original.diagnosis_codes
        replacement.save(update_fields=["total_charge", "diagnosis_codes"])
    return replacement


def _needs_payer_number(claim: Claim) -> None:
    if not claim.payer_claim_number:
        raise ApplicationError(
            "The payer's claim number is needed to correct or void a claim the payer "
            "has; record it first (from the acknowledgment or the remittance).",
            status=409,
            extra={"current_status": claim.status},
        )
