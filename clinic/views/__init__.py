"""Staff pages of a clinic: patients, the schedule, the waitlist, the audit trail.

Views parse input, call a selector or a service, and render. Every page that
shows patient data writes an access entry (clinic.audit).
"""

from __future__ import annotations

from clinic.views.appointments import appointment_action, appointment_panel
from clinic.views.audit import audit_export, audit_list
from clinic.views.booking import schedule_book, schedule_patients
from clinic.views.home import home
from clinic.views.patients import (
    patient_archive,
    patient_create,
    patient_detail,
    patient_edit,
    patient_list,
    patient_workflow_fields,
)
from clinic.views.schedule import schedule_day, schedule_week
from clinic.views.today import today, today_check_in
from clinic.views.waitlist import waitlist, waitlist_book, waitlist_remove

__all__ = [
    "appointment_action",
    "appointment_panel",
    "audit_export",
    "audit_list",
    "home",
    "patient_archive",
    "patient_create",
    "patient_detail",
    "patient_edit",
    "patient_list",
    "patient_workflow_fields",
    "schedule_book",
    "schedule_day",
    "schedule_patients",
    "schedule_week",
    "today",
    "today_check_in",
    "waitlist",
    "waitlist_book",
    "waitlist_remove",
]
