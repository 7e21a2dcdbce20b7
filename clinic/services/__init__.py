"""Writes of the clinic schema. Pages, API, tasks and admin all call these.

Every service takes `actor` (a clinic.actors.Actor) and checks it against
clinic.permissions before it looks at anything.
"""

from clinic.services.lifecycle import (
    appointment_allowed_moves,
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_confirm,
    appointment_no_show,
)
from clinic.services.patients import (
    BULK_LIMIT,
    PATIENT_FIELDS,
    patient_archive,
    patient_create,
    patient_update,
    patients_bulk_check_size,
    patients_bulk_create,
    workflow_create,
    workflow_create_default,
    workflow_delete,
    workflow_update,
)
from clinic.services.scheduling import appointment_book, appointment_reschedule
from clinic.services.setup import (
    appointment_type_save,
    availability_block_save,
    availability_exception_save,
    clinic_settings_update,
    holiday_save,
    location_save,
    provider_save,
    room_save,
    setup_delete,
    setup_save,
)
from clinic.services.waitlist import waitlist_add, waitlist_book, waitlist_remove

__all__ = [
    "BULK_LIMIT",
    "PATIENT_FIELDS",
    "appointment_allowed_moves",
    "appointment_book",
    "appointment_cancel",
    "appointment_check_in",
    "appointment_complete",
    "appointment_confirm",
    "appointment_no_show",
    "appointment_reschedule",
    "appointment_type_save",
    "availability_block_save",
    "availability_exception_save",
    "clinic_settings_update",
    "holiday_save",
    "location_save",
    "patient_archive",
    "patient_create",
    "patient_update",
    "patients_bulk_check_size",
    "patients_bulk_create",
    "provider_save",
    "room_save",
    "setup_delete",
    "setup_save",
    "waitlist_add",
    "waitlist_book",
    "waitlist_remove",
    "workflow_create",
    "workflow_create_default",
    "workflow_delete",
    "workflow_update",
]
