"""A patient's insurance policies, with the member id encrypted at rest."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeBoundary, RangeOperators
from django.db import models
from django.db.models import F, Func, Q

from billing.crypto import MemberIdField, mask_member_id


class DateRange(Func):
    """daterange(from, to, '[]') for the exclusion constraint (NULL end: open)."""

    function = "DATERANGE"
    output_field = DateRangeField()


class Policy(models.Model):
    """A patient's coverage with one payer, in the order it pays (primary first)."""

    class Priority(models.TextChoices):
        PRIMARY = "primary", "Primary"
        SECONDARY = "secondary", "Secondary"
        TERTIARY = "tertiary", "Tertiary"

    class Relationship(models.TextChoices):
        # X12 individual relationship codes (SBR02 / PAT01).
        SELF = "18", "Self"
        SPOUSE = "01", "Spouse"
        CHILD = "19", "Child"
        OTHER = "G8", "Other relationship"

    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        UNKNOWN = "U", "Unknown"

    patient = models.ForeignKey(
        "clinic.Patient", on_delete=models.PROTECT, related_name="policies"
    )
    payer = models.ForeignKey(
        "billing.Payer", on_delete=models.PROTECT, related_name="policies"
    )
    member_id = MemberIdField(max_length=80)
    group_number = models.CharField(max_length=50, blank=True)
    priority = models.CharField(
        max_length=10, choices=Priority.choices, default=Priority.PRIMARY
    )
    relationship = models.CharField(
        "patient's relationship to the subscriber",
        max_length=2,
        choices=Relationship.choices,
        default=Relationship.SELF,
    )
    subscriber_first_name = models.CharField(max_length=35, blank=True)
    subscriber_last_name = models.CharField(max_length=60, blank=True)
    subscriber_date_of_birth = models.DateField(null=True, blank=True)
    subscriber_sex = models.CharField(max_length=1, choices=Sex.choices, blank=True)
    effective_from = models.DateField()
    effective_to = models.DateField(
        null=True, blank=True, help_text="Empty: still in force."
    )
    eligibility_verified_on = models.DateField(null=True, blank=True)
    eligibility_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    eligibility_note = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["patient", "priority", "-effective_from", "id"]
        verbose_name_plural = "policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gte=F("effective_from")),
                name="%(app_label)s_%(class)s_dates_ordered",
                violation_error_message="A policy cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(relationship="18")
                | (
                    ~Q(subscriber_last_name="")
                    & Q(subscriber_date_of_birth__isnull=False)
                ),
                name="%(app_label)s_%(class)s_subscriber_named",
                violation_error_message="Name the subscriber and give their date of "
                "birth when the patient is not the subscriber.",
            ),
            # One primary (secondary, tertiary) at a time: two active policies of the
            # same priority may not cover the same day.
            ExclusionConstraint(
                name="%(app_label)s_%(class)s_one_per_priority",
                expressions=[
                    ("patient", RangeOperators.EQUAL),
                    ("priority", RangeOperators.EQUAL),
                    (
                        DateRange(
                            "effective_from",
                            "effective_to",
                            RangeBoundary(inclusive_lower=True, inclusive_upper=True),
                        ),
                        RangeOperators.OVERLAPS,
                    ),
                ],
                condition=Q(is_active=True),
                violation_error_message="The patient already has an active policy of "
                "this priority for these dates.",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "priority"], name="billing_policy_patient")
        ]

    def __str__(self) -> str:
        return f"{self.payer} ({self.get_priority_display().lower()})"

    @property
    def member_id_masked(self) -> str:
        return mask_member_id(self.member_id)

    def covers(self, day: date) -> bool:
        return (
            self.is_active
            and self.effective_from <= day
            and (self.effective_to is None or day <= self.effective_to)
        )
