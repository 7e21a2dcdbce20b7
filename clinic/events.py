"""Live updates of the schedule to the clinic's staff pages (through portal.live)."""

from __future__ import annotations

from portal.live import publish


def publish_appointment_change(appointment, change: str) -> None:
    # Ids and times only: pages fetch what they show, with their own access checks.
    publish(
        "appointment",
        {
            "change": change,
            "id": appointment.pk,
            "provider": appointment.provider_id,
            "start": appointment.start.isoformat(),
            "status": appointment.status,
        },
    )
