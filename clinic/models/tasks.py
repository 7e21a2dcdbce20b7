"""Work items for the clinic's staff: made by people, or opened by the portal itself."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Task(models.Model):
    """Something a member of staff has to do, with its state and history."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    class Kind(models.TextChoices):
        MANUAL = "manual", "Created by staff"
        DOCUMENT_REVIEW = "document_review", "Document review"
        SMS_REPLY = "sms_reply", "Patient reply to read"
        CLAIM_FOLLOW_UP = "claim_follow_up", "Denied claim follow-up"

    OPEN_STATES = (State.OPEN, State.IN_PROGRESS)

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    patient = models.ForeignKey(
        "clinic.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    # Memberships and users live in the public schema: no database constraint
    # (see Provider.membership).
    assignee = models.ForeignKey(
        "portal.Membership",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    priority = models.CharField(
        max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    due_date = models.DateField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.MANUAL)
    # What a system task is about ("document:42", "message:SM..."), so the
    # portal opens one task per subject, not one per retry.
    source_key = models.CharField(max_length=80, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    created_by_label = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["assignee", "state", "due_date"],
                name="clinic_task_assignee_idx",
            ),
            models.Index(
                fields=["state", "due_date"], name="clinic_task_state_due_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "source_key"],
                condition=Q(state__in=["open", "in_progress"]) & ~Q(source_key=""),
                name="clinic_task_one_open_per_subject",
                violation_error_message="An open task for this already exists.",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["done", "cancelled"], closed_at__isnull=False)
                | Q(state__in=["open", "in_progress"], closed_at__isnull=True),
                name="clinic_task_closed_at_matches_state",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class TaskEvent(models.Model):
    """One change of a task: created, assigned, moved, edited or commented on."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        ASSIGNED = "assigned", "Assigned"
        MOVED = "moved", "State changed"
        EDITED = "edited", "Edited"
        COMMENT = "comment", "Comment"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    assignee = models.ForeignKey(
        "portal.Membership",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    by_label = models.CharField(max_length=120)
    note = models.TextField(blank=True, max_length=2000)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.by_label}"
