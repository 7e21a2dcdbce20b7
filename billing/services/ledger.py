"""The patient ledger's writes: invoices, payments (allocated to invoices), refunds,
adjustments. No balance is stored anywhere; billing.selectors.ledger computes it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.actors import Actor, actor_user
from billing.models import (
    Adjustment,
    Claim,
    Encounter,
    Invoice,
    Payment,
    PaymentAllocation,
    Refund,
)
from billing.money import MAX_AMOUNT, ZERO, money
from billing.permissions import Perm, require
from clinic.clock import clinic_tz
from clinic.models import Patient
from portal.errors import ApplicationError

INVOICE_DUE_DAYS = 30


def _today() -> date:
    return timezone.localdate(timezone=clinic_tz())


def _positive(value: object, field: str = "amount") -> Decimal:
    try:
        amount = money(value)
    except (TypeError, ArithmeticError, ValueError) as exc:
        raise ValidationError({field: ["Give an amount like 25.00."]}) from exc
    if not ZERO < amount <= MAX_AMOUNT:
        raise ValidationError({field: [f"Give an amount from 0.01 to {MAX_AMOUNT}."]})
    return amount


def _not_future(day: date, field: str) -> None:
    if day > _today():
        raise ValidationError({field: ["This date is in the future."]})


def invoice_open_amount(invoice: Invoice) -> Decimal:
    """What is still owed on an invoice (allocations and adjustments off its amount)."""
    if invoice.status == Invoice.Status.VOID:
        return ZERO
    allocated = invoice.allocations.aggregate(total=Sum("amount"))["total"] or ZERO
    adjusted = invoice.adjustments.aggregate(total=Sum("amount"))["total"] or ZERO
    return invoice.amount - allocated - adjusted


@transaction.atomic
def invoice_create(
    *,
    patient: Patient,
    actor: Actor,
    kind: str,
    amount: object,
    issued_on: date | None = None,
    due_on: date | None = None,
    encounter: Encounter | None = None,
    claim: Claim | None = None,
    description: str = "",
) -> Invoice:
    """Bill the patient (self-pay, a copay collected at the desk, a correction)."""
    require(actor, Perm.ADJUST_LEDGER)
    if kind not in Invoice.Kind.values:
        raise ValidationError(
            {"kind": ["Choose copay, coinsurance, deductible, self-pay or other."]}
        )
    issued_on = issued_on or _today()
    _not_future(issued_on, "issued_on")
    due_on = due_on or issued_on + timedelta(days=INVOICE_DUE_DAYS)
    if due_on < issued_on:
        raise ValidationError(
            {"due_on": ["An invoice falls due on or after its issue date."]}
        )
    for thing, name in ((encounter, "encounter"), (claim, "claim")):
        if thing is not None and thing.patient_id != patient.pk:
            raise ValidationError({name: ["This belongs to another patient."]})
    return Invoice.objects.create(
        patient=patient,
        kind=kind,
        amount=_positive(amount),
        issued_on=issued_on,
        due_on=due_on,
        encounter=encounter,
        claim=claim,
        description=(description or "")[:200],
        created_by=actor_user(actor),
    )


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor: Actor) -> Invoice:
    require(actor, Perm.ADJUST_LEDGER)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == Invoice.Status.VOID:
        raise ApplicationError(
            "This invoice is already void.",
            status=409,
            extra={"current_status": invoice.status},
        )
    if invoice.allocations.exists() or invoice.status == Invoice.Status.PAID:
        raise ApplicationError(
            "Payments were applied to this invoice; adjust it instead.",
            status=409,
            extra={"current_status": invoice.status},
        )
    invoice.status = Invoice.Status.VOID
    invoice.save(update_fields=["status"])
    return invoice


@transaction.atomic
def payment_record(
    *,
    patient: Patient,
    actor: Actor,
    amount: object,
    method: str,
    received_on: date | None = None,
    reference: str = "",
    note: str = "",
    invoice: Invoice | None = None,
) -> Payment:
    """Take a payment (all or part of what is owed).

    It settles `invoice` if given, else the patient's oldest open invoices
    first; whatever is left is a credit on the account.
    """
    require(actor, Perm.TAKE_PAYMENTS)
    amount = _positive(amount)
    if method not in Payment.Method.values:
        raise ValidationError(
            {"method": ["Choose cash, card, check, bank transfer or other."]}
        )
    received_on = received_on or _today()
    _not_future(received_on, "received_on")
    if invoice is not None:
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.patient_id != patient.pk:
            raise ValidationError(
                {"invoice": ["This invoice belongs to another patient."]}
            )
        if (
            invoice.status != Invoice.Status.OPEN
            or invoice_open_amount(invoice) <= ZERO
        ):
            raise ValidationError({"invoice": ["This invoice is settled or void."]})
        targets = [invoice]
    else:
        targets = list(
            Invoice.objects.select_for_update()
            .filter(patient=patient, status=Invoice.Status.OPEN)
            .order_by("issued_on", "id")
        )
    payment = Payment.objects.create(
        patient=patient,
        amount=amount,
        method=method,
        received_on=received_on,
        reference=(reference or "")[:100],
        note=(note or "")[:300],
        taken_by=actor_user(actor),
    )
    left = amount
    for target in targets:
        if left <= ZERO:
            break
        owed = invoice_open_amount(target)
        if owed <= ZERO:
            continue
        part = min(owed, left)
        PaymentAllocation.objects.create(payment=payment, invoice=target, amount=part)
        left -= part
        if part == owed:
            _settled(target)
    return payment


def _settled(invoice: Invoice) -> None:
    """Nothing is owed on it any more: it leaves the open invoices (and A/R)."""
    invoice.status = Invoice.Status.PAID
    invoice.save(update_fields=["status"])


def payment_refundable(payment: Payment) -> Decimal:
    """The part of a payment no invoice took and no refund gave back yet."""
    allocated = payment.allocations.aggregate(total=Sum("amount"))["total"] or ZERO
    refunded = payment.refunds.aggregate(total=Sum("amount"))["total"] or ZERO
    return payment.amount - allocated - refunded


@transaction.atomic
def refund_issue(
    *,
    payment: Payment,
    actor: Actor,
    amount: object,
    method: str,
    reason: str,
    refunded_on: date | None = None,
    reference: str = "",
) -> Refund:
    """Give back (part of) a payment that paid no invoice: an overpayment, a credit."""
    require(actor, Perm.ADJUST_LEDGER)
    amount = _positive(amount)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if method not in Payment.Method.values:
        raise ValidationError({"method": ["Choose how the money goes back."]})
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the money goes back."]})
    refunded_on = refunded_on or _today()
    _not_future(refunded_on, "refunded_on")
    if refunded_on < payment.received_on:
        raise ValidationError({"refunded_on": ["A refund cannot precede its payment."]})
    available = payment_refundable(payment)
    if amount > available:
        raise ValidationError(
            {
                "amount": [
                    f"At most {available} of this payment can be refunded "
                    "(the rest paid invoices or was refunded)."
                ]
            }
        )
    return Refund.objects.create(
        patient_id=payment.patient_id,
        payment=payment,
        amount=amount,
        method=method,
        reference=(reference or "")[:100],
        refunded_on=refunded_on,
        reason=reason.strip()[:300],
        issued_by=actor_user(actor),
    )


@transaction.atomic
def adjustment_record(
    *,
    patient: Patient,
    actor: Actor,
    amount: object,
    reason: str,
    note: str = "",
    adjusted_on: date | None = None,
    invoice: Invoice | None = None,
    claim: Claim | None = None,
) -> Adjustment:
    """Correct the account: a positive amount takes money off, a negative one adds."""
    require(actor, Perm.ADJUST_LEDGER)
    try:
        value = money(amount)
    except (TypeError, ArithmeticError, ValueError) as exc:
        raise ValidationError(
            {"amount": ["Give an amount like 25.00 or -10.00."]}
        ) from exc
    if value == ZERO or abs(value) > MAX_AMOUNT:
        raise ValidationError(
            {"amount": [f"Give a non-zero amount up to {MAX_AMOUNT}."]}
        )
    if reason not in Adjustment.Reason.values:
        raise ValidationError({"reason": ["Choose why the account is adjusted."]})
    adjusted_on = adjusted_on or _today()
    _not_future(adjusted_on, "adjusted_on")
    if claim is not None and claim.patient_id != patient.pk:
        raise ValidationError({"claim": ["This claim belongs to another patient."]})
    if invoice is not None:
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.patient_id != patient.pk:
            raise ValidationError(
                {"invoice": ["This invoice belongs to another patient."]}
            )
        if value < ZERO or value > invoice_open_amount(invoice):
            raise ValidationError(
                {
                    "amount": [
                        "An invoice is adjusted by at most what is still open on it."
                    ]
                }
            )
    adjustment = Adjustment.objects.create(
        patient=patient,
        amount=value,
        reason=reason,
        note=(note or "")[:300],
        adjusted_on=adjusted_on,
        invoice=invoice,
        claim=claim,
        made_by=actor_user(actor),
    )
    if invoice is not None and invoice_open_amount(invoice) == ZERO:
        _settled(invoice)
    return adjustment
