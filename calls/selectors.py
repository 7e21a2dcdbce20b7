"""Reads of texting: conversations, the message log, a visit's or a patient's reminders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet, Sum

from calls.models import ConsentEvent, Conversation, Message, Reminder, SmsOptOut
from clinic.clock import local_day_bounds
from clinic.models import Appointment, Patient


def conversations(
    *, q: str = "", attention: bool = False, unread: bool = False
) -> QuerySet[Conversation]:
    """Threads with at least one text, latest first, with their patient."""
    qs = Conversation.objects.filter(last_message_at__isnull=False).select_related(
        "patient"
    )
    if q:
        qs = qs.filter(
            Q(patient__full_name__contains=q.lower()) | Q(number__contains=q)
        )
    if attention:
        qs = qs.filter(needs_attention=True)
    if unread:
        qs = qs.filter(unread_count__gt=0)
    return qs.order_by("-last_message_at", "-id")


def unread_total() -> int:
    """Texts staff have not read yet, over every conversation (the navigation's badge)."""
    return (
        Conversation.objects.filter(unread_count__gt=0).aggregate(
            n=Sum("unread_count")
        )["n"]
        or 0
    )


def opted_out_among(numbers: Iterable[str]) -> set[str]:
    numbers = {n for n in numbers if n}
    if not numbers:
        return set()
    return set(
        SmsOptOut.objects.filter(number__in=numbers).values_list("number", flat=True)
    )


def thread(*, conversation: Conversation, limit: int = 100) -> list[Message]:
    """The newest texts of a thread, newest first."""
    return list(
        Message.objects.filter(conversation=conversation)
        .select_related("appointment")
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class LogFilters:
    status: str = ""
    direction: str = ""
    purpose: str = ""
    patient: Patient | None = None
    start: date | None = None
    end: date | None = None


def message_log(*, filters: LogFilters) -> QuerySet[Message]:
    qs = Message.objects.select_related("patient", "conversation")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.direction:
        qs = qs.filter(direction=filters.direction)
    if filters.purpose:
        qs = qs.filter(purpose=filters.purpose)
    if filters.patient is not None:
        qs = qs.filter(patient=filters.patient)
    if filters.start:
        qs = qs.filter(created_at__gte=local_day_bounds(filters.start)[0])
    if filters.end:
        qs = qs.filter(created_at__lt=local_day_bounds(filters.end)[1])
    return qs.order_by("-created_at", "-id")


def appointment_reminders(*, appointment: Appointment) -> list[Reminder]:
    """Every reminder of a visit, for each time it was booked at, with its text."""
    return list(
        Reminder.objects.filter(appointment=appointment)
        .select_related("message", "reply")
        .order_by("-visit_start", "kind", "-offset_minutes", "id")
    )


def patient_reminders(*, patient: Patient, limit: int = 20) -> list[Reminder]:
    """The patient's reminders of upcoming and recent visits, soonest due first."""
    return list(
        Reminder.objects.filter(appointment__patient=patient)
        .select_related("message", "appointment__provider")
        .order_by("-due_at")[:limit]
    )


def consent_ledger() -> QuerySet[ConsentEvent]:
    return ConsentEvent.objects.select_related("patient").order_by("at", "id")
