"""What other apps call when something billing cares about happens."""

from __future__ import annotations

from clinic.models import Appointment


def visit_completed(appointment: Appointment) -> Appointment:
    """A visit was completed: open its encounter for coding (inside the same transaction)."""
    from billing.services.encounters import encounter_open

    encounter_open(appointment=appointment)
    return appointment
