from datetime import date, timedelta

from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from clinic.actors import SYSTEM
from clinic.audit import audit_record_access
from clinic.models import AuditEntry
from clinic.services import patient_create
from clinic.tasks import prune_audit_all


def test_the_daily_prune_runs_in_every_clinics_own_schema(
    clinic, other_clinic, eager_celery
):
    old = timezone.now() - timedelta(days=6 * 365 + 30)
    for c in (clinic, other_clinic):
        with schema_context(c.schema_name):
            patient = patient_create(
                first_name="Old",
                last_name="Record",
                date_of_birth=date(1970, 1, 1),
                actor=SYSTEM,
            )
            audit_record_access(patient=patient, via="page")
            AuditEntry.objects.update(timestamp=old)
    connection.set_schema_to_public()
    assert prune_audit_all.delay().get() >= 2
    for c in (clinic, other_clinic):
        with schema_context(c.schema_name):
            assert AuditEntry.objects.count() == 0
