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


def test_an_access_entry_reads_back_as_written_with_every_field(in_clinic):
    from auditlog.context import set_actor

    from portal.models import User

    user = User.objects.create_user(email="reader@example.test", password="x" * 16)
    patient = _patient()
    with set_actor(user, remote_addr="203.0.113.7"):
        written = audit_record_search(
            patients=[patient],
            query="ros" * 200,
            via="api",
            filters={"status": "active", "empty": ""},
            what="Schedule",
        )
    read = AuditEntry.objects.get(pk=written.pk)
    assert not written._state.adding
    for field in AuditEntry._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(written, field.attname), field
    assert read.actor_id == user.pk and read.actor_email == "reader@example.test"
    assert read.remote_addr == "203.0.113.7"
    assert read.query == ("ros" * 200)[:300]
    assert read.object_repr == "Schedule (1 shown)"
    assert read.additional_data == {"via": "api", "filters": {"status": "active"}}
    assert read.changes is None and read.serialized_data is None


def test_an_access_entry_takes_no_patients_and_ids_past_int4(in_clinic):
    from clinic.audit import ShownPatient

    empty = audit_record_search(patients=[], query="", via="api", filters={})
    big = audit_record_search(
        patients=[ShownPatient(2**40), ShownPatient(3)], query="", via="api", filters={}
    )
    assert AuditEntry.objects.get(pk=empty.pk).patient_ids == []
    assert AuditEntry.objects.get(pk=big.pk).patient_ids == [2**40, 3]


def test_each_clinic_keeps_its_access_entries_in_its_own_trail(clinic, other_clinic):
    counts = {}
    for c in (clinic, other_clinic):
        with schema_context(c.schema_name):
            counts[c.schema_name] = AuditEntry.objects.count()
    with schema_context(clinic.schema_name):
        entry = audit_record_access(patient=_patient(), via="api")
    with schema_context(other_clinic.schema_name):
        assert not AuditEntry.objects.filter(pk=entry.pk, object_id=entry.object_id)
        assert AuditEntry.objects.count() == counts[other_clinic.schema_name]
    with schema_context(clinic.schema_name):
        assert AuditEntry.objects.count() == counts[clinic.schema_name] + 2


def test_a_change_entry_takes_the_actor_and_address_of_the_context_around_it(in_clinic):
    from portal.audit_context import audit_context
    from portal.models import User

    user = User.objects.create_user(email="clerk@example.test", password="x" * 16)
    with audit_context(actor=user, remote_addr="198.51.100.4", user_agent="desk"):
        patient = _patient()
        with audit_context(actor=None, actor_email="reminder worker"):
            patient_update(patient=patient, phone="+14155550123", actor=SYSTEM)
        patient_update(patient=patient, address="1 Main St", actor=SYSTEM)
    patient_update(patient=patient, address="2 Main St", actor=SYSTEM)
    outside, second, worker, created = audit_entries(patient_id=patient.pk)
    assert (created.actor_id, created.remote_addr, created.user_agent) == (
        user.pk,
        "198.51.100.4",
        "desk",
    )
    assert created.actor_email == "clerk@example.test"
    assert (worker.actor_id, worker.actor_email) == (None, "reminder worker")
    assert (second.actor_id, second.remote_addr) == (user.pk, "198.51.100.4")
    assert (outside.actor_id, outside.remote_addr, outside.actor_email) == (
        None,
        None,
        None,
    )


def test_a_request_leaves_the_save_signals_as_it_found_them(staff_client):
    from django.db.models.signals import pre_save

    before = list(pre_save.receivers)
    assert staff_client.get("/patients/").status_code == 200
    assert pre_save.receivers == before


def test_a_pages_access_entry_carries_the_requests_correlation_id(staff_client, clinic):
    def last_cid():
        with schema_context(clinic.schema_name):
            return AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).latest(
                "id"
            )

    staff_client.get("/patients/", headers={"X-Correlation-ID": "req-42"})
    entry = last_cid()
    assert entry.cid == "req-42" and entry.object_repr.startswith("Patient list")
    staff_client.get("/patients/")
    assert last_cid().cid is None


def test_an_oversized_correlation_id_is_cut_to_the_column_not_a_500(
    staff_client, clinic
):
    answer = staff_client.get("/patients/", headers={"X-Correlation-ID": "c" * 5000})
    assert answer.status_code == 200
    with schema_context(clinic.schema_name):
        entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).latest("id")
    assert entry.cid == "c" * AuditEntry._meta.get_field("cid").max_length
