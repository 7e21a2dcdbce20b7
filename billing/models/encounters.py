"""A visit's coding: diagnoses and the services billed, from a completed appointment."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from billing.codes import MAX_DIAGNOSES, display_icd10
from billing.money import MAX_AMOUNT, MoneyField, amount_check

MAX_UNITS = 999


class Encounter(models.Model):
    """What happened at one completed visit, as billing sees it."""

    class Status(models.TextChoices):
        OPEN = "open", "To code"
        CODED = "coded", "Coded"
        VOID = "void", "Void"

    # A foreign key with a unique constraint, not a OneToOneField: the clinic's
    # audit trail diffs every appointment save field by field, and a reverse
    # one-to-one would cost each booking a query into billing.
    appointment = models.ForeignKey(
        "clinic.Appointment", on_delete=models.PROTECT, related_name="encounters"
    )
    patient = models.ForeignKey(
        "clinic.Patient", on_delete=models.PROTECT, related_name="encounters"
    )
    provider = models.ForeignKey(
        "clinic.Provider", on_delete=models.PROTECT, related_name="encounters"
    )
    date_of_service = models.DateField()
    place_of_service = models.CharField(max_length=2, default="11")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    self_pay = models.BooleanField(
        default=False, help_text="The patient pays for this visit; no claim is sent."
    )
    coded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    coded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date_of_service", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment"],
                name="%(app_label)s_%(class)s_one_per_visit",
                violation_error_message="This visit already has its encounter.",
            ),
            models.CheckConstraint(
                condition=Q(place_of_service__regex=r"^[0-9]{2}$"),
                name="%(app_label)s_%(class)s_pos_format",
                violation_error_message="A place of service is two digits.",
            ),
            models.CheckConstraint(
                condition=~Q(status="coded") | Q(coded_at__isnull=False),
                name="%(app_label)s_%(class)s_coded_has_time",
                violation_error_message="A coded encounter records when it was coded.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "date_of_service"], name="billing_enc_status_dos"
            ),
            models.Index(
                fields=["patient", "date_of_service"], name="billing_enc_patient"
            ),
        ]

    def __str__(self) -> str:
        return f"Encounter {self.pk} on {self.date_of_service}"


class Diagnosis(models.Model):
    """One ICD-10-CM code of an encounter, at its position (pointers refer to it)."""

    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, related_name="diagnoses"
    )
    position = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=7, help_text="Without the dot (J069).")
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["encounter", "position"]
        verbose_name_plural = "diagnoses"
        constraints = [
            models.UniqueConstraint(
                fields=["encounter", "position"],
                name="%(app_label)s_%(class)s_unique_position",
                violation_error_message="Each diagnosis position is used once.",
            ),
            models.UniqueConstraint(
                fields=["encounter", "code"],
                name="%(app_label)s_%(class)s_unique_code",
                violation_error_message="A diagnosis is listed once per encounter.",
            ),
            models.CheckConstraint(
                condition=Q(position__gte=1) & Q(position__lte=MAX_DIAGNOSES),
                name="%(app_label)s_%(class)s_position_range",
                violation_error_message=f"Diagnosis positions are 1 to {MAX_DIAGNOSES}.",
            ),
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$"),
                name="%(app_label)s_%(class)s_icd10_format",
                violation_error_message="Diagnoses are ICD-10-CM codes.",
            ),
        ]

    def __str__(self) -> str:
        return display_icd10(self.code)

    @property
    def display_code(self) -> str:
        return display_icd10(self.code)


def line_constraints() -> list[models.BaseConstraint]:
    """What the database keeps true of every service line (encounter or claim)."""
    return [
        models.CheckConstraint(
            condition=Q(units__gte=1) & Q(units__lte=MAX_UNITS),
            name="%(app_label)s_%(class)s_units_range",
            violation_error_message=f"Units are 1 to {MAX_UNITS}.",
        ),
        amount_check("charge", rule="charge_range", allow_zero=True),
        models.CheckConstraint(
            condition=Q(code__regex=r"^([0-9]{4}[0-9FT]|[A-V][0-9]{4})$"),
            name="%(app_label)s_%(class)s_procedure_format",
            violation_error_message="Procedures are CPT or HCPCS codes.",
        ),
        models.CheckConstraint(
            condition=Q(modifiers__len__lte=4) | Q(modifiers=[]),
            name="%(app_label)s_%(class)s_max_modifiers",
            violation_error_message="At most four modifiers per line.",
        ),
        models.CheckConstraint(
            condition=Q(diagnosis_pointers__len__gte=1)
            & Q(diagnosis_pointers__len__lte=4)
            & Q(diagnosis_pointers__contained_by=list(range(1, MAX_DIAGNOSES + 1))),
            name="%(app_label)s_%(class)s_pointers",
            violation_error_message="Each line points at 1 to 4 of the diagnoses.",
        ),
        models.CheckConstraint(
            condition=Q(line_number__gte=1) & Q(line_number__lte=50),
            name="%(app_label)s_%(class)s_line_number_range",
            violation_error_message="A claim has at most 50 service lines.",
        ),
    ]


class ServiceLine(models.Model):
    """A service billed for an encounter: procedure, modifiers, units, charge, pointers."""

    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, related_name="lines"
    )
    line_number = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=5)
    modifiers = ArrayField(
        models.CharField(max_length=2), default=list, blank=True, size=4
    )
    description = models.CharField(max_length=200, blank=True)
    units = models.PositiveIntegerField(default=1)
    charge = MoneyField(help_text="The line's total charge (all units).")
    place_of_service = models.CharField(
        max_length=2, blank=True, help_text="Empty: the encounter's."
    )
    diagnosis_pointers = ArrayField(
        models.PositiveSmallIntegerField(), default=list, size=4
    )

    class Meta:
        ordering = ["encounter", "line_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["encounter", "line_number"],
                name="%(app_label)s_%(class)s_unique_line",
                violation_error_message="Each line number is used once.",
            ),
            *line_constraints(),
        ]

    def __str__(self) -> str:
        return f"{self.code} x{self.units} {self.charge}"


__all__ = ["MAX_AMOUNT", "Diagnosis", "Encounter", "ServiceLine", "line_constraints"]
