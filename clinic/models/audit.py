"""The clinic's audit trail (django-auditlog's log entry, extended)."""

from __future__ import annotations

from auditlog.models import AbstractLogEntry
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models


class AuditEntry(AbstractLogEntry):
    """One line of the clinic's HIPAA trail: who created, changed or looked at what.

    List and search reads are one entry each, naming every patient shown in
    `patient_ids`, so "who looked at this patient" finds them without one row
    per patient per page.
    """

    # Users live in the public schema and are deactivated, never deleted: no
    # database constraint reaches out of the clinic's schema (README, Citus).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        blank=True,
        null=True,
        related_name="+",
        verbose_name="actor",
    )
    user_agent = models.CharField(max_length=300, blank=True)
    query = models.CharField(max_length=300, blank=True)
    patient_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [
            # fastupdate off: a page's entry names up to thousands of patients, and
            # the pending list would make an occasional insert pay for many.
            GinIndex(
                fields=["patient_ids"],
                name="clinic_audit_patient_ids",
                fastupdate=False,
            ),
            models.Index(
                fields=["actor", "-timestamp"], name="clinic_audit_actor_time"
            ),
            models.Index(
                fields=["action", "-timestamp"], name="clinic_audit_action_time"
            ),
            models.Index(
                fields=["content_type", "object_id", "-timestamp"],
                name="clinic_audit_object_time",
            ),
        ]
