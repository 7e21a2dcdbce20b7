"""Reads of the schedule: free slots, calendars, arrivals, freed slots and the waitlist."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import OuterRef, QuerySet
from django.utils import timezone

from clinic.clock import clinic_tz, earliest_bookable, local_day_bounds
from clinic.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentType,
    Patient,
    Provider,
    WaitlistEntry,
)
from clinic.selectors.availability import Slot, free_slots, taken_exists


def slots_for_provider(
    *,
    provider: Provider,
    appointment_type: AppointmentType,
    start_date: date,
    end_date: date,
    now: datetime | None = None,
) -> list[Slot]:
    """Bookable slots of one provider for a type between two clinic dates (inclusive)."""
    if (
        not provider.is_active
        or not appointment_type.providers.filter(pk=provider.pk).exists()
    ):
        return []
    return free_slots(
        provider_ids=[provider.pk],
        appointment_type=appointment_type,
        start_date=start_date,
        end_date=end_date,
        earliest=earliest_bookable(now),
    )


def slots_for_type(
    *,
    appointment_type: AppointmentType,
    start_date: date,
    end_date: date,
    now: datetime | None = None,
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
        earliest=earliest_bookable(now),
    )


def appointments_between(
    *,
    start: datetime,
    end: datetime,
    provider_ids: list[int] | None = None,
    active_only: bool = False,
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


@dataclass
class DaySummary:
    appointments: list[Appointment]
    counts: dict[str, int]


def day_summary(*, day: date) -> DaySummary:
    """The front desk's day: every appointment in order, and how many in each status."""
    start, end = local_day_bounds(day)
    appointments = list(appointments_between(start=start, end=end))
    counts = Counter(a.status for a in appointments)
    return DaySummary(
        appointments, {s: counts.get(s, 0) for s in Appointment.Status.values}
    )


def patient_appointments(
    *, patient: Patient, now: datetime | None = None
) -> tuple[list, list]:
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
    """Future slots freed by a cancellation or a reschedule and not taken since.

    One query: whether a slot was taken again is a correlated EXISTS of the
    schedule's one rule (clinic.selectors.availability.taken_q).
    """
    now = now or timezone.now()
    events = (
        AppointmentEvent.objects.filter(
            kind__in=[
                AppointmentEvent.Kind.CANCELLED,
                AppointmentEvent.Kind.RESCHEDULED,
            ],
            old_start__gte=now,
        )
        .alias(
            taken=taken_exists(
                provider=OuterRef("old_provider_id"),
                start=OuterRef("old_start"),
                until=OuterRef("old_end"),
            )
        )
        .filter(taken=False)
        .select_related("old_provider", "appointment__appointment_type")
        .order_by("old_start", "id")[: limit * 3]
    )
    out: list[FreedSlot] = []
    seen: set[tuple[int, datetime]] = set()
    for event in events:
        key = (event.old_provider_id, event.old_start)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            FreedSlot(
                event.old_provider,
                event.appointment.appointment_type,
                event.old_start,
                event.old_end,
                event,
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


@dataclass(frozen=True)
class OpenSlot:
    """A slot to fill from the waitlist."""

    provider: Provider
    appointment_type: AppointmentType
    start: datetime
    end: datetime


def _fits(entry: WaitlistEntry, slot: OpenSlot) -> bool:
    """Nothing the entry asks for rules the slot out."""
    if entry.appointment_type_id != slot.appointment_type.pk:
        return False
    if entry.provider_id is not None and entry.provider_id != slot.provider.pk:
        return False
    tz = clinic_tz()
    local, local_end = slot.start.astimezone(tz), slot.end.astimezone(tz)
    day = local.date()
    return (
        (entry.earliest_date is None or entry.earliest_date <= day)
        and (entry.latest_date is None or entry.latest_date >= day)
        and (not entry.weekdays or day.weekday() in entry.weekdays)
        and (entry.earliest_time is None or entry.earliest_time <= local.time())
        and (entry.latest_time is None or entry.latest_time >= local_end.time())
    )


def _ranked(entries: list[WaitlistEntry], slot: OpenSlot) -> list[WaitlistMatch]:
    matches = []
    for position, entry in enumerate(entries):
        score, reasons = 0, []
        if entry.provider_id == slot.provider.pk:
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


def waitlist_matches_for_slots(slots: Iterable[OpenSlot]) -> list[list[WaitlistMatch]]:
    """Waiting patients each slot fits, best fit first; two queries for any number.

    An entry fits when nothing it asks for rules the slot out (type, provider,
    weekday, time window, date range) and its patient has no active visit
    starting then; it ranks higher the more precisely it asked for this slot
    (its own provider rather than any), and the longer it has waited.
    """
    slots = list(slots)
    if not slots:
        return []
    entries = list(
        WaitlistEntry.objects.filter(
            status=WaitlistEntry.Status.WAITING,
            appointment_type__in={slot.appointment_type.pk for slot in slots},
        )
        .select_related("patient", "provider")
        .order_by("created_at", "id")
    )
    # Each patient's own active visits at these starts (one query, not one per
    # slot): a patient already seen then is no match.
    busy = set(
        Appointment.objects.filter(
            status__in=ACTIVE_STATUSES,
            start__in={slot.start for slot in slots},
            patient_id__in={entry.patient_id for entry in entries},
        ).values_list("patient_id", "start")
    )
    return [
        _ranked(
            [
                e
                for e in entries
                if _fits(e, slot) and (e.patient_id, slot.start) not in busy
            ],
            slot,
        )
        for slot in slots
    ]


def waitlist_matches(
    *,
    provider: Provider,
    appointment_type: AppointmentType,
    start: datetime,
    end: datetime,
) -> list[WaitlistMatch]:
    """Waiting patients one slot fits, best fit first (see waitlist_matches_for_slots)."""
    return waitlist_matches_for_slots(
        [OpenSlot(provider, appointment_type, start, end)]
    )[0]
