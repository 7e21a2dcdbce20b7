"""Reads of the schedule: free slots, calendars, arrivals, freed slots and the waitlist."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from clinic.availability import Slot, clinic_tz, free_slots
from clinic.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentType,
    Patient,
    Provider,
    WaitlistEntry,
)


def _min_notice() -> timedelta:
    return timedelta(minutes=getattr(connection.tenant, "booking_min_notice_minutes", 0) or 0)


def slots_for_provider(
    *,
    provider: Provider,
    appointment_type: AppointmentType,
    start_date: date,
    end_date: date,
    now: datetime | None = None,
) -> list[Slot]:
    """Bookable slots of one provider for a type between two clinic dates (inclusive)."""
    if not provider.is_active or not appointment_type.providers.filter(pk=provider.pk).exists():
        return []
    return free_slots(
        provider_ids=[provider.pk],
        appointment_type=appointment_type,
        start_date=start_date,
        end_date=end_date,
        now=now or timezone.now(),
        min_notice=_min_notice(),
    )


def slots_for_type(
    *, appointment_type: AppointmentType, start_date: date, end_date: date, now: datetime | None = None
) -> list[Slot]:
    """Bookable slots of every active provider offering the type (booking sites)."""
    provider_ids = list(
        appointment_type.providers.filter(is_active=True).values_list("pk", flat=True)
    )
    if not provider_ids:
        return []
    return free_slots(
        provider_ids=provider_ids,
        appointment_type=appointment_type,
        start_date=start_date,
        end_date=end_date,
        now=now or timezone.now(),
        min_notice=_min_notice(),
    )


def appointments_between(
    *, start: datetime, end: datetime, provider_ids: list[int] | None = None, active_only: bool = False
) -> QuerySet[Appointment]:
    """Appointments starting in [start, end), with what a calendar shows of them."""
    qs = Appointment.objects.filter(start__gte=start, start__lt=end).select_related(
        "patient", "appointment_type", "provider"
    )
    if provider_ids is not None:
        qs = qs.filter(provider_id__in=provider_ids)
    if active_only:
        qs = qs.filter(status__in=ACTIVE_STATUSES)
    return qs.order_by("start", "provider_id", "id")


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = clinic_tz()
    return (
        datetime.combine(day, time.min, tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz),
    )


@dataclass
class DaySummary:
    appointments: list[Appointment]
    counts: dict[str, int]


def day_summary(*, day: date) -> DaySummary:
    """The front desk's day: every appointment in order, and how many in each status."""
    start, end = local_day_bounds(day)
    appointments = list(appointments_between(start=start, end=end))
    counts = Counter(a.status for a in appointments)
    return DaySummary(appointments, {s: counts.get(s, 0) for s in Appointment.Status.values})


def patient_appointments(*, patient: Patient, now: datetime | None = None) -> tuple[list, list]:
    """(upcoming, past) appointments of a patient; upcoming soonest first."""
    now = now or timezone.now()
    qs = patient.appointments.select_related("provider", "appointment_type", "location")
    upcoming = list(qs.filter(start__gte=now).order_by("start"))
    past = list(qs.filter(start__lt=now).order_by("-start")[:50])
    return upcoming, past


@dataclass(frozen=True)
class FreedSlot:
    """Time that was booked and is free again (a cancellation or a move)."""

    provider: Provider
    appointment_type: AppointmentType
    start: datetime
    end: datetime
    event: AppointmentEvent


def freed_slots(*, now: datetime | None = None, limit: int = 50) -> list[FreedSlot]:
    """Future slots freed by a cancellation or a reschedule and not taken since."""
    now = now or timezone.now()
    events = (
        AppointmentEvent.objects.filter(
            kind__in=[AppointmentEvent.Kind.CANCELLED, AppointmentEvent.Kind.RESCHEDULED],
            old_start__gte=now,
        )
        .select_related("old_provider", "appointment__appointment_type")
        .order_by("old_start")[: limit * 3]
    )
    out: list[FreedSlot] = []
    seen: set[tuple[int, datetime]] = set()
    for event in events:
        key = (event.old_provider_id, event.old_start)
        if key in seen:
            continue
        seen.add(key)
        taken = Appointment.objects.filter(
            provider_id=event.old_provider_id,
            status__in=ACTIVE_STATUSES,
            start__lt=event.old_end,
            busy_until__gt=event.old_start,
        ).exists()
        if not taken:
            out.append(
                FreedSlot(
                    event.old_provider, event.appointment.appointment_type, event.old_start,
                    event.old_end, event,
                )
            )
        if len(out) >= limit:
            break
    return out


@dataclass(frozen=True)
class WaitlistMatch:
    entry: WaitlistEntry
    score: int
    reasons: list[str]


def waitlist_matches(
    *, provider: Provider, appointment_type: AppointmentType, start: datetime, end: datetime
) -> list[WaitlistMatch]:
    """Waiting patients this slot fits, best fit first.

    An entry fits when nothing it asks for rules the slot out (type, provider,
    weekday, time window, date range); it ranks higher the more it asked for
    precisely what this slot is (its own provider rather than any), and the
    longer it has waited.
    """
    local = start.astimezone(clinic_tz())
    local_end = end.astimezone(clinic_tz())
    day = local.date()
    entries = (
        WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING, appointment_type=appointment_type)
        .filter(Q(provider__isnull=True) | Q(provider=provider))
        .filter(Q(earliest_date__isnull=True) | Q(earliest_date__lte=day))
        .filter(Q(latest_date__isnull=True) | Q(latest_date__gte=day))
        .filter(Q(weekdays=[]) | Q(weekdays__contains=[day.weekday()]))
        .filter(Q(earliest_time__isnull=True) | Q(earliest_time__lte=local.time()))
        .filter(Q(latest_time__isnull=True) | Q(latest_time__gte=local_end.time()))
        .exclude(patient__appointments__status__in=ACTIVE_STATUSES, patient__appointments__start=start)
        .select_related("patient", "provider")
        .order_by("created_at", "id")
    )
    matches = []
    for position, entry in enumerate(entries):
        score, reasons = 0, []
        if entry.provider_id == provider.pk:
            score += 40
            reasons.append("asked for this provider")
        if entry.weekdays:
            score += 15
            reasons.append("on a preferred day")
        if entry.earliest_time or entry.latest_time:
            score += 15
            reasons.append("in the preferred hours")
        if entry.latest_date:
            score += 10
            reasons.append("before their latest date")
        score -= position  # longer waits first among equals
        matches.append(WaitlistMatch(entry, score, reasons))
    matches.sort(key=lambda m: -m.score)
    return matches
