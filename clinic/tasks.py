"""Celery tasks of the clinic schema: thin wrappers around services."""

from __future__ import annotations

from django_tenants.utils import schema_context

from clinic.audit import audit_prune
from portal.celery import app
from portal.selectors import routable_clinics


@app.task
def prune_audit_all() -> int:
    """Fan out the six-year retention prune: one task per clinic, in its schema."""
    count = 0
    for clinic in routable_clinics().only("schema_name"):
        with schema_context(clinic.schema_name):
            prune_clinic_audit.delay()
        count += 1
    return count


@app.task
def prune_clinic_audit(days: int | None = None) -> int:
    """Delete this clinic's audit entries past retention (the task runs in its schema)."""
    return audit_prune(older_than_days=days)
