"""Waitlist offers: a freed slot held for a while and texted to waiting patients.

At most one open offer holds a slot; the first patient to answer YES gets it,
booked through the booking service under a lock on the offer.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class WaitlistOffer(models.Model):
    """A freed slot offered to the best-fitting waiting patients."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        BOOKED = "booked", "Booked"
        EXPIRED = "expired", "Expired"
        WITHDRAWN = "withdrawn", "Withdrawn"

    provider = models.ForeignKey(
        "clinic.Provider", on_delete=models.PROTECT, related_name="waitlist_offers"
    )
    appointment_type = models.ForeignKey(
        "clinic.AppointmentType",
        on_delete=models.PROTECT,
        related_name="waitlist_offers",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    hold_until = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN
    )
    appointment = models.ForeignKey(
        "clinic.Appointment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="waitlist_offers",
    )
    created_by = models.CharField(max_length=254)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "start"],
                condition=Q(status="open"),
                name="calls_waitlistoffer_one_open_per_slot",
            ),
        ]
        indexes = [
            models.Index(
                fields=["hold_until"],
                condition=Q(status="open"),
                name="calls_offer_open",
            ),
        ]

    def __str__(self) -> str:
        return f"Offer of {self.provider} at {self.start:%Y-%m-%d %H:%M}"


class WaitlistOfferRecipient(models.Model):
    """One waiting patient an offer was texted to, and their answer."""

    class Status(models.TextChoices):
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Got the slot"
        DECLINED = "declined", "Declined"
        MISSED = "missed", "The slot went to someone else"

    offer = models.ForeignKey(
        WaitlistOffer, on_delete=models.CASCADE, related_name="recipients"
    )
    entry = models.ForeignKey(
        "clinic.WaitlistEntry", on_delete=models.PROTECT, related_name="offers"
    )
    message = models.OneToOneField(
        "calls.Message",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="offer",
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OFFERED
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["offer", "entry"], name="calls_waitlistofferrecipient_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry} for {self.offer}"
