"""Writes of notifications: sent to members (as their preferences allow), marked read.

Every change of a member's unread count is published after commit to the
clinic's live events as {"kind": "notification", "member": id, "unread": n}:
the member's id and a number, nothing else, because the clinic's group reaches
every member's socket (pages fetch what they show, with their own checks).

Callers in other apps (wired at merge):
- documents, when a document needs review:
  notification_send(membership_ids=members_with_roles(DOCUMENT_REVIEW_ROLES),
  kind=NotificationKind.DOCUMENT_REVIEW, title="A document needs review",
  url=<the document's page>)
- call campaigns, when a campaign finishes:
  notification_send(membership_ids=[<the member who started it>],
  kind=NotificationKind.CAMPAIGN_FINISHED, title="Call campaign finished",
  url=<the campaign's page>)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from clinic.models import Notification, NotificationKind, NotificationMute
from portal.live import publish
from portal.models import Membership


def members_with_roles(roles: Iterable[str]) -> list[int]:
    """Ids of the clinic's active members (active users) in these roles."""
    return list(
        Membership.objects.filter(
            clinic_id=connection.tenant.pk,
            role__in=list(roles),
            is_active=True,
            user__is_active=True,
        ).values_list("pk", flat=True)
    )


def _unread_counts(member_ids: Iterable[int]) -> dict[int, int]:
    ids = list(member_ids)
    counts = dict.fromkeys(ids, 0)
    rows = (
        Notification.objects.filter(member_id__in=ids, read_at__isnull=True)
        .values("member_id")
        .annotate(n=Count("id"))
    )
    counts.update({row["member_id"]: row["n"] for row in rows})
    return counts


def _publish_counts(member_ids: Iterable[int]) -> None:
    for member_id, unread in _unread_counts(member_ids).items():
        publish("notification", {"member": member_id, "unread": unread})


def _check_url(url: str) -> str:
    url = (url or "").strip()
    # Links stay on the clinic's own host (no "//elsewhere" or "https://...").
    if url and (not url.startswith("/") or url.startswith("//")):
        raise ValidationError({"url": ["Link to a page of this clinic."]})
    return url[:300]


@transaction.atomic
def notification_send(
    *,
    membership_ids: Iterable[int],
    kind: str,
    title: str,
    url: str = "",
    now: datetime | None = None,
) -> list[Notification]:
    """Notify these members, except those who muted `kind`; the title names no patient."""
    if kind not in NotificationKind.values:
        raise ValidationError({"kind": [f"Unknown kind {kind!r}."]})
    title = title.strip()
    if not title:
        raise ValidationError({"title": ["Say what happened."]})
    url = _check_url(url)
    now = now or timezone.now()
    wanted = set(membership_ids)
    # Only members of this clinic: an id from elsewhere is dropped, not written.
    wanted = set(
        Membership.objects.filter(
            pk__in=wanted, clinic_id=connection.tenant.pk, is_active=True
        ).values_list("pk", flat=True)
    )
    muted = set(
        NotificationMute.objects.filter(member_id__in=wanted, kind=kind).values_list(
            "member_id", flat=True
        )
    )
    rows = Notification.objects.bulk_create(
        [
            Notification(
                member_id=member_id,
                kind=kind,
                title=title[:200],
                url=url,
                created_at=now,
            )
            for member_id in sorted(wanted - muted)
        ]
    )
    _publish_counts(n.member_id for n in rows)
    return rows


@transaction.atomic
def notification_mark_read(
    *, member: Membership, notification: Notification, now: datetime | None = None
) -> Notification:
    """Mark one of the member's notifications read (another's is "not found")."""
    if notification.member_id != member.pk:
        raise Notification.DoesNotExist
    updated = Notification.objects.filter(
        pk=notification.pk, member_id=member.pk, read_at__isnull=True
    ).update(read_at=now or timezone.now())
    if updated:
        _publish_counts([member.pk])
    notification.refresh_from_db(fields=["read_at"])
    return notification


@transaction.atomic
def notification_mark_all_read(
    *, member: Membership, now: datetime | None = None
) -> int:
    """Mark every unread notification of the member read; answer how many."""
    updated = Notification.objects.filter(
        member_id=member.pk, read_at__isnull=True
    ).update(read_at=now or timezone.now())
    if updated:
        _publish_counts([member.pk])
    return updated


@transaction.atomic
def notification_preferences_set(
    *, member: Membership, receive: Iterable[str]
) -> set[str]:
    """Receive these kinds, mute the others; answer the kinds received."""
    receive = set(receive)
    unknown = receive - set(NotificationKind.values)
    if unknown:
        raise ValidationError(
            {"receive": [f"Unknown kind {k!r}." for k in sorted(unknown)]}
        )
    muted = set(NotificationKind.values) - receive
    NotificationMute.objects.filter(member_id=member.pk).filter(
        ~Q(kind__in=muted)
    ).delete()
    NotificationMute.objects.bulk_create(
        [NotificationMute(member_id=member.pk, kind=k) for k in sorted(muted)],
        ignore_conflicts=True,
    )
    return receive
