"""Consent to texts: which numbers opted out, and the ledger of every change.

The ledger is the evidence a clinic keeps (number, patient, keyword, message
SID, time); the opt-out table is the current state the senders check.
"""

from __future__ import annotations

from django.db import models


class SmsOptOut(models.Model):
    """A number that asked for no more texts from this clinic."""

    number = models.CharField(max_length=20, unique=True)
    keyword = models.CharField(max_length=20)
    message_sid = models.CharField(max_length=64, blank=True)
    opted_out_at = models.DateTimeField()

    class Meta:
        ordering = ["-opted_out_at"]

    def __str__(self) -> str:
        return self.number


class ConsentEvent(models.Model):
    """One opt-out or opt-in, as it happened."""

    class Kind(models.TextChoices):
        OPT_OUT = "opt_out", "Opted out"
        OPT_IN = "opt_in", "Opted in"

    class Source(models.TextChoices):
        PATIENT_TEXT = "patient_text", "Patient's text"
        CARRIER = "carrier", "Carrier refused a send (21610)"
        STAFF = "staff", "Recorded by staff"

    number = models.CharField(max_length=20)
    patient = models.ForeignKey(
        "clinic.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consent_events",
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    source = models.CharField(max_length=12, choices=Source.choices)
    keyword = models.CharField(max_length=40, blank=True)
    message_sid = models.CharField(max_length=64, blank=True)
    recorded_by = models.CharField(max_length=254, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["number", "at"], name="calls_consent_number_time")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"
