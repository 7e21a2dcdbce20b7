"""Reminders: the clinic's policy, its texts, and the reminder rows of each visit.

A visit gets one reminder row per step of the policy (and one for the booking
confirmation), each about one visit time: `(appointment, kind, offset, visit_start)`
is unique, so a step is never sent twice for the same time, and a moved visit
gets rows of its own for its new time.
"""

from __future__ import annotations

from datetime import time

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

DEFAULT_STEPS = [
    {"offset_minutes": 72 * 60, "channel": "sms"},
    {"offset_minutes": 24 * 60, "channel": "sms"},
]


def default_steps() -> list[dict]:
    return [dict(step) for step in DEFAULT_STEPS]


class ReminderPolicy(models.Model):
    """How and when this clinic texts its patients about their visits (one row)."""

    singleton = models.BooleanField(default=True, editable=False)
    steps = models.JSONField(
        default=default_steps, help_text="[{offset_minutes, channel}] before the visit."
    )
    booking_confirmation = models.BooleanField(
        default=True, help_text="Text the patient when a visit is booked."
    )
    booking_grace_minutes = models.PositiveSmallIntegerField(
        default=3,
        validators=[MaxValueValidator(120)],
        help_text="Wait this long after booking, so a quick correction sends one text.",
    )
    quiet_hours = models.BooleanField(default=True)
    quiet_start = models.TimeField(default=time(20, 0))
    quiet_end = models.TimeField(default=time(8, 0))
    min_lead_minutes = models.PositiveSmallIntegerField(
        default=60,
        validators=[MaxValueValidator(24 * 60)],
        help_text="A reminder that cannot go out at least this long before the visit is skipped.",
    )
    daily_cap = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    weekly_cap = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    remind_after_confirmation = models.BooleanField(
        default=True,
        help_text="Keep sending later reminders once the patient confirmed (without asking again).",
    )
    auto_cancel_unconfirmed = models.BooleanField(default=False)
    auto_cancel_hours_before = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(1), MaxValueValidator(168)]
    )
    no_show_after_minutes = models.PositiveSmallIntegerField(
        default=60,
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)],
        help_text="Visits not checked in this long after their end become no-shows.",
    )
    waitlist_auto_offer = models.BooleanField(
        default=False, help_text="Text the waitlist when a slot frees up."
    )
    waitlist_hold_minutes = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]
    )
    waitlist_offer_size = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    reply_window_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text="A reply applies to a reminder sent at most this many days before.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=254, blank=True)

    class Meta:
        verbose_name_plural = "reminder policies"
        constraints = [
            models.UniqueConstraint(
                fields=["singleton"], name="calls_reminderpolicy_one_row"
            ),
            models.CheckConstraint(
                condition=Q(singleton=True), name="calls_reminderpolicy_singleton"
            ),
            models.CheckConstraint(
                condition=Q(weekly_cap__gte=F("daily_cap")),
                name="calls_reminderpolicy_caps_ordered",
            ),
        ]

    def __str__(self) -> str:
        return "Reminder policy"


class ReminderTypePolicy(models.Model):
    """A visit type's own reminder steps, when they differ from the clinic's."""

    appointment_type = models.OneToOneField(
        "clinic.AppointmentType",
        on_delete=models.CASCADE,
        related_name="reminder_policy",
    )
    reminders_enabled = models.BooleanField(default=True)
    steps = models.JSONField(
        null=True, blank=True, help_text="Empty: the clinic's steps."
    )
    booking_confirmation = models.BooleanField(
        null=True, blank=True, help_text="Empty: the clinic's choice."
    )

    def __str__(self) -> str:
        return f"Reminders for {self.appointment_type}"


class TemplateKind(models.TextChoices):
    REMINDER = "reminder", "Reminder"
    BOOKING_CONFIRMATION = "booking_confirmation", "Booking confirmation"
    CONFIRM_ACK = "confirm_ack", "Reply: confirmed"
    CANCEL_ACK = "cancel_ack", "Reply: cancelled"
    HELP = "help", "Reply: HELP"
    AUTO_CANCEL = "auto_cancel", "Cancelled (not confirmed)"
    WAITLIST_OFFER = "waitlist_offer", "Waitlist offer"
    WAITLIST_WON = "waitlist_won", "Waitlist: booked"
    WAITLIST_TAKEN = "waitlist_taken", "Waitlist: slot taken"


class MessageTemplate(models.Model):
    """The clinic's own wording of a text in one language (else the shipped one)."""

    kind = models.CharField(max_length=24, choices=TemplateKind.choices)
    language = models.CharField(
        max_length=8, choices=[("en", "English"), ("es", "Spanish")]
    )
    appointment_type = models.ForeignKey(
        "clinic.AppointmentType",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="message_templates",
        help_text="Empty: every visit type.",
    )
    body = models.TextField(max_length=1600)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["kind", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "language", "appointment_type"],
                nulls_distinct=False,
                name="calls_messagetemplate_one_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.language})"


class Reminder(models.Model):
    """One planned text about one visit time: when it is due and what became of it."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        BOOKING_CONFIRMATION = "booking_confirmation", "Booking confirmation"

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        CANCELLED = "cancelled", "Cancelled"

    class Reason(models.TextChoices):
        NONE = "", "—"
        TOO_LATE = "too_late", "Too close to the visit"
        QUIET_HOURS = "quiet_hours", "Quiet hours left no time before the visit"
        NO_CONSENT = "no_consent", "No consent to texts"
        NO_PHONE = "no_phone", "No mobile number"
        OPTED_OUT = "opted_out", "The number opted out"
        NO_SENDER = "no_sender", "The clinic has no texting number"
        FREQUENCY_CAP = "frequency_cap", "Frequency cap reached"
        CONFIRMED = "confirmed", "The patient already confirmed"
        DISABLED = "disabled", "Reminders are off for this visit type"
        POLICY_CHANGED = "policy_changed", "The reminder policy changed"
        VISIT_CANCELLED = "visit_cancelled", "The visit was cancelled"
        VISIT_MOVED = "visit_moved", "The visit was moved"
        VISIT_CLOSED = "visit_closed", "The visit is no longer upcoming"
        PROVIDER_ERROR = "provider_error", "The carrier refused it"

    OUTCOMES = (("", "—"), ("confirmed", "Confirmed"), ("cancelled", "Cancelled"))

    # Derived from the visit: a visit removed for good (never in normal use: visits
    # are cancelled) takes its plan along; the texts themselves stay (SET_NULL).
    appointment = models.ForeignKey(
        "clinic.Appointment", on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    offset_minutes = models.PositiveIntegerField(
        default=0, help_text="Before the visit; 0 for a booking confirmation."
    )
    channel = models.CharField(max_length=8, default="sms")
    visit_start = models.DateTimeField(
        help_text="The visit time this reminder is about."
    )
    due_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    reason = models.CharField(
        max_length=16, choices=Reason.choices, blank=True, default=""
    )
    detail = models.CharField(max_length=300, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    reply = models.ForeignKey(
        "calls.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reply_outcome = models.CharField(max_length=10, choices=OUTCOMES, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["visit_start", "-offset_minutes", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "kind", "offset_minutes", "visit_start"],
                name="calls_reminder_once_per_step_and_time",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["skipped", "cancelled"]) | ~Q(reason=""),
                name="calls_reminder_skip_has_reason",
            ),
        ]
        indexes = [
            # The dispatcher's claim: planned rows by due time, nothing else.
            models.Index(
                fields=["due_at"],
                condition=Q(status="planned"),
                name="calls_reminder_due",
            ),
            models.Index(fields=["appointment", "status"], name="calls_reminder_appt"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for visit {self.appointment_id} due {self.due_at:%Y-%m-%d %H:%M}"
