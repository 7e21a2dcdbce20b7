"""Models of a clinic's schema."""

from clinic.models.audit import AuditEntry
from clinic.models.documents import Document
from clinic.models.notes import ClinicalNote, NoteAddendum, NoteDiagnosis, Prescription
from clinic.models.notifications import (
    Notification,
    NotificationKind,
    NotificationMute,
)
from clinic.models.patients import LANGUAGE_CHOICES, Patient, Workflow
from clinic.models.scheduling import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentType,
    AvailabilityBlock,
    AvailabilityException,
    Holiday,
    Location,
    Provider,
    Room,
    WaitlistEntry,
)
from clinic.models.tasks import Task, TaskEvent

__all__ = [
    "ACTIVE_STATUSES",
    "Appointment",
    "AppointmentEvent",
    "AppointmentType",
    "AuditEntry",
    "AvailabilityBlock",
    "AvailabilityException",
    "Document",
    "ClinicalNote",
    "Holiday",
    "LANGUAGE_CHOICES",
    "Location",
    "NoteAddendum",
    "NoteDiagnosis",
    "Notification",
    "NotificationKind",
    "NotificationMute",
    "Patient",
    "Prescription",
    "Provider",
    "Room",
    "Task",
    "TaskEvent",
    "WaitlistEntry",
    "Workflow",
]
