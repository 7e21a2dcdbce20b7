from datetime import date, timedelta

from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import schema_context

from clinic.actors import SYSTEM
from clinic.audit import audit_record_access, audit_record_search
from clinic.models import AuditEntry
from clinic.selectors import audit_entries
from clinic.services import patient_create, patient_update


def _patient(**extra):
    return patient_create(
        first_name="Rosa",
        last_name="Parks",
        date_of_birth=date(1950, 2, 4),
        actor=SYSTEM,
        **extra,
    )


def test_creating_and_changing_a_patient_writes_change_entries(in_clinic):
    patient = _patient()
    patient_update(patient=patient, phone="+14155550199", actor=SYSTEM)
    actions = list(
        audit_entries(patient_id=patient.pk).values_list("action", flat=True)
    )
    assert actions == [AuditEntry.Action.UPDATE, AuditEntry.Action.CREATE]
    update = audit_entries(patient_id=patient.pk).first()
    assert update.changes["phone"] == ["", "+14155550199"]


def test_a_search_is_one_entry_that_names_every_patient_shown(in_clinic):
    first, second = _patient(), _patient(phone="+14155550100")
    audit_record_search(
        patients=[first, second], query="rosa", via="page", filters={"status": "active"}
    )
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS)
    assert entries.count() == 1
    assert sorted(entries.get().patient_ids) == sorted([first.pk, second.pk])
    assert list(
        audit_entries(patient_id=second.pk, action=AuditEntry.Action.ACCESS)
    ) == [entries.get()]


def test_audit_entries_filter_by_date_range(in_clinic):
    patient = _patient()
    entry = audit_record_access(patient=patient, via="page")
    now = timezone.now()
    assert entry in audit_entries(
        start=now - timedelta(minutes=1), end=now + timedelta(minutes=1)
    )
    assert entry not in audit_entries(end=now - timedelta(minutes=1))


def test_prune_audit_removes_only_entries_past_retention_in_every_clinic(
    clinic, other_clinic
):
    old = timezone.now() - timedelta(days=6 * 365 + 10)
    expected = {}
    for c in (clinic, other_clinic):
        with schema_context(c.schema_name):
            patient = _patient()
            audit_record_access(patient=patient, via="page")
            audit_entries(patient_id=patient.pk).update(timestamp=old)
            recent = audit_record_access(patient=patient, via="page")
            expected[c.schema_name] = (
                patient.pk,
                recent.pk,
                AuditEntry.objects.count() - 2,
            )
    call_command("prune_audit", stdout=open("/dev/null", "w"))
    for schema, (patient_id, recent_id, remaining) in expected.items():
        with schema_context(schema):
            assert list(
                audit_entries(patient_id=patient_id).values_list("id", flat=True)
            ) == [recent_id]
            assert AuditEntry.objects.count() == remaining


def test_audit_trail_of_one_clinic_is_not_visible_from_another(clinic, other_clinic):
    with schema_context(clinic.schema_name):
        audit_record_access(patient=_patient(), via="page")
        assert AuditEntry.objects.count() >= 1
    with schema_context(other_clinic.schema_name):
        assert AuditEntry.objects.filter(object_repr="Rosa Parks").count() == 0
