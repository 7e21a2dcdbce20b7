"""What happened to the demo's visits, played through the lifecycle services.

Each visit's history (confirmed, checked in, completed, no-show, cancelled) is
decided here, then made by the same services staff and patients use, each
given the time the step "happened" (`at`), so statuses, history rows,
reminders and encounters are exactly what the services write.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from clinic.actors import Actor, SystemActor
from clinic.demo.data import CANCEL_REASONS
from clinic.models import Appointment, AppointmentEvent
from clinic.services import (
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_confirm,
    appointment_no_show,
)

Status = Appointment.Status
Kind = AppointmentEvent.Kind
PATIENT_REPLY = SystemActor("patient reply", "demo reminder")


@dataclass
class DemoVisit:
    appointment: Appointment
    booked_at: datetime
    history: list[
        tuple[str, datetime, str]
    ]  # (event kind, when, note) after the booking


def visit_history(
    rng: random.Random, a: Appointment, booked_at: datetime, now: datetime
) -> list[tuple[str, datetime, str]]:
    """What happened to a visit between its booking and `now`: [(event kind, when, note)]."""
    start, end = a.start, a.end
    confirmable = a.appointment_type.requires_confirmation or rng.random() < 0.5
    if start > now:
        if rng.random() < 0.05:
            when = between(rng, booked_at, now)
            return [(Kind.CANCELLED, when, rng.choice(CANCEL_REASONS))]
        if confirmable and (start - now < timedelta(days=3) or rng.random() < 0.4):
            return [(Kind.CONFIRMED, between(rng, booked_at, now), "")]
        return []
    roll = rng.random()
    if roll < 0.08 and not a.is_overbooked:
        latest = max(booked_at, min(now, start - timedelta(minutes=30)))
        when = between(rng, booked_at, latest)
        return [(Kind.CANCELLED, when, rng.choice(CANCEL_REASONS))]
    history = []
    if confirmable and start - booked_at > timedelta(days=2):
        history.append((Kind.CONFIRMED, start - timedelta(days=rng.uniform(1, 2)), ""))
    if roll < 0.14 and not a.is_overbooked and start + timedelta(minutes=15) <= now:
        when = min(start + timedelta(minutes=rng.randint(15, 25)), now)
        return [*history, (Kind.NO_SHOW, when, "")]
    checked_in = min(start - timedelta(minutes=rng.randint(0, 15)), now)
    history.append((Kind.CHECKED_IN, checked_in, ""))
    # A visit that ended within the last hour may still be open in the provider's notes.
    if end + timedelta(minutes=rng.randint(5, 60)) <= now:
        history.append((Kind.COMPLETED, end + timedelta(minutes=rng.randint(0, 5)), ""))
    return history


def play_history(
    visits: list[DemoVisit], *, front_desk: Actor, clinician: Actor | None
) -> None:
    """Make each visit's history through the lifecycle services, at its times."""
    for v in visits:
        a = v.appointment
        for n, (kind, at, note) in enumerate(v.history):
            if kind == Kind.CONFIRMED:
                # Every other confirmation is a patient's reply to a reminder.
                actor = PATIENT_REPLY if n % 2 == a.pk % 2 else front_desk
                a = appointment_confirm(appointment=a, actor=actor, at=at)
            elif kind == Kind.CHECKED_IN:
                a = appointment_check_in(appointment=a, actor=front_desk, at=at)
            elif kind == Kind.COMPLETED:
                # The provider signs the visit off when they sign in to the portal.
                signs = clinician if clinician and a.provider.membership_id else None
                a = appointment_complete(
                    appointment=a, actor=signs or front_desk, at=at
                )
            elif kind == Kind.NO_SHOW:
                a = appointment_no_show(appointment=a, actor=front_desk, at=at)
            elif kind == Kind.CANCELLED:
                a = appointment_cancel(
                    appointment=a, actor=front_desk, reason=note, at=at
                )
        v.appointment = a


def date_rows(visits: list[DemoVisit]) -> None:
    """Date the visits' rows (created, last changed) when they happened."""
    ids = [v.appointment.pk for v in visits]
    stamp("clinic_appointment", "created_at", ids, [v.booked_at for v in visits])
    stamp(
        "clinic_appointment",
        "updated_at",
        ids,
        [v.history[-1][1] if v.history else v.booked_at for v in visits],
    )


def between(rng: random.Random, first: datetime, last: datetime) -> datetime:
    return (first + (last - first) * rng.random()).replace(microsecond=0)


def stamp(table: str, column: str, ids: list[int], values: list[datetime]) -> None:
    """Date rows when they happened rather than when the demo was seeded (one statement)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE {table} t SET "{column}" = v.at'
            " FROM unnest(%s::bigint[], %s::timestamptz[])"
            " AS v(id, at) WHERE t.id = v.id",
            [ids, values],
        )
