"""What happened to the demo's visits: their histories, written and dated.

The lifecycle services act at the present moment only, so the demo writes
each past step as they would, then dates the rows when it "happened".
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from clinic.demo_schedule_data import CANCEL_REASONS
from clinic.models import Appointment, AppointmentEvent
from portal.models import User

Status = Appointment.Status


@dataclass
class DemoVisit:
    appointment: Appointment
    booked_at: datetime
    history: list[tuple[str, datetime, str]]  # (event kind, when, note) after the booking


def visit_history(rng: random.Random, a: Appointment, booked_at: datetime, now: datetime) -> list:
    """What happened to a visit between its booking and `now`: [(event kind, when, note)]."""
    Kind = AppointmentEvent.Kind
    start, end = a.start, a.end
    confirmable = a.appointment_type.requires_confirmation or rng.random() < 0.5
    if start > now:
        if rng.random() < 0.05:
            return [(Kind.CANCELLED, between(rng, booked_at, now), rng.choice(CANCEL_REASONS))]
        if confirmable and (start - now < timedelta(days=3) or rng.random() < 0.4):
            return [(Kind.CONFIRMED, between(rng, booked_at, now), "")]
        return []
    roll = rng.random()
    if roll < 0.08 and not a.is_overbooked:
        latest = max(booked_at, min(now, start - timedelta(minutes=30)))
        return [(Kind.CANCELLED, between(rng, booked_at, latest), rng.choice(CANCEL_REASONS))]
    history = []
    if confirmable and start - booked_at > timedelta(days=2):
        history.append((Kind.CONFIRMED, start - timedelta(days=rng.uniform(1, 2)), ""))
    if roll < 0.14 and not a.is_overbooked and start + timedelta(minutes=15) <= now:
        return history + [(Kind.NO_SHOW, min(start + timedelta(minutes=rng.randint(15, 25)), now), "")]
    history.append((Kind.CHECKED_IN, min(start - timedelta(minutes=rng.randint(0, 15)), now), ""))
    # A visit that ended within the last hour may still be open in the provider's notes.
    if end + timedelta(minutes=rng.randint(5, 60)) <= now:
        history.append((Kind.COMPLETED, end + timedelta(minutes=rng.randint(0, 5)), ""))
    return history


def settle(v: DemoVisit, front_desk: User) -> None:
    """Set the status (and cancellation) the history leads to, as the lifecycle services do."""
    a = v.appointment
    for kind, at, note in v.history:
        a.status = kind
        if kind == AppointmentEvent.Kind.CANCELLED:
            a.cancel_reason, a.cancelled_at, a.cancelled_by = note, at, front_desk


def write_history(visits: list[DemoVisit], *, clinician: User | None) -> None:
    """The events of each visit's history, and every row dated when it happened."""
    Kind = AppointmentEvent.Kind
    changed = [v for v in visits if v.history and v.appointment.status != v.history[-1][0]]
    for v in changed:
        settle(v, v.appointment.booked_by)
    Appointment.objects.bulk_update(
        [v.appointment for v in changed], ["status", "cancel_reason", "cancelled_at", "cancelled_by"]
    )
    events = []
    for v in visits:
        a, status = v.appointment, Status.SCHEDULED
        for n, (kind, at, note) in enumerate(v.history):
            cancelled = kind == Kind.CANCELLED
            by = a.booked_by
            if kind == Kind.CONFIRMED and n % 2 == a.pk % 2:
                by = None  # the patient answered a reminder
            elif kind == Kind.COMPLETED and clinician and a.provider.membership_id:
                by = clinician  # the provider signs the visit off
            events.append(AppointmentEvent(
                appointment=a, kind=kind, from_status=status, to_status=kind, by=by, note=note,
                old_start=a.start if cancelled else None, old_end=a.end if cancelled else None,
                old_provider=a.provider if cancelled else None,
            ))
            status = kind
    AppointmentEvent.objects.bulk_create(events, batch_size=1000)
    booked = dict(
        AppointmentEvent.objects.filter(kind=Kind.BOOKED, appointment__in=[v.appointment for v in visits])
        .values_list("appointment_id", "id")
    )
    stamp("clinic_appointmentevent", "at",
           [booked[v.appointment.pk] for v in visits] + [e.pk for e in events],
           [v.booked_at for v in visits] + [at for v in visits for _, at, _ in v.history])
    ids = [v.appointment.pk for v in visits]
    stamp("clinic_appointment", "created_at", ids, [v.booked_at for v in visits])
    stamp("clinic_appointment", "updated_at", ids,
           [v.history[-1][1] if v.history else v.booked_at for v in visits])


def between(rng: random.Random, first: datetime, last: datetime) -> datetime:
    return (first + (last - first) * rng.random()).replace(microsecond=0)


def stamp(table: str, column: str, ids: list[int], values: list[datetime]) -> None:
    """Date rows when they happened rather than when the demo was seeded (one statement)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE {table} t SET "{column}" = v.at FROM unnest(%s::bigint[], %s::timestamptz[])'
            " AS v(id, at) WHERE t.id = v.id",
            [ids, values],
        )
