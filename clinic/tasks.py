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


@app.task(acks_late=True)
def document_extract(document_id: int) -> str | None:
    """Extract one uploaded document's text and fields (runs in its clinic's schema)."""
    from clinic.services.documents import document_extract as run

    document = run(document_id=document_id)
    return document.status if document is not None else None
