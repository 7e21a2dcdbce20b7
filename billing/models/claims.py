"""Claims: what was billed to which payer, its lines, and its timeline."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.urls import reverse

from billing.models.encounters import line_constraints
from billing.money import MoneyField, amount_check

# CLM01 (patient control number) is this prefix and the claim's id; 835 CLP01
# carries it back.
CONTROL_PREFIX = "C"


class Claim(models.Model):
    """One bill to one payer for one encounter, and where it stands."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        READY = "ready", "Ready"
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        PAID = "paid", "Paid"
        PARTIALLY_PAID = "partially_paid", "Partially paid"
        DENIED = "denied", "Denied"
        APPEALED = "appealed", "Appealed"
        RESUBMITTED = "resubmitted", "Resubmitted (replaced)"
        VOID = "void", "Void"

    class Frequency(models.TextChoices):
        # CLM05-3 claim frequency type codes.
        ORIGINAL = "1", "Original"
        REPLACEMENT = "7", "Replacement (corrected)"
        VOID = "8", "Void / cancel of prior claim"

    class PayerOrder(models.TextChoices):
        # SBR01 payer responsibility sequence.
        PRIMARY = "P", "Primary"
        SECONDARY = "S", "Secondary"
        TERTIARY = "T", "Tertiary"

    encounter = models.ForeignKey(
        "billing.Encounter", on_delete=models.PROTECT, related_name="claims"
    )
    patient = models.ForeignKey(
        "clinic.Patient", on_delete=models.PROTECT, related_name="claims"
    )
    provider = models.ForeignKey(
        "clinic.Provider", on_delete=models.PROTECT, related_name="claims"
    )
    policy = models.ForeignKey(
        "billing.Policy", on_delete=models.PROTECT, related_name="claims"
    )
    payer = models.ForeignKey(
        "billing.Payer", on_delete=models.PROTECT, related_name="claims"
    )
    payer_order = models.CharField(
        max_length=1, choices=PayerOrder.choices, default=PayerOrder.PRIMARY
    )
    date_of_service = models.DateField()
    place_of_service = models.CharField(max_length=2, default="11")
    diagnosis_codes = ArrayField(models.CharField(max_length=7), default=list, size=12)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    frequency_code = models.CharField(
        max_length=1, choices=Frequency.choices, default=Frequency.ORIGINAL
    )
    original_claim = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replacements",
        help_text="The claim a corrected (7) or void (8) claim replaces.",
    )
    primary_claim = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="next_payer_claims",
        help_text="For a secondary claim: the prior payer's claim.",
    )
    payer_claim_number = models.CharField(
        max_length=50, blank=True, help_text="The payer's own number (835 CLP07)."
    )
    total_charge = MoneyField(help_text="The sum of the lines; the database checks it.")
    prior_payer_paid = MoneyField(
        default=0, help_text="Paid by earlier payers (secondary)."
    )
    batch = models.ForeignKey(
        "billing.ExportBatch",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="claims",
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    adjudicated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date_of_service", "-id"]
        constraints = [
            amount_check("total_charge", rule="total_charge_range", allow_zero=True),
            amount_check("prior_payer_paid", rule="prior_paid_range", allow_zero=True),
            models.CheckConstraint(
                condition=Q(frequency_code="1")
                | (~Q(payer_claim_number="") & Q(original_claim__isnull=False)),
                name="%(app_label)s_%(class)s_resubmission_names_original",
                violation_error_message="A corrected or void claim names the original "
                "claim and the payer's claim number.",
            ),
            models.CheckConstraint(
                condition=Q(payer_order="P") | Q(primary_claim__isnull=False),
                name="%(app_label)s_%(class)s_secondary_has_primary",
                violation_error_message="A secondary claim follows the prior payer's claim.",
            ),
            models.CheckConstraint(
                condition=Q(place_of_service__regex=r"^[0-9]{2}$"),
                name="%(app_label)s_%(class)s_pos_format",
                violation_error_message="A place of service is two digits.",
            ),
        ]
        indexes = [
            # The work list: each status in date-of-service order, filters from the index.
            models.Index(
                fields=["status", "date_of_service", "id"],
                include=["payer", "provider"],
                name="billing_claim_work_list",
            ),
            models.Index(fields=["date_of_service", "id"], name="billing_claim_dos"),
            models.Index(fields=["payer", "status"], name="billing_claim_payer_status"),
            models.Index(fields=["patient", "status"], name="billing_claim_patient"),
            models.Index(
                fields=["provider", "date_of_service"], name="billing_claim_provider"
            ),
            # A/R aging reads only claims a payer still owes on, in id order (to merge
            # with their remittances), from the index alone (billing.selectors.aging).
            models.Index(
                fields=["id"],
                include=[
                    "payer",
                    "date_of_service",
                    "total_charge",
                    "prior_payer_paid",
                ],
                name="billing_claim_open_ar",
                condition=Q(
                    status__in=[
                        "submitted",
                        "accepted",
                        "appealed",
                        "partially_paid",
                        "denied",
                    ]
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Claim {self.control_number}"

    def get_absolute_url(self) -> str:
        return reverse("billing-claim-detail", args=[self.pk])

    @property
    def control_number(self) -> str:
        return f"{CONTROL_PREFIX}{self.pk}"


class ClaimLine(models.Model):
    """A service line as billed on one claim (copied from the encounter when built)."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="lines")
    service_line = models.ForeignKey(
        "billing.ServiceLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="claim_lines",
    )
    line_number = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=5)
    modifiers = ArrayField(
        models.CharField(max_length=2), default=list, blank=True, size=4
    )
    units = models.PositiveIntegerField(default=1)
    charge = MoneyField()
    place_of_service = models.CharField(max_length=2, blank=True)
    diagnosis_pointers = ArrayField(
        models.PositiveSmallIntegerField(), default=list, size=4
    )
    date_of_service = models.DateField()

    class Meta:
        ordering = ["claim", "line_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "line_number"],
                name="%(app_label)s_%(class)s_unique_line",
                violation_error_message="Each line number is used once.",
            ),
            *line_constraints(),
        ]

    def __str__(self) -> str:
        return f"{self.code} x{self.units} {self.charge}"


class ClaimEvent(models.Model):
    """One step of a claim's timeline: who moved it from what to what, and why."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=24)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(
        max_length=200, help_text="Who or what, as it was then."
    )
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["claim", "at"], name="billing_claimevent_claim")
        ]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} -> {self.to_status} by {self.actor_name}"


class FollowUp(models.Model):
    """Work for billing staff: a denied claim to appeal, correct or write off."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, related_name="follow_ups"
    )
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    done_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim"],
                condition=Q(status="open"),
                name="%(app_label)s_%(class)s_one_open_per_claim",
                violation_error_message="This claim already has an open follow-up.",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(done_at__isnull=False),
                name="%(app_label)s_%(class)s_done_has_time",
                violation_error_message="A finished follow-up records when.",
            ),
        ]

    def __str__(self) -> str:
        return f"Follow up {self.claim}: {self.reason[:40]}"


class ExportBatch(models.Model):
    """One 837P interchange written for a batch of ready claims."""

    control_number = models.PositiveIntegerField(unique=True)
    content = models.TextField()
    claim_count = models.PositiveIntegerField()
    total_charge = MoneyField()
    validation = models.CharField(
        max_length=120,
        blank=True,
        help_text="How pyx12 checked it: the whole file, or a sample of every claim shape.",
    )
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
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "export batches"
        constraints = [
            amount_check("total_charge", rule="total_charge_range", allow_zero=True),
        ]

    def __str__(self) -> str:
        return f"837P batch {self.control_number:09d}"

    @property
    def filename(self) -> str:
        return f"837P-{self.control_number:09d}.x12"
