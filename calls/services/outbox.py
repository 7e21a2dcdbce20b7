"""The outbox: a text is a committed row before the provider is called, and reconciled after.

Twilio's create-message call has no idempotency key, so a worker that dies
between the provider's answer and its own commit would, if it simply retried,
text the patient twice. Here:

1. a text is committed before any HTTP call: `pending` (staff texts, replies,
   retries), or already `sending` when a reminder claim re-checked it under
   its lock (calls.services.reminders);
2. a worker claims due `pending` rows (`FOR UPDATE SKIP LOCKED`), re-checks
   them, marks them `sending` and commits, then calls the provider;
3. the answer is recorded: the SID and `queued`, a permanent refusal as
   `failed` (reason kept for staff), a passing one back to `pending` with
   backoff;
4. a row left `sending` (the worker died, or the answer never came) is
   reconciled against the provider's message list (calls.services.reconcile).

Status callbacks carry the outbox id in their signed URL, so a callback can
also attach the SID to a row whose worker died.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from calls import gateway
from calls.events import publish_messages
from calls.models import ConsentEvent, Message, MessageEvent, Reminder, SmsOptOut
from calls.services.bulk import rows_update
from calls.services.common import current_clinic, status_callback_url
from calls.services.recheck import reminder_problem, status_for
from portal.models import Clinic

logger = logging.getLogger(__name__)
Status = Message.Status

# Twilio's statuses, as this outbox ranks them (see Message.RANK).
PROVIDER_STATUS = {
    "accepted": Status.QUEUED,
    "scheduled": Status.QUEUED,
    "queued": Status.QUEUED,
    "sending": Status.QUEUED,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "undelivered": Status.UNDELIVERED,
    "failed": Status.FAILED,
    "canceled": Status.CANCELED,
    "read": Status.READ,
    "partially_delivered": Status.DELIVERED,
}
STAMP = {
    Status.QUEUED: "queued_at",
    Status.SENT: "sent_at",
    Status.DELIVERED: "delivered_at",
    Status.READ: "delivered_at",
    Status.UNDELIVERED: "failed_at",
    Status.FAILED: "failed_at",
}


def message_queue(**fields) -> Message:
    """Commit one outbound text to the outbox and ask a worker to send it after commit."""
    message = Message.objects.create(
        direction=Message.Direction.OUTBOUND,
        status=Status.PENDING,
        next_attempt_at=timezone.now(),
        **fields,
    )
    transaction.on_commit(lambda: _enqueue_send(message.pk))
    publish_messages(conversation_ids=[message.conversation_id], change="queued")
    return message


def _enqueue_send(message_id: int) -> None:
    from calls.tasks import message_send

    try:
        message_send.delay(message_id)
    except Exception:  # noqa: BLE001 - the dispatcher sends it within the minute
        logger.warning(
            "send of message %s not enqueued; the dispatcher will send it", message_id
        )


# --- Applying a status (provider answers and callbacks alike) -----------------------


def status_forward(
    message: Message,
    status: str,
    *,
    at: datetime,
    error_code: int | None = None,
    error_message: str = "",
) -> list[str]:
    """Move a (locked) row forward to `status`; the fields changed, [] if none."""
    if message.is_terminal or Message.RANK[status] <= Message.RANK[message.status]:
        return []
    message.status = status
    changed = ["status"]
    stamp = STAMP.get(status)
    if stamp and getattr(message, stamp) is None:
        setattr(message, stamp, at)
        changed.append(stamp)
    if error_code:
        message.error_code = error_code
        message.error_message = (error_message or f"Carrier error {error_code}")[:300]
        changed += ["error_code", "error_message"]
    return changed


def message_status_apply(
    *,
    sid: str,
    provider_status: str,
    error_code: int | None = None,
    error_message: str = "",
    outbox_id: int | None = None,
    to: str = "",
) -> Message | None:
    """A status callback: applied once, forward only; None for a message we never sent."""
    status = PROVIDER_STATUS.get(provider_status)
    if status is None:
        return None
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(sid=sid).first()
        if message is None and outbox_id:
            message = (
                Message.objects.select_for_update()
                .filter(
                    pk=outbox_id,
                    sid__isnull=True,
                    to_number=to,
                    direction=Message.Direction.OUTBOUND,
                )
                .first()
            )
            if message is not None:
                # Its worker died before storing the SID: the provider has it.
                message.sid = sid
                message.save(update_fields=["sid", "updated_at"])
                reminders_mark_sent([message])
        if message is None:
            return None
        changed = status_forward(
            message, status, at=now, error_code=error_code, error_message=error_message
        )
        if changed:
            message.save(update_fields=[*changed, "updated_at"])
            if status == Status.FAILED and message.reminder_id:
                _reminder_failed(message)
        MessageEvent.objects.bulk_create(
            [
                MessageEvent(
                    message=message,
                    status=status,
                    error_code=error_code,
                    applied=bool(changed),
                )
            ],
            ignore_conflicts=True,
        )
        if changed:
            publish_messages(
                conversation_ids=[message.conversation_id], change="status"
            )
    return message


def reminders_mark_sent(messages: list[Message]) -> None:
    ids = [m.reminder_id for m in messages if m.reminder_id]
    if ids:
        Reminder.objects.filter(pk__in=ids, status__in=["sending", "planned"]).update(
            status=Reminder.Status.SENT, updated_at=timezone.now()
        )


def _reminder_failed(message: Message) -> None:
    Reminder.objects.filter(pk=message.reminder_id).exclude(status="failed").update(
        status=Reminder.Status.FAILED,
        reason=Reminder.Reason.PROVIDER_ERROR,
        detail=(f"{message.error_code}: " if message.error_code else "")
        + message.error_message[:250],
        updated_at=timezone.now(),
    )


# --- Claiming and sending ---------------------------------------------------------


def outbox_claim(*, limit: int, ids: list[int] | None = None) -> list[Message]:
    """Claim due pending rows, re-check each, and commit them as `sending`."""
    now = timezone.now()
    with transaction.atomic():
        claim = Message.objects.select_for_update(skip_locked=True).filter(
            status=Status.PENDING, next_attempt_at__lte=now
        )
        if ids is not None:
            claim = claim.filter(pk__in=ids)
        picked = list(
            claim.order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
        )
        if not picked:
            return []
        rows = list(
            Message.objects.filter(pk__in=picked)
            .select_related(
                "reminder", "appointment__patient", "appointment__appointment_type"
            )
            .order_by("pk")
        )
        opted = set(
            SmsOptOut.objects.filter(
                number__in={m.to_number for m in rows}
            ).values_list("number", flat=True)
        )
        ready, dropped = [], []
        for message in rows:
            problem = (
                "The number opted out of texts." if message.to_number in opted else ""
            )
            if not problem and message.reminder_id and message.appointment_id:
                reason, problem = reminder_problem(
                    message.reminder, message.appointment, now=now
                )
                if reason:
                    Reminder.objects.filter(pk=message.reminder_id).update(
                        status=status_for(reason),
                        reason=reason,
                        detail=problem[:300],
                        updated_at=now,
                    )
            if problem:
                message.status = Status.CANCELED
                message.error_message = problem[:300]
                dropped.append(message)
            else:
                message.status = Status.SENDING
                message.attempts += 1
                message.sending_started_at = now
                ready.append(message)
        rows_update(rows, ["status", "error_message", "attempts", "sending_started_at"])
        publish_messages(
            conversation_ids=[m.conversation_id for m in dropped], change="status"
        )
    return ready


@dataclass
class Outcome:
    message: Message
    result: gateway.ProviderMessage | None = None
    error: gateway.GatewayError | None = None


def outbox_send(
    messages: list[Message], *, clinic: Clinic | None = None
) -> list[Outcome]:
    """Call the provider for claimed rows (in parallel threads) and record the answers."""
    return outbox_send_finish(outbox_send_start(messages, clinic=clinic))


def outbox_send_start(
    messages: list[Message], *, clinic: Clinic | None = None
) -> list[Future]:
    """Hand claimed rows to the sending threads; the answers come with outbox_send_finish.

    The threads only speak HTTP; every database write stays on the caller's
    thread (and its connection), so the caller can claim the next batch while
    these are on the wire.
    """
    if not messages:
        return []
    clinic = clinic or current_clinic()
    now = timezone.now()
    return [_pool().submit(_send_one, m, clinic, now) for m in messages]


def outbox_send_finish(futures: list[Future]) -> list[Outcome]:
    outcomes = [f.result() for f in futures]
    outbox_record(outcomes)
    return outcomes


def _send_one(message: Message, clinic: Clinic, now: datetime) -> Outcome:
    validity = message.validity_seconds
    if validity:
        validity -= int((now - message.created_at).total_seconds())
    try:
        result = gateway.sms_send(
            to=message.to_number,
            from_=message.from_number,
            body=message.body,
            status_callback=status_callback_url(clinic, message.pk),
            validity_seconds=max(1, validity) if validity else None,
        )
        return Outcome(message, result=result)
    except gateway.GatewayError as exc:
        return Outcome(message, error=exc)


_pools: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """The sending threads of this process, kept: each keeps its connection to the provider.

    Keyed by process id: a pool made before a fork (Celery's prefork) has no
    threads in the child.
    """
    pid = os.getpid()
    if pid not in _pools:
        _pools[pid] = ThreadPoolExecutor(
            max_workers=settings.SMS_SEND_THREADS, thread_name_prefix="sms"
        )
    return _pools[pid]


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 1800))


def outbox_record(outcomes: list[Outcome]) -> None:
    """Store what the provider answered, forward only, in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        changed = _record_accepted([o for o in outcomes if o.result is not None], now)
        changed += _record_refused([o for o in outcomes if o.result is None], now)
        publish_messages(conversation_ids=changed, change="status")


# The provider took these: SID and "queued", unless a callback got there first
# (then only what is missing). One statement for the whole batch.
_ACCEPTED = """
    UPDATE calls_message AS t SET
        sid = COALESCE(t.sid, v.sid),
        segments = COALESCE(v.segments, t.segments),
        status = CASE WHEN t.status IN ('pending', 'sending') THEN 'queued' ELSE t.status END,
        queued_at = COALESCE(t.queued_at, %s),
        error_code = NULL, error_message = '', updated_at = %s
    FROM unnest(%s::bigint[], %s::varchar[], %s::smallint[]) AS v(id, sid, segments)
    WHERE t.id = v.id AND (t.sid IS NULL OR t.sid = v.sid)
    RETURNING t.id, t.conversation_id, t.reminder_id
"""
_EVENTS = """
    INSERT INTO calls_messageevent (message_id, status, error_code, at, applied)
    SELECT id, 'queued', NULL, %s, true FROM unnest(%s::bigint[]) AS id
    ON CONFLICT DO NOTHING
"""


def _record_accepted(outcomes: list[Outcome], now: datetime) -> list[int]:
    if not outcomes:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            _ACCEPTED,
            [
                now,
                now,
                [o.message.pk for o in outcomes],
                [o.result.sid for o in outcomes],
                [o.result.segments for o in outcomes],
            ],
        )
        rows = cursor.fetchall()
        if len(rows) != len(outcomes):
            # A row that holds another SID: the provider answered twice for one text.
            logger.error(
                "%d accepted texts already had another SID", len(outcomes) - len(rows)
            )
        cursor.execute(_EVENTS, [now, [r[0] for r in rows]])
    reminders = [r[2] for r in rows if r[2]]
    if reminders:
        Reminder.objects.filter(
            pk__in=reminders, status__in=["sending", "planned"]
        ).update(status=Reminder.Status.SENT, updated_at=now)
    return [r[1] for r in rows]


def _record_refused(outcomes: list[Outcome], now: datetime) -> list[int]:
    if not outcomes:
        return []
    by_id = {o.message.pk: o for o in outcomes}
    rows = list(Message.objects.select_for_update().filter(pk__in=by_id).order_by("pk"))
    changed, events = [], []
    for row in rows:
        if not _record_one(row, by_id[row.pk], now):
            continue
        changed.append(row)
        if row.status == Status.FAILED:
            events.append(
                MessageEvent(
                    message=row, status=Status.FAILED, error_code=row.error_code
                )
            )
            if row.reminder_id:
                _reminder_failed(row)
            if row.error_code == gateway.OPTED_OUT_CODE:
                _carrier_opt_out(row, now)
    rows_update(
        changed,
        [
            "status",
            "failed_at",
            "error_code",
            "error_message",
            "next_attempt_at",
            "updated_at",
        ],
    )
    MessageEvent.objects.bulk_create(events, ignore_conflicts=True)
    return [r.conversation_id for r in changed]


def _record_one(row: Message, outcome: Outcome, now: datetime) -> bool:
    """A refusal or an unknown outcome, on the locked row; False when nothing changes."""
    row.updated_at = now
    if row.status != Status.SENDING:
        return False  # a callback or a reconciliation got there first
    error = outcome.error
    row.error_code = error.code
    row.error_message = error.message[:300]
    if isinstance(error, gateway.Unknown):
        # Stays "sending": reconciled against the provider's list before any resend.
        return True
    if error.permanent or row.attempts >= settings.SMS_MAX_ATTEMPTS:
        row.status = Status.FAILED
        row.failed_at = now
    else:
        row.status = Status.PENDING
        row.next_attempt_at = now + _backoff(row.attempts)
    return True


def _carrier_opt_out(row: Message, now: datetime) -> None:
    """The carrier says the number texted STOP: the clinic's own ledger records it too."""
    _, created = SmsOptOut.objects.get_or_create(
        number=row.to_number,
        defaults={"keyword": "STOP", "message_sid": "", "opted_out_at": now},
    )
    if created:
        ConsentEvent.objects.create(
            number=row.to_number,
            patient_id=row.patient_id,
            kind=ConsentEvent.Kind.OPT_OUT,
            source=ConsentEvent.Source.CARRIER,
            keyword="21610",
            at=now,
        )
