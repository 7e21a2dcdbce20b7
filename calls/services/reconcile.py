"""Reconciliation: texts left "sending" are settled against the provider's message list.

A worker that dies between the provider's answer and its own commit leaves a
row "sending" without a SID; so does a timeout. Such a row is never simply
sent again (Twilio's create has no idempotency key): once
SMS_RECONCILE_AFTER_SECONDS have passed (well past any live send's HTTP
timeout), the provider's list of texts from our number to that number is read,
and the row adopts the SID of the text with the same body that no other row
holds. Only when the provider has none is it sent again.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from calls import gateway
from calls.models import Message
from calls.services.outbox import PROVIDER_STATUS, reminders_mark_sent, status_forward

Status = Message.Status


def outbox_reconcile(*, limit: int = 100) -> dict[str, int]:
    """Rows left "sending": adopt what the provider has, resend only what it has not."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.SMS_RECONCILE_AFTER_SECONDS)
    counts = {"adopted": 0, "resent": 0, "unresolved": 0}
    with transaction.atomic():
        rows = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=Status.SENDING, sending_started_at__lt=cutoff)
            .order_by("sending_started_at")[:limit]
        )
        if not rows:
            return counts
        lists: dict[tuple[str, str], list[gateway.ProviderMessage]] = {}
        taken: set[str] = set()
        for row in rows:
            key = (row.to_number, row.from_number)
            try:
                if key not in lists:
                    since = min(
                        r.created_at
                        for r in rows
                        if (r.to_number, r.from_number) == key
                    )
                    lists[key] = gateway.sms_sent_to(
                        to=key[0], from_=key[1], since=since - timedelta(minutes=1)
                    )
            except gateway.GatewayError:
                counts["unresolved"] += 1
                continue
            candidates = [
                m for m in lists[key] if m.body == row.body and m.sid not in taken
            ]
            known = set(
                Message.objects.filter(sid__in=[m.sid for m in candidates]).values_list(
                    "sid", flat=True
                )
            )
            match = sorted(
                (m for m in candidates if m.sid not in known),
                key=lambda m: m.date_created or now,
            )
            row.reconciled_at = now
            if match:
                found = match[0]
                taken.add(found.sid)
                row.sid = found.sid
                row.status = Status.QUEUED
                row.queued_at = row.queued_at or now
                status = PROVIDER_STATUS.get(found.status, Status.QUEUED)
                status_forward(
                    row,
                    status,
                    at=now,
                    error_code=found.error_code,
                    error_message=found.error_message,
                )
                row.error_code, row.error_message = (
                    (found.error_code, found.error_message)
                    if found.error_code
                    else (None, "")
                )
                counts["adopted"] += 1
            else:
                row.status = Status.PENDING
                row.next_attempt_at = now
                row.error_message = "The provider had no record of it after a worker stopped; sending again."
                counts["resent"] += 1
            row.save()
        reminders_mark_sent([r for r in rows if r.sid])
    return counts
