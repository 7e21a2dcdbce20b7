"""Reminder rows: planned with the visit, moved with it, and claimed when due.

Planning runs inside the booking, rescheduling and cancelling transactions
(calls.hooks), so a visit and its reminders never disagree. Claiming is the
dispatcher's first half: due rows are locked with `FOR UPDATE SKIP LOCKED`
through the partial index on planned rows, checked again against the visit
as it is now, and turned into outbox rows (calls.services.outbox) in the same
transaction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from calls import texts
from calls.events import publish_messages
from calls.gateway import MAX_VALIDITY_SECONDS
from calls.models import Message, Reminder, ReminderPolicy, SmsOptOut
from calls.policy import (
    QuietHours,
    caps_reached,
    clinic_zone,
    plan_step,
    policy_current,
    steps_for,
    type_policy,
)
from calls.services.bulk import rows_insert, rows_update
from calls.services.common import (
    Templates,
    conversations_for_patients,
    conversations_touch,
    current_clinic,
    visit_values,
)
from calls.services.recheck import reminder_problem, status_for
from clinic.models import Appointment

Reason = Reminder.Reason
RStatus = Reminder.Status
UPCOMING = (Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED)
REVIVABLE = (Reason.VISIT_MOVED, Reason.DISABLED, Reason.POLICY_CHANGED)


def reminders_plan(
    *,
    appointment: Appointment,
    with_confirmation: bool,
    now: datetime | None = None,
    fresh: bool = False,
) -> list[Reminder]:
    """Write the reminder rows of the visit's current time (the caller's transaction).

    A step already written for this time is left as it is (sent is sent); one
    dropped because the visit moved away and back is planned again.
    """
    now = now or timezone.now()
    policy = policy_current()
    override = type_policy(appointment.appointment_type_id)
    steps = steps_for(policy, override, with_confirmation=with_confirmation)
    # A visit just booked has no rows yet: one query less on every booking.
    existing = (
        {}
        if fresh
        else {
            (r.kind, r.offset_minutes): r
            for r in Reminder.objects.filter(
                appointment=appointment, visit_start=appointment.start
            )
        }
    )
    tz = clinic_zone()
    create, revive = [], []
    for step in steps:
        plan = plan_step(
            step, visit_start=appointment.start, now=now, policy=policy, tz=tz
        )
        row = existing.get((step.kind, step.offset_minutes))
        if row is None:
            create.append(
                Reminder(
                    appointment=appointment,
                    kind=step.kind,
                    offset_minutes=step.offset_minutes,
                    channel=step.channel,
                    visit_start=appointment.start,
                    due_at=plan.due_at,
                    status=plan.status,
                    reason=plan.reason,
                    detail=plan.detail,
                )
            )
        elif row.status == RStatus.CANCELLED and row.reason in REVIVABLE:
            row.due_at, row.status, row.reason, row.detail = (
                plan.due_at,
                plan.status,
                plan.reason,
                plan.detail,
            )
            row.updated_at = now
            revive.append(row)
    Reminder.objects.bulk_create(create)
    if revive:
        Reminder.objects.bulk_update(
            revive, ["due_at", "status", "reason", "detail", "updated_at"]
        )
    return create + revive


def reminders_drop(
    *,
    appointment: Appointment,
    reason: str,
    detail: str,
    kinds: tuple[str, ...] | None = None,
    other_times_only: bool = False,
) -> int:
    """End the visit's planned reminders (and their unsent outbox rows) with a reason."""
    now = timezone.now()
    planned = Reminder.objects.filter(
        appointment=appointment, status__in=[RStatus.PLANNED, RStatus.SENDING]
    )
    if other_times_only:
        planned = planned.exclude(visit_start=appointment.start)
    if kinds:
        planned = planned.filter(kind__in=kinds)
    ids = list(planned.values_list("pk", flat=True))
    if not ids:
        return 0
    Message.objects.filter(reminder_id__in=ids, status=Message.Status.PENDING).update(
        status=Message.Status.CANCELED, error_message=detail[:300], updated_at=now
    )
    # A row already handed to the provider stays "sending": its message decides.
    return (
        Reminder.objects.filter(pk__in=ids)
        .exclude(message__status__in=[Message.Status.SENDING])
        .update(
            status=status_for(reason),
            reason=reason,
            detail=detail[:300],
            updated_at=now,
        )
    )


def reminders_replan(*, now: datetime | None = None) -> int:
    """After a policy change: upcoming visits get the steps the policy now asks for.

    Planned steps the policy no longer has are dropped; new ones are planned
    (or skipped when their time has passed). Sent reminders stay as they are.
    """
    now = now or timezone.now()
    policy = policy_current()
    count = 0
    upcoming = (
        Appointment.objects.filter(status__in=UPCOMING, start__gt=now)
        .only("pk", "start", "appointment_type_id", "status")
        .order_by("start", "pk")
    )
    for appointment in upcoming.iterator(chunk_size=500):
        with transaction.atomic():
            override = type_policy(appointment.appointment_type_id)
            wanted = {
                (s.kind, s.offset_minutes)
                for s in steps_for(policy, override, with_confirmation=False)
            }
            disabled = override is not None and not override.reminders_enabled
            stale = [
                r.pk
                for r in Reminder.objects.filter(
                    appointment=appointment,
                    visit_start=appointment.start,
                    kind=Reminder.Kind.REMINDER,
                    status=RStatus.PLANNED,
                )
                if (r.kind, r.offset_minutes) not in wanted
            ]
            if stale:
                Reminder.objects.filter(pk__in=stale).update(
                    status=RStatus.CANCELLED,
                    reason=Reason.DISABLED if disabled else Reason.POLICY_CHANGED,
                    detail="Reminders are off for this visit type."
                    if disabled
                    else "The clinic changed its reminder steps.",
                    updated_at=now,
                )
            reminders_plan(appointment=appointment, with_confirmation=False, now=now)
        count += 1
    return count


# --- The dispatcher's claim ---------------------------------------------------------


def _lock_numbers(numbers: list[str]) -> None:
    """Serialise cap counting per number across concurrent dispatchers (until commit)."""
    if numbers:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s || n)) FROM unnest(%s::text[]) AS n ORDER BY n",
                [connection.schema_name, sorted(numbers)],
            )


def _recent_counts(numbers: list[str], now: datetime) -> tuple[Counter, Counter]:
    rows = (
        Message.objects.filter(
            to_number__in=numbers,
            direction=Message.Direction.OUTBOUND,
            purpose__in=Message.CAPPED,
            created_at__gte=now - timedelta(days=7),
        )
        .exclude(status__in=[Message.Status.FAILED, Message.Status.CANCELED])
        .values("to_number")
        .annotate(
            day=Count("pk", filter=Q(created_at__gte=now - timedelta(days=1))),
            week=Count("pk"),
        )
    )
    day, week = Counter(), Counter()
    for row in rows:
        day[row["to_number"]] = row["day"]
        week[row["to_number"]] = row["week"]
    return day, week


def claim_query(*, now: datetime, limit: int):
    """The claim, as the dispatcher runs it (and as bench/reminders.py explains it)."""
    return (
        Reminder.objects.select_for_update(skip_locked=True)
        .filter(status=RStatus.PLANNED, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )


@dataclass
class Claimed:
    """A claim's outcome: how many reminders it took, and the texts to send now."""

    count: int = 0
    messages: list[Message] = field(default_factory=list)


def reminders_claim_due(*, limit: int, now: datetime | None = None) -> Claimed:
    """Claim due reminders: skip, defer or drop them, or commit their texts as `sending`.

    The texts are outbox rows committed in the claim's own transaction, already
    claimed for sending (the re-check ran under the same lock), so the caller
    sends them right after the commit; a crash before that leaves rows
    "sending" that reconciliation settles.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(claim_query(now=now, limit=limit))
        if not ids:
            return Claimed()
        reminders = list(
            Reminder.objects.filter(pk__in=ids)
            .select_related(
                "appointment__patient",
                "appointment__provider",
                "appointment__location",
                "appointment__appointment_type",
            )
            .order_by("due_at", "pk")
        )
        messages = _claim(reminders, now=now)
    return Claimed(len(ids), messages)


def _claim(reminders: list[Reminder], *, now: datetime) -> list[Message]:
    clinic = current_clinic()
    policy = policy_current()
    tz = clinic_zone()
    quiet = QuietHours.of(policy)
    numbers = sorted(
        {r.appointment.patient.phone for r in reminders if r.appointment.patient.phone}
    )
    opted = set(
        SmsOptOut.objects.filter(number__in=numbers).values_list("number", flat=True)
    )
    _lock_numbers(numbers)
    day, week = _recent_counts(numbers, now)
    templates = Templates()
    overrides: dict[int, object] = {}
    outgoing: list[tuple[Reminder, Message]] = []
    for reminder in reminders:
        appointment = reminder.appointment
        reminder.claimed_at = reminder.updated_at = now
        reason, detail = reminder_problem(reminder, appointment, now=now, policy=policy)
        type_id = appointment.appointment_type_id
        if type_id not in overrides:
            overrides[type_id] = type_policy(type_id)
        if (
            not reason
            and overrides[type_id] is not None
            and not overrides[type_id].reminders_enabled
        ):
            reason, detail = Reason.DISABLED, "Reminders are off for this visit type."
        number = appointment.patient.phone
        if not reason and number in opted:
            reason, detail = Reason.OPTED_OUT, "The number texted STOP."
        if not reason and not clinic.main_phone:
            reason, detail = (
                Reason.NO_SENDER,
                "The clinic has no texting number (main phone).",
            )
        if not reason:
            later = quiet.next_allowed(now, tz)
            if later != now:
                if later > appointment.start.astimezone(UTC) - timedelta(
                    minutes=policy.min_lead_minutes
                ):
                    reason, detail = (
                        Reason.QUIET_HOURS,
                        "Quiet hours until too close to the visit.",
                    )
                else:
                    reminder.due_at = later  # stays planned, claimed again then
                    continue
        if not reason:
            cap = caps_reached(
                policy=policy, last_day=day[number], last_week=week[number]
            )
            if cap:
                reason, detail = Reason.FREQUENCY_CAP, f"This number already got {cap}."
        if reason:
            reminder.status, reminder.reason, reminder.detail = (
                status_for(reason),
                reason,
                detail,
            )
            continue
        day[number] += 1
        week[number] += 1
        reminder.status = RStatus.SENDING
        outgoing.append(
            (
                reminder,
                _outbox_row(
                    reminder, clinic=clinic, policy=policy, templates=templates, now=now
                ),
            )
        )
    rows_update(
        reminders, ["status", "reason", "detail", "due_at", "claimed_at", "updated_at"]
    )
    if not outgoing:
        return []
    conversations = conversations_for_patients(
        {r.appointment.patient for r, _ in outgoing}
    )
    for reminder, message in outgoing:
        message.conversation = conversations[reminder.appointment.patient_id]
    messages = [m for _, m in outgoing]
    rows_insert(messages)
    conversations_touch([m.conversation_id for m in messages], at=now)
    publish_messages(
        conversation_ids=[m.conversation_id for m in messages], change="queued"
    )
    return messages


def _outbox_row(
    reminder: Reminder,
    *,
    clinic,
    policy: ReminderPolicy,
    templates: Templates,
    now: datetime,
) -> Message:
    appointment = reminder.appointment
    patient = appointment.patient
    language = texts.language_of(patient.preferred_language)
    kind = reminder.kind
    body = texts.render(
        templates.body(kind, language, appointment.appointment_type_id),
        visit_values(
            clinic=clinic,
            appointment=appointment,
            language=language,
            ask_to_confirm=appointment.status == Appointment.Status.SCHEDULED,
        ),
    )
    purpose = (
        Message.Purpose.BOOKING_CONFIRMATION
        if kind == Reminder.Kind.BOOKING_CONFIRMATION
        else Message.Purpose.REMINDER
    )
    return Message(
        direction=Message.Direction.OUTBOUND,
        purpose=purpose,
        status=Message.Status.SENDING,
        attempts=1,
        sending_started_at=now,
        patient=patient,
        appointment=appointment,
        reminder=reminder,
        to_number=patient.phone,
        from_number=clinic.main_phone,
        body=body,
        segments=texts.segments(body).count,
        next_attempt_at=now,
        # Dropped by the carrier rather than delivered after the visit.
        validity_seconds=max(
            1, min(MAX_VALIDITY_SECONDS, int((appointment.start - now).total_seconds()))
        ),
        sent_by_label="System: reminder worker",
    )
