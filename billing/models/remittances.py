"""835 remittances as received: payments, claims, lines and adjustments, and what matched."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from billing.money import MoneyField, amount_check


class Remittance(models.Model):
    """One payment (check or EFT) from a payer with its explanation (an 835 transaction)."""

    payer = models.ForeignKey(
        "billing.Payer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="remittances",
    )
    payer_name = models.CharField(max_length=60)
    payer_identifier = models.CharField(max_length=80, help_text="TRN03 / REF*2U.")
    trace_number = models.CharField(
        max_length=50, help_text="Check or EFT number (TRN02)."
    )
    payment_amount = MoneyField(help_text="BPR02.")
    payment_method = models.CharField(max_length=3, help_text="BPR04: ACH, CHK, NON...")
    payment_date = models.DateField(null=True, blank=True)
    file_sha256 = models.CharField(max_length=64)
    content = models.TextField()
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-imported_at", "-id"]
        constraints = [
            # The same payment is posted once, whatever file it comes in.
            models.UniqueConstraint(
                fields=["payer_identifier", "trace_number"],
                name="%(app_label)s_%(class)s_unique_trace",
                violation_error_message="This payment has already been imported.",
            ),
            amount_check(
                "payment_amount",
                rule="payment_amount_range",
                signed=True,
                allow_zero=True,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payer_name} {self.trace_number} {self.payment_amount}"


class RemittanceClaim(models.Model):
    """One claim payment of a remittance (CLP loop), matched to our claim or queued."""

    class Match(models.TextChoices):
        POSTED = "posted", "Posted"
        UNMATCHED = "unmatched", "Unmatched"
        RESOLVED = "resolved", "Matched by hand and posted"
        DISMISSED = "dismissed", "Dismissed"

    remittance = models.ForeignKey(
        Remittance, on_delete=models.PROTECT, related_name="claims"
    )
    sequence = models.PositiveIntegerField(help_text="Its place in the file.")
    claim = models.ForeignKey(
        "billing.Claim",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="remittances",
    )
    patient_control_number = models.CharField(max_length=38, help_text="CLP01.")
    status_code = models.CharField(
        max_length=2, help_text="CLP02 (1 processed, 4 denied, 22 reversal)."
    )
    total_charge = MoneyField(help_text="CLP03.")
    paid = MoneyField(help_text="CLP04.")
    patient_responsibility = MoneyField(default=0, help_text="CLP05.")
    # The sum of this claim payment's CAS amounts (claim and lines) except OA-23,
    # which restates earlier payers: what it took off the payer's side besides
    # the payment. A/R reads it instead of adding up every adjustment; a deferred
    # constraint trigger (migration 0002) keeps it equal to its adjustments.
    adjusted = MoneyField(default=0)
    payer_claim_number = models.CharField(max_length=50, blank=True, help_text="CLP07.")
    patient_name = models.CharField(max_length=120, blank=True)
    match = models.CharField(max_length=10, choices=Match.choices)
    unmatched_reason = models.CharField(max_length=300, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["remittance", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["remittance", "sequence"],
                name="%(app_label)s_%(class)s_unique_sequence",
                violation_error_message="Each claim payment of a remittance is stored once.",
            ),
            models.CheckConstraint(
                condition=~Q(match__in=["posted", "resolved"]) | Q(claim__isnull=False),
                name="%(app_label)s_%(class)s_posted_has_claim",
                violation_error_message="A posted claim payment names its claim.",
            ),
            amount_check(
                "total_charge", rule="charge_range", signed=True, allow_zero=True
            ),
            amount_check("paid", rule="paid_range", signed=True, allow_zero=True),
            amount_check(
                "patient_responsibility", rule="pr_range", signed=True, allow_zero=True
            ),
            amount_check(
                "adjusted", rule="adjusted_range", signed=True, allow_zero=True
            ),
        ]
        indexes = [
            models.Index(
                fields=["match"],
                name="billing_remclaim_queue",
                condition=Q(match="unmatched"),
            ),
            models.Index(fields=["claim"], name="billing_remclaim_claim"),
            # A/R aging: what posted claim payments took off each claim, in claim order.
            models.Index(
                fields=["claim"],
                include=["paid", "adjusted"],
                name="billing_remclaim_posted",
                condition=Q(match__in=["posted", "resolved"]),
            ),
            # Collections by month: what each remittance's posted claim payments paid.
            models.Index(
                fields=["remittance"],
                include=["paid"],
                name="billing_remclaim_paid",
                condition=Q(match__in=["posted", "resolved"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_control_number} paid {self.paid}"

    @property
    def is_reversal(self) -> bool:
        return self.status_code == "22"


class RemittanceLine(models.Model):
    """A service line's payment (SVC), or the claim's payment when no lines came."""

    remittance_claim = models.ForeignKey(
        RemittanceClaim, on_delete=models.PROTECT, related_name="lines"
    )
    claim_line = models.ForeignKey(
        "billing.ClaimLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="remittance_lines",
    )
    code = models.CharField(max_length=48, blank=True)
    modifiers = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    line_control = models.CharField(
        max_length=50, blank=True, help_text="REF*6R: the line control number we sent."
    )
    charge = MoneyField(default=0)
    paid = MoneyField(default=0)
    units = models.DecimalField(max_digits=9, decimal_places=2, default=1)

    class Meta:
        ordering = ["remittance_claim", "id"]
        constraints = [
            amount_check("charge", rule="charge_range", signed=True, allow_zero=True),
            amount_check("paid", rule="paid_range", signed=True, allow_zero=True),
        ]

    def __str__(self) -> str:
        return f"{self.code} paid {self.paid}"


class RemittanceAdjustment(models.Model):
    """A CAS adjustment: group (CO, PR, OA, PI, CR), reason (CARC) and amount."""

    class Group(models.TextChoices):
        CONTRACTUAL = "CO", "Contractual obligation"
        PATIENT = "PR", "Patient responsibility"
        OTHER = "OA", "Other adjustment"
        PAYER_INITIATED = "PI", "Payer initiated reduction"
        CORRECTION = "CR", "Correction and reversal"

    remittance_claim = models.ForeignKey(
        RemittanceClaim, on_delete=models.PROTECT, related_name="adjustments"
    )
    remittance_line = models.ForeignKey(
        RemittanceLine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="adjustments",
    )
    group = models.CharField(max_length=2, choices=Group.choices)
    reason = models.CharField(
        max_length=5, help_text="Claim adjustment reason code (CARC)."
    )
    amount = MoneyField()
    quantity = models.DecimalField(
        max_digits=9, decimal_places=2, null=True, blank=True
    )

    class Meta:
        ordering = ["remittance_claim", "id"]
        constraints = [
            amount_check("amount", rule="amount_range", signed=True, allow_zero=True),
        ]
        indexes = [models.Index(fields=["group", "reason"], name="billing_remadj_code")]

    def __str__(self) -> str:
        return f"{self.group}-{self.reason} {self.amount}"

    @property
    def reduces_balance(self) -> bool:
        """Whether it takes money off what the patient's account owes.

        Patient responsibility (PR) stays on the account, now owed by the
        patient; OA-23 restates earlier payers' adjudication, already posted.
        """
        return self.group != "PR" and not (self.group == "OA" and self.reason == "23")
