"""The patient's side of the money: invoices, payments, refunds and adjustments.

Nothing here stores a balance: `billing.selectors.ledger` computes it in the
database from these rows, the encounters' charges and the insurance postings.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.money import MoneyField, amount_check


class Invoice(models.Model):
    """What the patient owes for a visit: copay, coinsurance, deductible or self-pay."""

    class Kind(models.TextChoices):
        COPAY = "copay", "Copay"
        COINSURANCE = "coinsurance", "Coinsurance"
        DEDUCTIBLE = "deductible", "Deductible"
        SELF_PAY = "self_pay", "Self-pay"
        OTHER = "other", "Other patient responsibility"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = (
            "paid",
            "Paid",
        )  # settled by payments and adjustments (set by the services)
        VOID = "void", "Void"

    patient = models.ForeignKey(
        "clinic.Patient", on_delete=models.PROTECT, related_name="invoices"
    )
    encounter = models.ForeignKey(
        "billing.Encounter",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    claim = models.ForeignKey(
        "billing.Claim",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    source_adjustment = models.ForeignKey(
        "billing.RemittanceAdjustment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
        help_text="The 835 PR adjustment this invoice bills.",
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = MoneyField()
    description = models.CharField(max_length=200, blank=True)
    issued_on = models.DateField()
    due_on = models.DateField()
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["issued_on", "id"]
        constraints = [
            amount_check("amount", rule="amount_range"),
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("issued_on")),
                name="%(app_label)s_%(class)s_due_after_issue",
                violation_error_message="An invoice falls due on or after its issue date.",
            ),
            models.UniqueConstraint(
                fields=["source_adjustment"],
                condition=Q(source_adjustment__isnull=False),
                name="%(app_label)s_%(class)s_one_per_adjustment",
                violation_error_message="This adjustment is already invoiced.",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "status"], name="billing_invoice_patient"),
            # A/R aging reads open invoices in id order from the index alone.
            models.Index(
                fields=["id"],
                include=["issued_on", "amount"],
                name="billing_invoice_open_aging",
                condition=Q(status="open"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.issued_on})"


class Payment(models.Model):
    """Money the patient paid the clinic (all or part of what they owe)."""

    class Method(models.TextChoices):
        CASH = "cash", "Cash"
        CARD = "card", "Card"
        CHECK = "check", "Check"
        ACH = "ach", "Bank transfer"
        OTHER = "other", "Other"

    patient = models.ForeignKey(
        "clinic.Patient", on_delete=models.PROTECT, related_name="payments"
    )
    amount = MoneyField()
    method = models.CharField(max_length=6, choices=Method.choices)
    reference = models.CharField(
        max_length=100, blank=True, help_text="Check or receipt number."
    )
    received_on = models.DateField()
    note = models.CharField(max_length=300, blank=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_on", "id"]
        constraints = [amount_check("amount", rule="amount_range")]
        indexes = [
            models.Index(
                fields=["patient", "received_on"], name="billing_payment_patient"
            ),
            models.Index(fields=["received_on"], name="billing_payment_day"),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} on {self.received_on}"


class PaymentAllocation(models.Model):
    """The part of a payment that settles one invoice."""

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="allocations"
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="allocations"
    )
    amount = MoneyField()

    class Meta:
        constraints = [
            amount_check("amount", rule="amount_range"),
            models.UniqueConstraint(
                fields=["payment", "invoice"],
                name="%(app_label)s_%(class)s_unique_pair",
                violation_error_message="A payment settles an invoice in one allocation.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["invoice"], include=["amount"], name="billing_alloc_invoice"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.amount} of payment {self.payment_id} to invoice {self.invoice_id}"
        )


class Refund(models.Model):
    """Money given back to the patient from one of their payments."""

    patient = models.ForeignKey(
        "clinic.Patient", on_delete=models.PROTECT, related_name="refunds"
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="refunds"
    )
    amount = MoneyField()
    method = models.CharField(max_length=6, choices=Payment.Method.choices)
    reference = models.CharField(max_length=100, blank=True)
    refunded_on = models.DateField()
    reason = models.CharField(max_length=300)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["refunded_on", "id"]
        constraints = [amount_check("amount", rule="amount_range")]
        indexes = [models.Index(fields=["patient"], name="billing_refund_patient")]

    def __str__(self) -> str:
        return f"Refund {self.amount} on {self.refunded_on}"


class Adjustment(models.Model):
    """A correction of the patient's account by staff: a write-off, a discount...

    A positive amount takes money off what is owed; a negative one adds to it.
    """

    class Reason(models.TextChoices):
        WRITE_OFF = "write_off", "Write-off"
        DISCOUNT = "discount", "Discount (prompt pay, hardship)"
        SMALL_BALANCE = "small_balance", "Small balance"
        BAD_DEBT = "bad_debt", "Bad debt"
        CORRECTION = "correction", "Correction"

    patient = models.ForeignKey(
        "clinic.Patient", on_delete=models.PROTECT, related_name="adjustments"
    )
    claim = models.ForeignKey(
        "billing.Claim",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="adjustments",
    )
    invoice = models.ForeignKey(
        Invoice,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="adjustments",
    )
    amount = MoneyField()
    reason = models.CharField(max_length=14, choices=Reason.choices)
    note = models.CharField(max_length=300, blank=True)
    adjusted_on = models.DateField()
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["adjusted_on", "id"]
        constraints = [amount_check("amount", rule="amount_range", signed=True)]
        indexes = [
            models.Index(fields=["patient"], name="billing_adjust_patient"),
            models.Index(
                fields=["invoice"],
                include=["amount"],
                name="billing_adjust_invoice",
                condition=Q(invoice__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.amount}"
