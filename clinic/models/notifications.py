"""In-portal notifications: a line for one member of staff, read or not yet."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class NotificationKind(models.TextChoices):
    TASK_ASSIGNED = "task_assigned", "A task was assigned to me"
    DOCUMENT_REVIEW = "document_review", "A document needs review"
    PATIENT_TEXT = "patient_text", "A patient's text arrived"
    CLAIM_DENIED = "claim_denied", "A claim was denied"
    CAMPAIGN_FINISHED = "campaign_finished", "A call campaign finished"


class Notification(models.Model):
    """Something one member should know about, with where to look.

    The title names the event, never a patient: a notification list is shown
    in the navigation of whatever page the member has open.
    """

    Kind = NotificationKind

    # Memberships live in the public schema: no database constraint (see
    # Provider.membership).
    member = models.ForeignKey(
        "portal.Membership",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["member", "-created_at", "-id"], name="clinic_notif_member_idx"
            ),
            models.Index(
                fields=["member"],
                condition=Q(read_at__isnull=True),
                name="clinic_notif_unread_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(url="") | Q(url__startswith="/"),
                name="clinic_notification_url_is_local",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationMute(models.Model):
    """A kind of notification a member chose not to receive."""

    member = models.ForeignKey(
        "portal.Membership",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "kind"], name="clinic_notificationmute_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} mutes {self.kind}"
