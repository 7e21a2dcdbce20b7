"""Reads of the clinic schema."""

from clinic.selectors.patients import audit_entries, patient_list, workflows_active
from clinic.selectors.scheduling import (
    appointments_between,
    day_summary,
    freed_slots,
    patient_appointments,
    slots_for_provider,
    slots_for_type,
    waitlist_matches,
    waitlist_matches_for_slots,
)

__all__ = [
    "appointments_between",
    "audit_entries",
    "day_summary",
    "freed_slots",
    "patient_appointments",
    "patient_list",
    "slots_for_provider",
    "slots_for_type",
    "waitlist_matches",
    "waitlist_matches_for_slots",
    "workflows_active",
]
