"""The claim lifecycle's moves, one service each (see billing.services.claims)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing.actors import Actor, actor_user
from billing.models import Claim, FollowUp
from billing.permissions import Perm, require
from billing.services.claim_checks import claim_problems
from billing.services.claims import (
    S,
    _event,
    _move,
    _needs_payer_number,
    _resubmission,
)
from clinic.services.record_hooks import on_claim_denied
from portal.errors import ApplicationError


def _must_be_valid(claim: Claim) -> None:
    problems = claim_problems(claim)
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def claim_mark_ready(*, claim: Claim, actor: Actor, note: str = "") -> Claim:
    """draft -> ready, once the claim passes every check (400 with the problems if not)."""
    return _move(
        claim=claim, move="mark_ready", actor=actor, note=note, guard=_must_be_valid
    )


@transaction.atomic
def claim_reopen(*, claim: Claim, actor: Actor, note: str = "") -> Claim:
    return _move(claim=claim, move="reopen", actor=actor, note=note)


@transaction.atomic
def claim_submit(*, claim: Claim, actor: Actor, note: str = "", batch=None) -> Claim:
    """ready -> submitted (the 837P export does this for each claim of its batch)."""
    fields = {"submitted_at": timezone.now()}
    if batch is not None:
        fields["batch"] = batch
    return _move(
        claim=claim,
        move="submit",
        actor=actor,
        note=note,
        guard=_must_be_valid,
        fields=fields,
    )


@transaction.atomic
def claim_accept(
    *, claim: Claim, actor: Actor, note: str = "", payer_claim_number: str = ""
) -> Claim:
    fields = (
        {"payer_claim_number": payer_claim_number.strip()[:50]}
        if payer_claim_number
        else {}
    )
    return _move(claim=claim, move="accept", actor=actor, note=note, fields=fields)


@transaction.atomic
def claim_reject(*, claim: Claim, actor: Actor, note: str) -> Claim:
    if not (note or "").strip():
        raise ValidationError({"note": ["Say why the claim was rejected."]})
    return _move(claim=claim, move="reject", actor=actor, note=note)


def _adjudicated(payer_claim_number: str) -> dict:
    fields: dict = {"adjudicated_at": timezone.now()}
    if payer_claim_number:
        fields["payer_claim_number"] = payer_claim_number.strip()[:50]
    return fields


@transaction.atomic
def claim_pay(
    *, claim: Claim, actor: Actor, note: str = "", payer_claim_number: str = ""
) -> Claim:
    return _move(
        claim=claim,
        move="pay",
        actor=actor,
        note=note,
        fields=_adjudicated(payer_claim_number),
    )


@transaction.atomic
def claim_partially_pay(
    *, claim: Claim, actor: Actor, note: str = "", payer_claim_number: str = ""
) -> Claim:
    return _move(
        claim=claim,
        move="partially_pay",
        actor=actor,
        note=note,
        fields=_adjudicated(payer_claim_number),
    )


@transaction.atomic
def claim_deny(
    *, claim: Claim, actor: Actor, note: str = "", payer_claim_number: str = ""
) -> Claim:
    """-> denied, and an open follow-up for billing staff (appeal, correct or write off)."""
    claim = _move(
        claim=claim,
        move="deny",
        actor=actor,
        note=note,
        fields=_adjudicated(payer_claim_number),
    )
    FollowUp.objects.get_or_create(
        claim=claim,
        status=FollowUp.Status.OPEN,
        defaults={"reason": f"Denied by {claim.payer}. {note}".strip()[:500]},
    )
    on_claim_denied(claim=claim, note=note)
    return claim


@transaction.atomic
def claim_appeal(*, claim: Claim, actor: Actor, note: str) -> Claim:
    if not (note or "").strip():
        raise ValidationError({"note": ["Say what the appeal argues."]})
    return _move(claim=claim, move="appeal", actor=actor, note=note)


@transaction.atomic
def claim_reverse(*, claim: Claim, actor: Actor, note: str = "") -> Claim:
    """An 835 reversal takes back the payer's decision: the claim awaits a new one."""
    return _move(claim=claim, move="reverse", actor=actor, note=note)


@transaction.atomic
def claim_resubmit(*, claim: Claim, actor: Actor, note: str = "") -> Claim:
    """Correct a claim the payer has: it becomes resubmitted, a frequency 7 claim replaces it.

    Answers the original; the replacement (a draft with the encounter's current
    coding and the payer's claim number) is `original.replacements.last()`.
    """
    require(actor, Perm.EDIT_CLAIMS)
    original = _move(
        claim=claim, move="resubmit", actor=actor, note=note, guard=_needs_payer_number
    )
    _resubmission(
        original=original, actor=actor, frequency=Claim.Frequency.REPLACEMENT, note=note
    )
    return original


@transaction.atomic
def claim_void(*, claim: Claim, actor: Actor, note: str) -> Claim:
    """Void a claim. One the payer never had is simply void; one it has is voided by a
    frequency 8 claim with the payer's claim number (a draft, sent like any other)."""
    if not (note or "").strip():
        raise ValidationError({"note": ["Say why the claim is voided."]})
    require(actor, Perm.EDIT_CLAIMS)
    locked = Claim.objects.select_for_update().get(pk=claim.pk)
    payer_has_it = locked.status in (S.ACCEPTED, S.PAID, S.PARTIALLY_PAID, S.DENIED)
    original = _move(
        claim=locked,
        move="void",
        actor=actor,
        note=note,
        guard=_needs_payer_number if payer_has_it else None,
    )
    if payer_has_it:
        _resubmission(
            original=original, actor=actor, frequency=Claim.Frequency.VOID, note=note
        )
    return original


@transaction.atomic
def claim_note(*, claim: Claim, actor: Actor, note: str) -> Claim:
    """A note on the timeline without a move (a call with the payer, say)."""
    require(actor, Perm.EDIT_CLAIMS)
    if not (note or "").strip():
        raise ValidationError({"note": ["Write the note."]})
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    _event(claim, action="note", previous=claim.status, actor=actor, note=note)
    return claim


@transaction.atomic
def follow_up_done(*, follow_up: FollowUp, actor: Actor, note: str = "") -> FollowUp:
    require(actor, Perm.EDIT_CLAIMS)
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if follow_up.status != FollowUp.Status.OPEN:
        raise ApplicationError(
            "This follow-up is already done.",
            status=409,
            extra={"current_status": follow_up.status},
        )
    follow_up.status = FollowUp.Status.DONE
    follow_up.done_at = timezone.now()
    follow_up.done_by = actor_user(actor)
    follow_up.done_note = (note or "")[:300]
    follow_up.save(update_fields=["status", "done_at", "done_by", "done_note"])
    return follow_up


MOVE_SERVICES = {
    "mark_ready": claim_mark_ready,
    "reopen": claim_reopen,
    "submit": claim_submit,
    "accept": claim_accept,
    "reject": claim_reject,
    "pay": claim_pay,
    "partially_pay": claim_partially_pay,
    "deny": claim_deny,
    "appeal": claim_appeal,
    "reverse": claim_reverse,
    "resubmit": claim_resubmit,
    "void": claim_void,
}
