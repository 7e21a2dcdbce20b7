"""migrate_schemas leaves out the clinics that have nothing to apply."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django_tenants.migration_executors import MultiprocessingExecutor, StandardExecutor
from django_tenants.utils import get_tenant_base_schema

from portal.migration_executor import (
    expected_migrations,
    get_executor,
    schemas_with_pending_migrations,
)


@pytest.fixture
def migrated(monkeypatch) -> list[str]:
    """The schemas the standard executor really migrates (recorded, not run)."""
    ran: list[str] = []

    def record(args, options, codename, schema_name, *rest, **kwargs) -> None:
        ran.append(schema_name)

    monkeypatch.setattr(
        "django_tenants.migration_executors.standard.run_migrations", record
    )
    return ran


def schemas(clinic, other_clinic) -> list[str]:
    return [get_tenant_base_schema(), clinic.schema_name, other_clinic.schema_name]


def forget_latest_clinic_migration(schema: str) -> None:
    latest = max(name for app, name in expected_migrations() if app == "clinic")
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
            ["clinic", latest],
        )
        assert cursor.rowcount == 1


def migrate(*args: str, **options: object) -> str:
    out = io.StringIO()
    call_command(
        "migrate_schemas",
        *args,
        tenant=True,
        executor="standard",
        interactive=False,
        stdout=out,
        **options,
    )
    return out.getvalue()


def test_up_to_date_schemas_have_nothing_pending(db, clinic, other_clinic):
    assert schemas_with_pending_migrations(schemas(clinic, other_clinic)) == []


def test_a_schema_missing_one_migration_is_pending(db, clinic, other_clinic):
    forget_latest_clinic_migration(other_clinic.schema_name)
    pending = schemas_with_pending_migrations(schemas(clinic, other_clinic))
    assert pending == [other_clinic.schema_name]


def test_a_schema_without_a_migrations_table_is_pending(db, clinic):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "c_bare"')
    assert schemas_with_pending_migrations([clinic.schema_name, "c_bare"]) == ["c_bare"]


def test_migrate_schemas_runs_only_the_clinics_with_something_to_apply(
    db, clinic, other_clinic, migrated, capsys
):
    forget_latest_clinic_migration(other_clinic.schema_name)
    migrate()
    assert migrated == [other_clinic.schema_name]
    assert "have nothing to apply; migrating 1." in capsys.readouterr().out


def test_with_nothing_to_apply_no_clinic_is_migrated(db, migrated):
    migrate()
    assert migrated == []


def test_a_single_schema_is_skipped_too_when_it_has_nothing_to_apply(
    db, clinic, migrated
):
    migrate(schema_name=clinic.schema_name)
    assert migrated == []


def test_a_named_target_or_prune_migrates_every_clinic(
    db, clinic, other_clinic, migrated
):
    migrate("clinic", "zero", plan=True)
    assert set(schemas(clinic, other_clinic)) <= set(migrated)
    migrated.clear()
    migrate(prune=True)
    assert set(schemas(clinic, other_clinic)) <= set(migrated)


def test_both_executors_skip():
    assert issubclass(get_executor("standard"), StandardExecutor)
    assert issubclass(get_executor("multiprocessing"), MultiprocessingExecutor)
    assert get_executor("standard") is get_executor("standard")


def test_after_the_template_is_migrated_its_clone_dump_is_refreshed(
    db, migrated, monkeypatch
):
    refreshed: list[bool] = []
    monkeypatch.setattr(
        "portal.schema_clone.template_refresh", lambda: refreshed.append(True)
    )
    migrate()
    assert refreshed == []  # nothing applied to the template, nothing to refresh
    forget_latest_clinic_migration(get_tenant_base_schema())
    migrate()
    assert migrated == [get_tenant_base_schema()]
    assert refreshed == [True]
