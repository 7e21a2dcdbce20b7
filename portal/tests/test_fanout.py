"""Beat's fan-out reaches every active clinic once, in its own schema."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import get_tenant_base_schema

from portal.celery import app
from portal.fanout import clinic_schemas, fan_out
from portal.services import clinic_deactivate


@app.task
def _where_am_i() -> str:
    return connection.schema_name


def test_every_active_clinic_gets_the_task_once_in_its_own_schema(
    db, clinic, other_clinic, eager_celery, monkeypatch
):
    seen: list[str] = []
    monkeypatch.setattr(_where_am_i, "run", lambda: seen.append(connection.schema_name))
    assert fan_out(_where_am_i) == len(clinic_schemas())
    assert sorted(seen) == clinic_schemas()
    assert {clinic.schema_name, other_clinic.schema_name} <= set(seen)


def test_deactivated_clinics_and_the_template_get_nothing(db, clinic, other_clinic):
    connection.set_schema_to_public()
    clinic_deactivate(clinic=other_clinic, actor=None)
    schemas = clinic_schemas()
    assert clinic.schema_name in schemas
    assert other_clinic.schema_name not in schemas
    assert get_tenant_base_schema() not in schemas


def test_the_messages_carry_each_clinics_schema_through_one_connection(
    db, clinic, other_clinic, monkeypatch
):
    sent: list[tuple[dict, object]] = []

    def capture(*args, **options):
        sent.append((options["headers"], options["producer"]))

    monkeypatch.setattr(_where_am_i, "apply_async", capture)
    assert fan_out(_where_am_i) == len(clinic_schemas()) >= 2
    assert [h["_schema_name"] for h, _ in sent] == clinic_schemas()
    assert all(producer is sent[0][1] for _, producer in sent)
