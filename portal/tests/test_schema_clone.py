"""Provisioning clones a cached dump of the template: same catalog, same migrations."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection
from django_tenants.utils import get_tenant_base_schema, schema_exists

from conftest import PASSWORD
from portal import schema_clone
from portal.models import Clinic, TemplateDump
from portal.schema_catalog import differences, snapshot, table_rows
from portal.services import clinic_provision


def provision(slug: str) -> Clinic:
    clinic = clinic_provision(
        slug=slug,
        name=slug.title(),
        admin_email=f"admin@{slug}.test",
        admin_password=PASSWORD,
    )
    connection.set_schema_to_public()
    return clinic


def same_as_template(schema: str) -> list[str]:
    template = get_tenant_base_schema()
    found = differences(snapshot(template), snapshot(schema))
    for table, columns in (
        ("django_migrations", "app, name"),
        ("django_content_type", "id, app_label, model"),
    ):
        if table_rows(template, table, columns) != table_rows(schema, table, columns):
            found.append(f"rows of {table} differ")
    return found


@pytest.fixture
def pg_dump_calls(monkeypatch) -> list[list[str]]:
    calls: list[list[str]] = []
    real = subprocess.run

    def counting(command, *args, **kwargs):
        calls.append(command)
        return real(command, *args, **kwargs)

    monkeypatch.setattr(schema_clone.subprocess, "run", counting)
    return calls


@pytest.fixture
def side_connection() -> Iterator[psycopg.Connection]:
    """A second connection that commits, as a deploy's migrate_schemas would."""
    db = connection.settings_dict
    conn = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    )
    yield conn
    conn.close()


def test_a_new_clinic_has_exactly_the_templates_catalog_and_migrations(db, monkeypatch):
    def no_migrate_run(*args, **kwargs):
        raise AssertionError("a cloned clinic needs no migrate_schemas run")

    monkeypatch.setattr("django_tenants.models.call_command", no_migrate_run)
    clinic = provision("gamma")
    assert same_as_template(clinic.schema_name) == []
    # The copy really is object by object: the template has a good many of each.
    template = snapshot(get_tenant_base_schema())
    assert len(template["table"]) > 20 and len(template["index"]) > 50
    assert len(template["constraint"]) > 40 and len(template["sequence"]) > 20


def test_the_session_clinics_match_the_template_too(db, clinic, other_clinic):
    for schema in (clinic.schema_name, other_clinic.schema_name):
        assert same_as_template(schema) == []


def test_the_template_is_dumped_once_and_then_cloned_from_the_cache(db, pg_dump_calls):
    TemplateDump.objects.all().delete()
    provision("delta")
    assert len(pg_dump_calls) == 1
    assert TemplateDump.objects.filter(template=get_tenant_base_schema()).count() == 1
    provision("epsilon")
    assert len(pg_dump_calls) == 1


def test_a_template_migrated_after_clinics_exist_is_the_one_cloned(
    db, clinic, side_connection, pg_dump_calls
):
    template = get_tenant_base_schema()
    provision("zeta")  # the cache holds the template as it was
    # What a new migration does to the template: a column, an index, its record.
    side_connection.execute(
        f'ALTER TABLE "{template}".clinic_workflow'
        " ADD COLUMN scale_probe integer DEFAULT 7;"
        "CREATE INDEX clinic_workflow_scale_probe"
        f' ON "{template}".clinic_workflow (scale_probe);'
        f'INSERT INTO "{template}".django_migrations (app, name, applied)'
        " VALUES ('clinic', '9999_scale_probe', now())"
    )
    try:
        dumps_before = len(pg_dump_calls)
        eta = provision("eta")
        # The changed template was dumped again.
        assert len(pg_dump_calls) == dumps_before + 1
        assert same_as_template(eta.schema_name) == []
        assert "clinic_workflow.scale_probe" in snapshot(eta.schema_name)["column"]
        assert ("clinic", "9999_scale_probe") in table_rows(
            eta.schema_name, "django_migrations", "app, name"
        )
        # Clinics made before are behind until migrate_schemas brings them along.
        assert same_as_template(clinic.schema_name) != []
    finally:
        side_connection.execute(
            f'ALTER TABLE "{template}".clinic_workflow DROP COLUMN scale_probe;'
            f'DELETE FROM "{template}".django_migrations'
            " WHERE name = '9999_scale_probe'"
        )


def test_without_a_dump_the_clinic_is_migrated_instead(db, monkeypatch):
    def broken(template: str) -> list:
        raise schema_clone.CloneError("pg_dump: not installed")

    TemplateDump.objects.all().delete()
    monkeypatch.setattr(schema_clone, "dump_template", broken)
    clinic = provision("theta")
    assert schema_exists(clinic.schema_name)
    assert same_as_template(clinic.schema_name) == []


def test_a_failure_inside_the_clone_leaves_nothing_behind(db, monkeypatch):
    steps = schema_clone.template_steps(get_tenant_base_schema())
    monkeypatch.setattr(
        schema_clone, "template_steps", lambda template: [*steps, ["sql", "SELECT 1/0"]]
    )
    with pytest.raises(Exception, match="division by zero"):
        provision("iota")
    connection.set_schema_to_public()
    assert not Clinic.objects.filter(slug="iota").exists()
    assert not schema_exists("c_iota")


# A plain pg_dump of one schema, cut down: its entries, session settings and
# psql's \restrict lines. A tab separates COPY values; "\\." is a backslash, a dot.
DUMP = r"""SET statement_timeout = 0;

--
-- Name: clinic_template; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA clinic_template;


SET default_tablespace = '';

--
-- Name: t; Type: TABLE; Schema: clinic_template; Owner: -
--

CREATE TABLE clinic_template.t (
    id integer,
    note text DEFAULT 'clinic_template.x'::text
);


--
-- Data for Name: t; Type: TABLE DATA; Schema: clinic_template; Owner: -
--

COPY clinic_template.t (id, note) FROM stdin;
1	clinic_template.t and a tab\there
2	ends with a backslash-dot \\.
\.


--
-- Data for Name: u; Type: TABLE DATA; Schema: clinic_template; Owner: -
--

COPY clinic_template.u (id) FROM stdin;
\.


--
-- Name: t t_pkey; Type: CONSTRAINT; Schema: clinic_template; Owner: -
--

ALTER TABLE ONLY clinic_template.t
    ADD CONSTRAINT t_pkey PRIMARY KEY (id);

\unrestrict abc
"""


def test_dumped_rows_are_copied_exactly_and_only_the_schema_name_is_replaced():
    steps = schema_clone.split_dump(DUMP, "clinic_template")
    p = schema_clone.PLACEHOLDER
    assert [s[0] for s in steps] == ["sql", "copy", "sql"]
    assert steps[0][1].startswith(f"CREATE TABLE {p}.t (")
    # A default is DDL: every mention of the schema is the schema.
    assert f"'{p}.x'::text" in steps[0][1]
    assert "SET " not in steps[0][1] and "CREATE SCHEMA" not in steps[0][1]
    rows = "1\tclinic_template.t and a tab\\there\n2\tends with a backslash-dot \\\\.\n"
    assert steps[1] == ["copy", f"COPY {p}.t (id, note) FROM stdin", rows]
    constraint = f"ALTER TABLE ONLY {p}.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);"
    assert steps[2][1] == constraint
