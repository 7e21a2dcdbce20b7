"""Celery tasks of texting: thin wrappers around calls.services, each in its clinic's schema.

Beat starts the fan-outs (`reminders_dispatch_all` every minute,
`housekeeping_all` every five); each sends one task per routable clinic with
the clinic's schema (portal.fanout, tenant-schemas-celery), so deactivated
clinics and the template get nothing.
"""

from __future__ import annotations

from datetime import datetime

from portal.celery import app
from portal.fanout import fan_out


@app.task
def reminders_dispatch_all() -> int:
    """Beat, every minute: one dispatcher run per clinic."""
    return fan_out(reminders_dispatch)


@app.task
def reminders_dispatch() -> dict:
    from calls.services.dispatch import dispatch_run

    report = dispatch_run()
    return {
        "claimed": report.claimed,
        "sent": report.sent,
        "refused": report.refused,
        "reconciled": report.reconciled,
    }


@app.task
def message_send(message_id: int) -> int:
    """Send one outbox row now (a staff text, an automatic reply)."""
    from calls.services.dispatch import messages_send

    return messages_send(ids=[message_id])


@app.task
def housekeeping_all() -> int:
    """Beat, every five minutes: lapsed offers, unconfirmed visits, no-shows, per clinic."""
    return fan_out(housekeeping)


@app.task
def housekeeping() -> dict:
    from calls.services.housekeeping import housekeeping_run

    return housekeeping_run()


@app.task
def reminders_replan() -> int:
    from calls.services.reminders import reminders_replan as replan

    return replan()


@app.task
def waitlist_offer_auto(
    provider_id: int, appointment_type_id: int, start: str
) -> int | None:
    """The clinic lets the system offer freed slots: offer this one, if anyone fits."""
    from calls.actors import SystemActor
    from calls.services.offers import waitlist_offer_create
    from clinic.models import AppointmentType, Provider
    from portal.errors import ApplicationError

    try:
        offer = waitlist_offer_create(
            actor=SystemActor("waitlist", "slot freed by a cancellation"),
            provider=Provider.objects.get(pk=provider_id),
            appointment_type=AppointmentType.objects.get(pk=appointment_type_id),
            start=datetime.fromisoformat(start),
        )
    except ApplicationError:
        return None  # nobody fits, or it is booked or offered already
    return offer.pk


# Voice tasks live in their own module; importing it here registers them.
from calls import tasks_voice  # noqa: E402, F401
