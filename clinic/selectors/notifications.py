"""Reads of a member's own notifications (nobody reads another's)."""

from __future__ import annotations

from django.db.models import QuerySet

from clinic.models import Notification, NotificationKind, NotificationMute
from portal.models import Membership


def notifications_of(
    *, member: Membership, unread: bool = False, kind: str = ""
) -> QuerySet[Notification]:
    qs = Notification.objects.filter(member_id=member.pk)
    if unread:
        qs = qs.filter(read_at__isnull=True)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-created_at", "-id")


def unread_notification_count(*, member: Membership) -> int:
    """One index-only count (the partial index of unread rows)."""
    return Notification.objects.filter(
        member_id=member.pk, read_at__isnull=True
    ).count()


def notification_kinds_received(*, member: Membership) -> set[str]:
    muted = set(
        NotificationMute.objects.filter(member_id=member.pk).values_list(
            "kind", flat=True
        )
    )
    return set(NotificationKind.values) - muted
