"""Beat's fan-out: one task per clinic that serves, sent in one go.

A periodic task (`prune_audit_all`, the reminder dispatcher, ...) hands the
work to one task per clinic, each run in its clinic's schema by
tenant-schemas-celery (the `_schema_name` header). The clinics come from one
query of schema names (deactivated clinics and the template left out), and
every message goes through one broker connection, so fanning out to 1,000
clinics costs a fraction of a second rather than a connection and a model
instance per clinic.
"""

from __future__ import annotations

from celery import Task

from portal.selectors import routable_clinics


def clinic_schemas() -> list[str]:
    """The schemas of the clinics that get periodic work, in a stable order."""
    return list(
        routable_clinics().order_by("schema_name").values_list("schema_name", flat=True)
    )


def fan_out(
    task: Task, *, kwargs: dict | None = None, schemas: list[str] | None = None
) -> int:
    """Send `task` once to every routable clinic (or to `schemas`), each in its schema.

    Returns the number of tasks sent.
    """
    schemas = clinic_schemas() if schemas is None else schemas
    if task.app.conf.task_always_eager:
        for schema in schemas:
            task.apply(kwargs=kwargs, headers={"_schema_name": schema})
        return len(schemas)
    with task.app.producer_or_acquire() as producer:
        for schema in schemas:
            task.apply_async(
                kwargs=kwargs, headers={"_schema_name": schema}, producer=producer
            )
    return len(schemas)
