"""Staff pages of a clinic: patients (list, search, detail, changes), the audit trail.

Views parse input, call a selector or a service, and render. Every page that
shows patient data writes an access entry (clinic.audit).
"""

from __future__ import annotations

from clinic.views.audit import audit_export, audit_list
from clinic.views.home import home
from clinic.views.patients import (
    patient_archive,
    patient_create,
    patient_detail,
    patient_edit,
    patient_list,
    patient_workflow_fields,
)

__all__ = [
    "audit_export",
    "audit_list",
    "home",
    "patient_archive",
    "patient_create",
    "patient_detail",
    "patient_edit",
    "patient_list",
    "patient_workflow_fields",
]
