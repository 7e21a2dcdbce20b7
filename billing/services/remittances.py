"""Importing an 835: store what the payer said, match it to claims, post it line by line.

- The same payment (payer and trace number) is stored once: importing a file
  again, or another file with the same payment, posts nothing twice.
- Each claim payment (CLP) is matched by its patient control number (our
  CLM01), its payer and its charge; its service lines by the line control
  number we sent (REF*6R), else by procedure and modifiers.
- What cannot be matched waits in the unmatched queue, with the reason, for
  billing staff to match by hand or dismiss.
- Posting moves the claim: paid, partially paid (a line unpaid or money still
  owed) or denied; a reversal (CLP02 22) takes the payer's decision back.
  Patient responsibility (CAS group PR) becomes invoices to the patient unless
  another payer follows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.actors import Actor, actor_user
from billing.models import (
    Claim,
    ClaimLine,
    Invoice,
    Payer,
    Policy,
    Remittance,
    RemittanceAdjustment,
    RemittanceClaim,
    RemittanceLine,
)
from billing.models.claims import CONTROL_PREFIX
from billing.money import ZERO
from billing.permissions import Perm, require
from billing.services import claim_moves
from billing.services.claims import S
from billing.x12.p835 import (
    ClaimPayment,
    RemittanceData,
    RemittanceFormatError,
    parse_835,
)
from billing.x12.validate import pyx12_errors
from clinic.clock import clinic_tz
from portal.errors import ApplicationError

M = RemittanceClaim.Match
AWAITING = (S.SUBMITTED, S.ACCEPTED, S.APPEALED)
ADJUDICATED = (S.PAID, S.PARTIALLY_PAID, S.DENIED)
PR_KIND = {
    "1": Invoice.Kind.DEDUCTIBLE,
    "2": Invoice.Kind.COINSURANCE,
    "3": Invoice.Kind.COPAY,
}
NEXT_PRIORITY = {"P": Policy.Priority.SECONDARY, "S": Policy.Priority.TERTIARY}
INVOICE_DUE_DAYS = 30


@dataclass
class ImportResult:
    remittances: list[Remittance] = field(default_factory=list)
    duplicates: list[str] = field(
        default_factory=list
    )  # trace numbers already imported
    posted: int = 0
    unmatched: int = 0


def _store(
    remittance: Remittance, sequence: int, data: ClaimPayment
) -> RemittanceClaim:
    row = RemittanceClaim.objects.create(
        remittance=remittance,
        sequence=sequence,
        patient_control_number=data.patient_control_number[:38],
        status_code=data.status_code[:2],
        total_charge=data.total_charge,
        paid=data.paid,
        patient_responsibility=data.patient_responsibility,
        payer_claim_number=data.payer_claim_number[:50],
        patient_name=data.patient_name[:120],
        match=M.UNMATCHED,
        adjusted=sum(
            (
                a.amount
                for a in [
                    *data.adjustments,
                    *(x for sv in data.services for x in sv.adjustments),
                ]
                if not (a.group == "OA" and a.reason == "23")
            ),
            ZERO,
        ),
    )
    for adjustment in data.adjustments:
        RemittanceAdjustment.objects.create(
            remittance_claim=row,
            group=adjustment.group[:2],
            reason=adjustment.reason[:5],
            amount=adjustment.amount,
            quantity=adjustment.quantity,
        )
    if not data.services:
        # No line detail: the claim's payment is one line of its own.
        RemittanceLine.objects.create(
            remittance_claim=row, charge=data.total_charge, paid=data.paid
        )
    for service in data.services:
        line = RemittanceLine.objects.create(
            remittance_claim=row,
            code=service.code[:48],
            line_control=service.line_control[:50],
            modifiers=[m[:2] for m in service.modifiers],
            charge=service.charge,
            paid=service.paid,
            units=service.units,
        )
        for adjustment in service.adjustments:
            RemittanceAdjustment.objects.create(
                remittance_claim=row,
                remittance_line=line,
                group=adjustment.group[:2],
                reason=adjustment.reason[:5],
                amount=adjustment.amount,
                quantity=adjustment.quantity,
            )
    return row


def _claim_by_control_number(number: str) -> Claim | None:
    digits = number[len(CONTROL_PREFIX) :] if number.startswith(CONTROL_PREFIX) else ""
    if not digits.isdigit() or len(digits) > 18:
        return None
    return Claim.objects.select_for_update().filter(pk=int(digits)).first()


def _why_not(row: RemittanceClaim, claim: Claim, payer: Payer | None) -> str:
    """Why this claim payment cannot be posted to `claim` ('' when it can)."""
    if payer is not None and claim.payer_id != payer.pk:
        return f"Claim {claim.control_number} is billed to {claim.payer}, not {payer}."
    if abs(row.total_charge) != claim.total_charge:
        return (
            f"The payer's charge {abs(row.total_charge)} differs from claim "
            f"{claim.control_number}'s {claim.total_charge}."
        )
    if row.is_reversal:
        if claim.status not in (*ADJUDICATED, S.VOID, S.RESUBMITTED):
            return (
                f"Claim {claim.control_number} is {claim.get_status_display().lower()}: "
                "there is no payment to reverse."
            )
        if not claim.remittances.filter(match__in=[M.POSTED, M.RESOLVED]).exists():
            return f"Nothing was posted to claim {claim.control_number} to reverse."
    elif claim.status not in AWAITING:
        return (
            f"Claim {claim.control_number} is {claim.get_status_display().lower()}; "
            "a further payment needs a look by hand."
        )
    return ""


def _match_lines(row: RemittanceClaim, claim: Claim) -> None:
    lines = list(claim.lines.all())
    by_control = {f"L{line.pk}": line for line in lines}
    used: set[int] = set()
    for remit_line in row.lines.filter(claim_line__isnull=True).order_by("id"):
        match = by_control.get(remit_line.line_control)
        if match is None or match.pk in used:
            match = next(
                (
                    line
                    for line in lines
                    if line.pk not in used
                    and line.code == remit_line.code
                    and list(line.modifiers) == list(remit_line.modifiers)
                ),
                None,
            )
        if match is not None:
            used.add(match.pk)
            remit_line.claim_line = match
            remit_line.save(update_fields=["claim_line"])


def _next_payer_follows(claim: Claim) -> bool:
    priority = NEXT_PRIORITY.get(claim.payer_order)
    if priority is None:
        return False
    day = claim.date_of_service
    return (
        Policy.objects.filter(
            patient_id=claim.patient_id,
            priority=priority,
            is_active=True,
            effective_from__lte=day,
        )
        .exclude(effective_to__lt=day)
        .exists()
    )


def _invoice_patient(row: RemittanceClaim, claim: Claim, actor: Actor) -> None:
    if row.is_reversal:
        # The payer took its decision back: so are the invoices it caused, unless paid on.
        Invoice.objects.filter(
            claim=claim,
            status=Invoice.Status.OPEN,
            source_adjustment__isnull=False,
            allocations__isnull=True,
        ).update(status=Invoice.Status.VOID)
        return
    if _next_payer_follows(claim):
        return  # the next payer sees this patient responsibility first
    today = timezone.localdate(timezone=clinic_tz())
    for adjustment in row.adjustments.filter(group="PR", amount__gt=0):
        Invoice.objects.create(
            patient_id=claim.patient_id,
            encounter_id=claim.encounter_id,
            claim=claim,
            source_adjustment=adjustment,
            kind=PR_KIND.get(adjustment.reason, Invoice.Kind.OTHER),
            amount=adjustment.amount,
            issued_on=today,
            due_on=today + timedelta(days=INVOICE_DUE_DAYS),
            description=f"{claim.payer}: PR-{adjustment.reason} for "
            f"{claim.date_of_service:%Y-%m-%d}",
            created_by=actor_user(actor),
        )


def _decide(row: RemittanceClaim, claim: Claim) -> str:
    """Which move the payer's decision is: pay, partially_pay or deny."""
    lines = list(row.lines.prefetch_related("adjustments"))
    adjustments = list(row.adjustments.all())
    patient_owes = sum((a.amount for a in adjustments if a.group == "PR"), ZERO)
    if row.status_code == "4" or (row.paid == ZERO and patient_owes == ZERO):
        return "deny"
    outstanding = (
        claim.total_charge - row.paid - sum((a.amount for a in adjustments), ZERO)
    )
    line_denied = any(
        line.paid == ZERO and not any(a.group == "PR" for a in line.adjustments.all())
        for line in lines
        if line.charge > ZERO
    )
    return "partially_pay" if outstanding > ZERO or line_denied else "pay"


def _post(row: RemittanceClaim, claim: Claim, *, actor: Actor, match: str) -> None:
    row.claim, row.match = claim, match
    row.save(update_fields=["claim", "match"])
    _match_lines(row, claim)
    _invoice_patient(row, claim, actor)
    trace = row.remittance.trace_number
    codes = ", ".join(sorted({f"{a.group}-{a.reason}" for a in row.adjustments.all()}))
    note = f"835 {trace}: paid {row.paid}" + (f" ({codes})" if codes else "")
    if row.payer_claim_number and not claim.payer_claim_number:
        Claim.objects.filter(pk=claim.pk).update(
            payer_claim_number=row.payer_claim_number
        )
    if row.is_reversal:
        if claim.status in ADJUDICATED:
            claim_moves.claim_reverse(
                claim=claim, actor=actor, note=f"835 {trace}: reversal"
            )
        else:
            claim_moves.claim_note(
                claim=claim, actor=actor, note=f"835 {trace}: reversal posted"
            )
        return
    move = _decide(row, claim)
    getattr(claim_moves, f"claim_{move}")(
        claim=claim, actor=actor, note=note, payer_claim_number=row.payer_claim_number
    )


def _import_one(
    data: RemittanceData,
    *,
    content: str,
    digest: str,
    actor: Actor,
    result: ImportResult,
) -> None:
    identifier = (data.payer_identifier or "UNKNOWN")[:80]
    trace = (data.trace_number or digest[:16])[:50]
    if Remittance.objects.filter(
        payer_identifier=identifier, trace_number=trace
    ).exists():
        result.duplicates.append(trace)
        return
    payer = Payer.objects.filter(payer_id=(data.payer_id or "").upper()).first()
    try:
        with transaction.atomic():
            remittance = Remittance.objects.create(
                payer=payer,
                payer_name=data.payer_name[:60] or identifier,
                payer_identifier=identifier,
                trace_number=trace,
                payment_amount=data.payment_amount,
                payment_method=data.payment_method[:3],
                payment_date=data.payment_date,
                file_sha256=digest,
                content=content,
                imported_by=actor_user(actor),
            )
    except IntegrityError:  # the same payment, imported at this very moment elsewhere
        result.duplicates.append(trace)
        return
    result.remittances.append(remittance)
    for sequence, claim_data in enumerate(data.claims, start=1):
        row = _store(remittance, sequence, claim_data)
        claim = _claim_by_control_number(row.patient_control_number)
        reason = (
            "No claim has this control number."
            if claim is None
            else _why_not(row, claim, payer)
        )
        if reason:
            row.unmatched_reason = reason[:300]
            row.save(update_fields=["unmatched_reason"])
            result.unmatched += 1
            continue
        _post(row, claim, actor=actor, match=M.POSTED)
        result.posted += 1


@transaction.atomic
def remittance_import(*, content: str | bytes, actor: Actor) -> ImportResult:
    """Import an 835 file: all of it, or (400 with pyx12's errors) none of it."""
    require(actor, Perm.REMITTANCES)
    if isinstance(content, bytes):
        if len(content) > settings.BILLING_MAX_835_BYTES:
            raise ValidationError(
                {
                    "file": [
                        f"An 835 file is at most "
                        f"{settings.BILLING_MAX_835_BYTES} bytes."
                    ]
                }
            )
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError({"file": ["An 835 file is plain text."]}) from exc
    if len(content) > settings.BILLING_MAX_835_BYTES:
        raise ValidationError(
            {
                "file": [
                    f"An 835 file is at most {settings.BILLING_MAX_835_BYTES} bytes."
                ]
            }
        )
    if "\x00" in content or not content.lstrip().startswith("ISA"):
        raise ValidationError(
            {"file": ["This is not an X12 file (it does not start with ISA)."]}
        )
    errors = pyx12_errors(content)
    if errors:
        raise ValidationError({"file": errors[:20]})
    try:
        transactions = parse_835(content)
    except RemittanceFormatError as exc:
        raise ValidationError({"file": [str(exc)]}) from exc
    if not transactions:
        raise ValidationError({"file": ["The file holds no 835 transaction."]})
    digest = hashlib.sha256(content.encode()).hexdigest()
    result = ImportResult()
    for data in transactions:
        _import_one(data, content=content, digest=digest, actor=actor, result=result)
    return result


@transaction.atomic
def remittance_claim_match(
    *, remittance_claim: RemittanceClaim, claim: Claim, actor: Actor, note: str = ""
) -> RemittanceClaim:
    """Post a queued claim payment to the claim staff chose (the same checks apply)."""
    require(actor, Perm.REMITTANCES)
    row = (
        RemittanceClaim.objects.select_for_update()
        .select_related("remittance")
        .get(pk=remittance_claim.pk)
    )
    if row.match != M.UNMATCHED:
        raise ApplicationError(
            "This payment is no longer in the unmatched queue.",
            status=409,
            extra={"current_status": row.match},
        )
    claim = Claim.objects.select_for_update().get(pk=claim.pk)
    reason = _why_not(row, claim, row.remittance.payer)
    if reason:
        raise ValidationError({"claim": [reason]})
    row.resolved_by, row.resolved_at = actor_user(actor), timezone.now()
    row.resolution_note = (note or "")[:300]
    row.save(update_fields=["resolved_by", "resolved_at", "resolution_note"])
    _post(row, claim, actor=actor, match=M.RESOLVED)
    return row


@transaction.atomic
def remittance_claim_dismiss(
    *, remittance_claim: RemittanceClaim, actor: Actor, note: str
) -> RemittanceClaim:
    """Leave a queued payment unposted for good (another clinic's, a duplicate...)."""
    require(actor, Perm.REMITTANCES)
    if not (note or "").strip():
        raise ValidationError({"note": ["Say why this payment is not posted."]})
    row = RemittanceClaim.objects.select_for_update().get(pk=remittance_claim.pk)
    if row.match != M.UNMATCHED:
        raise ApplicationError(
            "This payment is no longer in the unmatched queue.",
            status=409,
            extra={"current_status": row.match},
        )
    row.match = M.DISMISSED
    row.resolved_by, row.resolved_at = actor_user(actor), timezone.now()
    row.resolution_note = note.strip()[:300]
    row.save(update_fields=["match", "resolved_by", "resolved_at", "resolution_note"])
    return row


__all__ = [
    "ClaimLine",
    "ImportResult",
    "remittance_claim_dismiss",
    "remittance_claim_match",
    "remittance_import",
]
