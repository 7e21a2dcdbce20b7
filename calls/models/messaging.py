"""Texts in and out: conversations, messages and each status a message reached.

A message's status only moves forward (see `Message.RANK`); terminal statuses
are final. Outbound messages are also the outbox: a row is committed as
`pending` before the provider is called, `sending` while a worker calls it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Conversation(models.Model):
    """One thread with a patient, or with a number no single patient owns."""

    patient = models.OneToOneField(
        "clinic.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="conversation",
    )
    number = models.CharField(max_length=20, help_text="The patient's side, E.164.")
    last_message_at = models.DateTimeField(null=True, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    needs_attention = models.BooleanField(default=False)
    attention_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"],
                condition=Q(patient__isnull=True),
                name="calls_conversation_one_unmatched_per_number",
            ),
        ]
        indexes = [
            models.Index(fields=["-last_message_at", "-id"], name="calls_conv_recent"),
            models.Index(
                fields=["unread_count"],
                condition=Q(unread_count__gt=0),
                name="calls_conv_unread",
            ),
        ]

    def __str__(self) -> str:
        return str(self.patient) if self.patient_id else self.number


class Message(models.Model):
    """One text, in or out, with the carrier's SID and how far it got."""

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class Purpose(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        BOOKING_CONFIRMATION = "booking_confirmation", "Booking confirmation"
        STAFF = "staff", "Staff message"
        AUTO_REPLY = "auto_reply", "Automatic reply"
        AUTO_CANCEL = "auto_cancel", "Cancellation notice"
        WAITLIST_OFFER = "waitlist_offer", "Waitlist offer"
        INBOUND = "inbound", "Patient text"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENDING = "sending", "Sending"
        QUEUED = "queued", "Queued at carrier"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Not sent"
        READ = "read", "Read"
        RECEIVED = "received", "Received"

    # Forward only: a status of lower or equal rank never replaces the current one.
    RANK = {
        "pending": 0,
        "sending": 1,
        "queued": 2,
        "sent": 3,
        "delivered": 4,
        "undelivered": 4,
        "failed": 4,
        "canceled": 4,
        "read": 4,
        "received": 4,
    }
    TERMINAL = frozenset(
        {"delivered", "undelivered", "failed", "canceled", "read", "received"}
    )
    # Automated texts the frequency cap counts (the healthcare exemption's limits).
    CAPPED = ("reminder", "booking_confirmation")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.PROTECT, related_name="messages"
    )
    patient = models.ForeignKey(
        "clinic.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
    )
    appointment = models.ForeignKey(
        "clinic.Appointment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    reminder = models.OneToOneField(
        "calls.Reminder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="message",
    )
    direction = models.CharField(max_length=8, choices=Direction.choices)
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    to_number = models.CharField(max_length=20)
    from_number = models.CharField(max_length=20)
    body = models.TextField()
    segments = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=12, choices=Status.choices)
    sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    error_code = models.PositiveIntegerField(null=True, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    validity_seconds = models.PositiveIntegerField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    # Public-schema users: no database constraint across schemas (see Provider.membership).
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    sent_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(
        null=True, blank=True, help_text="Inbound: read by staff."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction="outbound") | Q(status="received"),
                name="calls_message_inbound_is_received",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["queued", "sent", "delivered", "read"])
                | Q(sid__isnull=False),
                name="calls_message_accepted_has_sid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["conversation", "-created_at", "-id"], name="calls_msg_thread"
            ),
            models.Index(fields=["-created_at", "-id"], name="calls_msg_recent"),
            models.Index(fields=["patient", "-created_at"], name="calls_msg_patient"),
            models.Index(fields=["to_number", "created_at"], name="calls_msg_to_time"),
            # The outbox: pending rows by when they may go (dispatcher's claim).
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="calls_msg_outbox",
            ),
            # Rows a worker was sending: reconciled when left there too long.
            models.Index(
                fields=["sending_started_at"],
                condition=Q(status="sending"),
                name="calls_msg_sending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.sid or self.pk}"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL


class MessageEvent(models.Model):
    """A status a message reached, recorded once however often it is reported."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="events"
    )
    status = models.CharField(max_length=12, choices=Message.Status.choices)
    error_code = models.PositiveIntegerField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    applied = models.BooleanField(
        default=True, help_text="False when it came too late to change the status."
    )

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "status"], name="calls_messageevent_once_per_status"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} {self.status}"
