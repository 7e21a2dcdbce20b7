"""Voice calls: sessions, their timeline, transcripts, campaigns and each patient's last call.

A session's status only moves forward (see `CallSession.RANK`); Twilio's
callbacks arrive in any order and more than once, so each is recorded once as
a `CallEvent` (unique per session and sequence number) and applied only when
it moves the session on. Busy, no-answer, canceled and failed end a call as
Failed; Voicemail, Supervisor Dialed, Completed and Terminated are outcomes a
later callback never replaces.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class CallCampaign(models.Model):
    """A batch of calls staff started (a recall list, a day's unconfirmed visits)."""

    class Kind(models.TextChoices):
        RECALL = "recall", "Workflow recall"
        UNCONFIRMED = "unconfirmed", "A day's unconfirmed visits"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        FINISHED = "finished", "Finished"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    workflow = models.ForeignKey(
        "clinic.Workflow",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="call_campaigns",
    )
    day = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    skipped = models.JSONField(
        default=dict, blank=True, help_text="Patients left out, by reason."
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    started_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="recall", workflow__isnull=False)
                | Q(kind="unconfirmed", day__isnull=False),
                name="calls_callcampaign_has_its_list",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CallSession(models.Model):
    """One phone call, out or in, from the queue to its end."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not Started"
        DIALING = "dialing", "Dialing"
        IN_PROGRESS = "in_progress", "In Progress"
        SUPERVISOR_DIALED = "supervisor_dialed", "Supervisor Dialed"
        VOICEMAIL = "voicemail", "Voicemail"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        TERMINATED = "terminated", "Terminated"

    class Purpose(models.TextChoices):
        CONFIRMATION = "confirmation", "Appointment confirmation"
        RECALL = "recall", "Recall"
        CUSTOM = "custom", "Custom message"
        INBOUND = "inbound", "Patient called"

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class AnsweredBy(models.TextChoices):
        HUMAN = "human", "Human"
        MACHINE = "machine", "Machine"
        FAX = "fax", "Fax"
        UNKNOWN = "unknown", "Unknown"

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"
        TRANSFERRED = "transferred", "Transferred to staff"
        VOICEMAIL = "voicemail", "Voicemail"
        NO_ANSWER = "no_answer", "No answer"
        BUSY = "busy", "Busy"
        FAILED = "failed", "Failed"
        HUNG_UP = "hung_up", "Hung up"
        NO_RESPONSE = "no_response", "No response"
        LISTENED = "listened", "Message heard"
        TERMINATED = "terminated", "Ended by staff"
        SKIPPED = "skipped", "Not placed"

    # Forward only: a status of lower or equal rank never replaces the current one.
    RANK = {
        "not_started": 0,
        "dialing": 1,
        "in_progress": 2,
        "supervisor_dialed": 3,
        "voicemail": 4,
        "completed": 4,
        "failed": 4,
        "terminated": 4,
    }
    FINAL = frozenset({"voicemail", "completed", "failed", "terminated"})
    # The outcomes after which an unanswered confirmation call is tried again.
    UNANSWERED = ("no_answer", "busy", "voicemail", "failed")

    patient = models.ForeignKey(
        "clinic.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="call_sessions",
    )
    appointment = models.ForeignKey(
        "clinic.Appointment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call_sessions",
    )
    workflow = models.ForeignKey(
        "clinic.Workflow",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call_sessions",
    )
    campaign = models.ForeignKey(
        CallCampaign,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sessions",
    )
    retry_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retry",
    )
    attempt = models.PositiveSmallIntegerField(default=1)
    purpose = models.CharField(max_length=12, choices=Purpose.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    custom_message = models.CharField(max_length=500, blank=True)
    language = models.CharField(max_length=2, default="en")
    status = models.CharField(
        max_length=18, choices=Status.choices, default=Status.NOT_STARTED
    )
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    carrier_status = models.CharField(max_length=16, blank=True)
    last_sequence = models.IntegerField(default=-1)
    error_code = models.PositiveIntegerField(null=True, blank=True)
    from_number = models.CharField(max_length=20, blank=True)
    to_number = models.CharField(max_length=20, blank=True)
    answered_by = models.CharField(max_length=8, choices=AnsweredBy.choices, blank=True)
    # The TwiML flow: which prompt the caller is at, and how often nothing was heard.
    flow_step = models.PositiveSmallIntegerField(default=0)
    flow_state = models.CharField(max_length=32, blank=True)
    misses = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    # Public-schema users: no database constraint across schemas.
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    started_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    placed_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A campaign calls each of its patients once, whatever restarts.
            models.UniqueConstraint(
                fields=["campaign", "patient"],
                condition=Q(campaign__isnull=False),
                name="calls_callsession_once_per_campaign",
            ),
            # One confirmation call waiting per visit at a time.
            models.UniqueConstraint(
                fields=["appointment"],
                condition=Q(status="not_started", purpose="confirmation"),
                name="calls_callsession_one_waiting_per_visit",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["in_progress", "supervisor_dialed"])
                | Q(sid__isnull=False),
                name="calls_callsession_live_has_sid",
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="calls_call_recent"),
            models.Index(fields=["patient", "-created_at"], name="calls_call_patient"),
            # The queue: calls waiting, oldest first (the dispatcher's claim).
            models.Index(
                fields=["created_at", "id"],
                condition=Q(status="not_started"),
                name="calls_call_queue",
            ),
            # Live outbound calls: what the concurrency limit counts.
            models.Index(
                fields=["placed_at"],
                condition=Q(placed_at__isnull=False, ended_at__isnull=True),
                name="calls_call_live",
            ),
        ]

    def __str__(self) -> str:
        return f"Call {self.sid or self.pk}"

    @property
    def is_live(self) -> bool:
        return self.placed_at is not None and self.ended_at is None

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class CallEvent(models.Model):
    """One step of a call's timeline: a callback, a flow step, or a staff action."""

    class Source(models.TextChoices):
        STATUS = "status", "Status callback"
        AMD = "amd", "Answering machine detection"
        FLOW = "flow", "Call flow"
        DIAL = "dial", "Transfer leg"
        PORTAL = "portal", "Portal"

    session = models.ForeignKey(
        CallSession, on_delete=models.CASCADE, related_name="events"
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    carrier_status = models.CharField(max_length=24, blank=True)
    sequence = models.IntegerField(null=True, blank=True)
    from_status = models.CharField(max_length=18, blank=True)
    to_status = models.CharField(max_length=18, blank=True)
    applied = models.BooleanField(default=True)
    detail = models.CharField(max_length=300, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            # Twilio retries callbacks: each sequence number is recorded once.
            models.UniqueConstraint(
                fields=["session", "source", "sequence"],
                condition=Q(sequence__isnull=False),
                name="calls_callevent_once_per_sequence",
            ),
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(source="amd"),
                name="calls_callevent_one_amd",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.source} {self.carrier_status}"


class TranscriptTurn(models.Model):
    """One thing said on a call: a prompt the portal spoke, or the caller's answer."""

    class Speaker(models.TextChoices):
        PORTAL = "portal", "Portal"
        CALLER = "caller", "Caller"

    class Kind(models.TextChoices):
        PROMPT = "prompt", "Prompt"
        DIGITS = "digits", "Keypad"
        SPEECH = "speech", "Speech"
        SILENCE = "silence", "No input"

    session = models.ForeignKey(
        CallSession, on_delete=models.CASCADE, related_name="turns"
    )
    step = models.PositiveSmallIntegerField()
    speaker = models.CharField(max_length=6, choices=Speaker.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    text = models.TextField()
    confidence = models.DecimalField(
        max_digits=4, decimal_places=3, null=True, blank=True
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            # A Gather's answer posted twice (Twilio retries) is one turn.
            models.UniqueConstraint(
                fields=["session", "step", "speaker"],
                name="calls_transcriptturn_once_per_step",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.step} {self.speaker}"


class PatientCallState(models.Model):
    """A patient's latest call: its status, session and time (as the call list shows)."""

    patient = models.OneToOneField(
        "clinic.Patient", on_delete=models.CASCADE, related_name="call_state"
    )
    last_session = models.ForeignKey(
        CallSession, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    last_status = models.CharField(max_length=18, choices=CallSession.Status.choices)
    last_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.patient_id}: {self.last_status}"


class VoicePolicy(models.Model):
    """How this clinic calls its patients (one row; the defaults until an admin saves one)."""

    singleton = models.BooleanField(default=True, editable=False)
    max_concurrent_calls = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Outbound calls at once; the rest wait in the queue, in order.",
    )
    escalate_unconfirmed = models.BooleanField(
        default=True,
        help_text="Call patients who did not answer their text reminder.",
    )
    escalate_hours_before = models.PositiveSmallIntegerField(
        default=24, validators=[MinValueValidator(1), MaxValueValidator(168)]
    )
    retry_minutes = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]
    )
    max_retries = models.PositiveSmallIntegerField(
        default=2, validators=[MaxValueValidator(5)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "voice policies"
        constraints = [
            models.UniqueConstraint(
                fields=["singleton"], name="calls_voicepolicy_one_row"
            ),
            models.CheckConstraint(
                condition=Q(singleton=True), name="calls_voicepolicy_singleton"
            ),
        ]

    def __str__(self) -> str:
        return "Voice policy"
