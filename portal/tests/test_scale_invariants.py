"""What keeps the road to Citus schema-based sharding open, read from the catalog.

With `citus.enable_schema_based_sharding`, each clinic schema becomes a
distributed schema that lives whole on one node and can be moved between
nodes; public tables stay on the coordinator or become reference tables
(README, "Beyond one database server"). That holds while a clinic schema is
self-contained: these tests check the template and every clinic schema.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import get_tenant_base_schema

from portal.models import Clinic

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


@pytest.fixture
def clinic_schemas(db, clinic, other_clinic) -> list[str]:
    schemas = list(
        Clinic.objects.exclude(schema_name="public").values_list(
            "schema_name", flat=True
        )
    )
    assert get_tenant_base_schema() in schemas and len(schemas) >= 3
    return schemas


def rows(sql: str, params: list) -> list[tuple]:
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def listed(found: list[tuple]) -> str:
    return "\n  " + "\n  ".join(" | ".join(str(v) for v in row) for row in found)


# Every dependency recorded in pg_depend, both ends named with their schema.
DEPENDENCIES = """
    SELECT o.schema AS dep_schema, o.type || ' ' || o.identity AS dependent,
           r.schema AS ref_schema, r.type || ' ' || r.identity AS referenced,
           d.refclassid, d.refobjid
    FROM pg_depend d,
         LATERAL pg_identify_object(d.classid, d.objid, d.objsubid) o,
         LATERAL pg_identify_object(d.refclassid, d.refobjid, d.refobjsubid) r
    WHERE d.deptype IN ('n', 'a', 'i')
"""


def test_no_foreign_key_leaves_a_clinic_schema(clinic_schemas):
    found = rows(
        "SELECT n.nspname || '.' || t.relname, con.conname,"
        " rn.nspname || '.' || r.relname"
        " FROM pg_constraint con"
        " JOIN pg_class t ON t.oid = con.conrelid"
        " JOIN pg_namespace n ON n.oid = t.relnamespace"
        " JOIN pg_class r ON r.oid = con.confrelid"
        " JOIN pg_namespace rn ON rn.oid = r.relnamespace"
        " WHERE con.contype = 'f' AND n.nspname = ANY(%s) AND rn.oid <> n.oid"
        " ORDER BY 1, 2",
        [clinic_schemas],
    )
    assert not found, (
        "foreign keys from clinic schemas to other schemas (use db_constraint=False and"
        f" DO_NOTHING: users are deactivated, never deleted):{listed(found)}"
    )


def test_nothing_outside_a_clinic_schema_depends_on_it(clinic_schemas):
    found = rows(
        f"SELECT dependent, referenced FROM ({DEPENDENCIES}) deps"
        " WHERE ref_schema = ANY(%s) AND dep_schema IS NOT NULL"
        " AND dep_schema <> ref_schema"
        " AND dep_schema <> ALL(%s) ORDER BY 1, 2",
        [clinic_schemas, list(SYSTEM_SCHEMAS)],
    )
    assert not found, (
        f"objects outside a clinic schema that depend on it:{listed(found)}"
    )


def test_clinic_objects_use_only_their_schema_and_extensions(clinic_schemas):
    found = rows(
        f"SELECT dependent, referenced FROM ({DEPENDENCIES}) deps"
        " WHERE dep_schema = ANY(%s) AND ref_schema IS NOT NULL"
        " AND ref_schema <> dep_schema"
        " AND ref_schema <> ALL(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = deps.refclassid"
        "                 AND e.objid = deps.refobjid AND e.deptype = 'e')"
        " ORDER BY 1, 2",
        [clinic_schemas, list(SYSTEM_SCHEMAS)],
    )
    assert not found, (
        "clinic objects that use public (or other) objects that are not an extension's"
        f" (types, operator classes and functions of pg_trgm and btree_gist are fine):"
        f"{listed(found)}"
    )


def test_clinic_functions_name_no_other_schema(clinic_schemas):
    others = [
        s
        for s in rows("SELECT nspname FROM pg_namespace", [])
        if s[0] not in SYSTEM_SCHEMAS
    ]
    found = [
        (schema, function, other)
        for schema, function, source in rows(
            "SELECT n.nspname, p.proname, p.prosrc FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY(%s)",
            [clinic_schemas],
        )
        for (other,) in others
        if other != schema and f"{other}." in source
    ]
    assert not found, (
        f"functions in clinic schemas that name another schema:{listed(found)}"
    )


def test_every_clinic_table_has_a_primary_key(clinic_schemas):
    # Moving a schema between nodes replicates its tables logically, which
    # needs a replica identity for updates and deletes.
    found = rows(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p')"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint p WHERE p.conrelid = c.oid"
        "                 AND p.contype = 'p') ORDER BY 1",
        [clinic_schemas],
    )
    assert not found, f"clinic tables without a primary key:{listed(found)}"


def test_no_clinic_table_inherits_is_inherited_or_is_foreign(clinic_schemas):
    found = rows(
        "SELECT cn.nspname || '.' || c.relname, pn.nspname || '.' || p.relname"
        " FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_namespace cn ON cn.oid = c.relnamespace"
        " JOIN pg_class p ON p.oid = i.inhparent"
        " JOIN pg_namespace pn ON pn.oid = p.relnamespace"
        " WHERE (cn.nspname = ANY(%s) OR pn.nspname = ANY(%s))"
        " AND (p.relkind <> 'p' OR cn.oid <> pn.oid)"
        " UNION ALL SELECT n.nspname || '.' || c.relname, 'foreign table'"
        " FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = ANY(%s) AND c.relkind = 'f'",
        [clinic_schemas, clinic_schemas, clinic_schemas],
    )
    assert not found, f"inheritance or foreign tables in clinic schemas:{listed(found)}"
