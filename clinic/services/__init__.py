"""Writes of the clinic schema. Pages, API, tasks and admin all call these."""

from clinic.services.patients import (
    BULK_LIMIT,
    PATIENT_FIELDS,
    patient_archive,
    patient_create,
    patient_update,
    patients_bulk_create,
    workflow_create,
    workflow_create_default,
    workflow_update,
)

__all__ = [
    "BULK_LIMIT",
    "PATIENT_FIELDS",
    "patient_archive",
    "patient_create",
    "patient_update",
    "patients_bulk_create",
    "workflow_create",
    "workflow_create_default",
    "workflow_update",
]

from clinic.services.scheduling import (  # noqa: E402
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_confirm,
    appointment_no_show,
    appointment_reschedule,
    require_scheduler,
    schedule_changes_allowed,
)

__all__ += [
    "appointment_book",
    "appointment_cancel",
    "appointment_check_in",
    "appointment_complete",
    "appointment_confirm",
    "appointment_no_show",
    "appointment_reschedule",
    "require_scheduler",
    "schedule_changes_allowed",
]

from clinic.services.waitlist import waitlist_add, waitlist_book, waitlist_remove  # noqa: E402

__all__ += ["waitlist_add", "waitlist_book", "waitlist_remove"]
