"""What billing needs to know once per clinic: who bills, the payers, the fees."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from billing.codes import (
    validate_npi,
    validate_payer_id,
    validate_procedure,
    validate_tax_id,
)
from billing.money import MoneyField, amount_check


class KeyCanary(models.Model):
    """A known text encrypted with the billing key; start-up checks the key reads it."""

    token = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Billing key canary {self.pk}"


class BillingSettings(models.Model):
    """The clinic as a billing provider (2010AA) and as the sender of 837P files.

    One row per clinic schema (the `singleton` column is unique and always true).
    """

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    organization_name = models.CharField(max_length=60, blank=True)
    npi = models.CharField(
        "billing provider NPI", max_length=10, blank=True, validators=[validate_npi]
    )
    tax_id = models.CharField(
        "tax id (EIN)", max_length=9, blank=True, validators=[validate_tax_id]
    )
    taxonomy_code = models.CharField(
        max_length=10, blank=True, help_text="e.g. 207Q00000X"
    )
    address_line = models.CharField(max_length=55, blank=True)
    city = models.CharField(max_length=30, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(
        max_length=9,
        blank=True,
        help_text="Nine digits (ZIP+4) for the billing provider.",
    )
    contact_name = models.CharField(max_length=60, blank=True)
    contact_phone = models.CharField(max_length=10, blank=True, help_text="Ten digits.")
    submitter_id = models.CharField(
        max_length=15,
        blank=True,
        help_text="Our id at the clearinghouse (ISA06, 1000A).",
    )
    receiver_id = models.CharField(
        max_length=15, blank=True, help_text="The clearinghouse's id (ISA08, 1000B)."
    )
    receiver_name = models.CharField(max_length=60, blank=True)
    default_place_of_service = models.CharField(max_length=2, default="11")
    # The last interchange control number used (ISA13 and GS06); taken under a row lock.
    last_control_number = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "billing settings"
        verbose_name_plural = "billing settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(singleton=True),
                name="%(app_label)s_%(class)s_singleton",
                violation_error_message="A clinic has one billing settings row.",
            ),
            models.CheckConstraint(
                condition=Q(last_control_number__lte=999_999_999),
                name="%(app_label)s_%(class)s_control_number_range",
                violation_error_message="Interchange control numbers have nine digits.",
            ),
        ]

    def __str__(self) -> str:
        return self.organization_name or "Billing settings"


class ProviderBilling(models.Model):
    """A provider's identity on claims: the rendering provider's NPI (2310B)."""

    # Unique foreign key rather than one-to-one: see Encounter.appointment.
    provider = models.ForeignKey(
        "clinic.Provider", on_delete=models.PROTECT, related_name="billing_identities"
    )
    npi = models.CharField("NPI", max_length=10, validators=[validate_npi])
    last_name = models.CharField(max_length=60)
    first_name = models.CharField(max_length=35, blank=True)
    taxonomy_code = models.CharField(max_length=10, blank=True)

    class Meta:
        verbose_name = "provider billing identity"
        constraints = [
            models.UniqueConstraint(
                fields=["provider"],
                name="%(app_label)s_%(class)s_one_per_provider",
                violation_error_message="This provider already has a billing identity.",
            ),
            models.CheckConstraint(
                condition=Q(npi__regex=r"^[0-9]{10}$"),
                name="%(app_label)s_%(class)s_npi_digits",
                violation_error_message="An NPI is ten digits.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} (NPI {self.npi})"


class FeeScheduleEntry(models.Model):
    """The clinic's charge for one unit of a procedure (with an optional modifier)."""

    code = models.CharField(max_length=5, validators=[validate_procedure])
    modifier = models.CharField(max_length=2, blank=True)
    description = models.CharField(max_length=200, blank=True)
    amount = MoneyField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code", "modifier"]
        verbose_name_plural = "fee schedule entries"
        constraints = [
            models.UniqueConstraint(
                fields=["code", "modifier"],
                name="%(app_label)s_%(class)s_unique_code",
                violation_error_message="This code already has a fee.",
            ),
            amount_check("amount", rule="amount_range", allow_zero=True),
        ]

    def __str__(self) -> str:
        code = f"{self.code}-{self.modifier}" if self.modifier else self.code
        return f"{code} {self.amount}"


class Payer(models.Model):
    """An insurance company or plan the clinic bills, and how it takes claims."""

    class FilingIndicator(models.TextChoices):
        # SBR09 claim filing indicator codes used by outpatient clinics.
        COMMERCIAL = "CI", "Commercial insurance"
        BLUE_CROSS = "BL", "Blue Cross / Blue Shield"
        HMO = "HM", "HMO"
        PPO = "12", "PPO"
        POS = "13", "Point of service"
        MEDICARE_B = "MB", "Medicare Part B"
        MEDICAID = "MC", "Medicaid"
        TRICARE = "CH", "TRICARE"
        VA = "VA", "Veterans Affairs"
        WORKERS_COMP = "WC", "Workers' compensation"
        OTHER = "ZZ", "Other / unknown"

    name = models.CharField(max_length=60)
    payer_id = models.CharField(
        "payer id",
        max_length=80,
        unique=True,
        validators=[validate_payer_id],
        help_text="The payer's electronic id (2010BB NM109, 835 TRN03/REF*2U).",
    )
    address_line = models.CharField(max_length=55, blank=True)
    city = models.CharField(max_length=30, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=9, blank=True)
    phone = models.CharField(max_length=10, blank=True)
    filing_indicator = models.CharField(
        max_length=2,
        choices=FilingIndicator.choices,
        default=FilingIndicator.COMMERCIAL,
    )
    timely_filing_days = models.PositiveSmallIntegerField(
        default=365,
        help_text="Days after the date of service a claim is still accepted.",
    )
    accepts_secondary = models.BooleanField(
        default=True, help_text="Takes claims as the secondary or tertiary payer."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(timely_filing_days__gte=1)
                & Q(timely_filing_days__lte=3650),
                name="%(app_label)s_%(class)s_timely_filing_range",
                violation_error_message="Timely filing is 1 to 3650 days.",
            ),
        ]

    def __str__(self) -> str:
        return self.name
