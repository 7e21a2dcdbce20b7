"""The Django admin on a clinic's host: only that clinic's admins, only its data.

Clinic admins are ordinary users with an admin Membership, not Django
superusers or staff, so the site and every ModelAdmin decide access from the
membership rather than from Django's model permissions. Sign-in, sign-out and
password changes go through the portal's own pages (lockout, history, events).

Importing this package registers the model admins on `clinic_admin`.
"""

from __future__ import annotations

from clinic.admin.audit import AuditEntryAdmin
from clinic.admin.patients import PatientAdmin, PatientAdminForm, patient_save
from clinic.admin.records import ClinicalNoteAdmin
from clinic.admin.scheduling import (
    AppointmentAdmin,
    AppointmentTypeAdmin,
    AvailabilityExceptionAdmin,
    HolidayAdmin,
    LocationAdmin,
    ProviderAdmin,
    RoomAdmin,
    WaitlistEntryAdmin,
)
from clinic.admin.site import ClinicAdminSite, ClinicModelAdmin, clinic_admin
from clinic.admin.workflows import WorkflowAdmin, WorkflowAdminForm

__all__ = [
    "AppointmentAdmin",
    "AppointmentTypeAdmin",
    "AuditEntryAdmin",
    "AvailabilityExceptionAdmin",
    "ClinicAdminSite",
    "ClinicalNoteAdmin",
    "ClinicModelAdmin",
    "HolidayAdmin",
    "LocationAdmin",
    "PatientAdmin",
    "PatientAdminForm",
    "ProviderAdmin",
    "RoomAdmin",
    "WaitlistEntryAdmin",
    "WorkflowAdmin",
    "WorkflowAdminForm",
    "clinic_admin",
    "patient_save",
]
