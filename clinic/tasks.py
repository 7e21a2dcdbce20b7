"""Celery tasks of the clinic schema: thin wrappers around services."""

from __future__ import annotations

from clinic.audit import audit_prune
from portal.celery import app
from portal.fanout import fan_out


@app.task
def prune_audit_all() -> int:
    """Fan out the six-year retention prune: one task per active clinic."""
    return fan_out(prune_clinic_audit)


@app.task
def prune_clinic_audit(days: int | None = None) -> int:
    """Delete this clinic's audit entries past retention (runs in its schema)."""
    return audit_prune(older_than_days=days)
