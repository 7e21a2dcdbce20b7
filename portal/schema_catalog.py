"""A schema's catalog, object by object, for comparing a clinic with the template.

Every definition is read with PostgreSQL's own deparsers (pg_get_indexdef,
pg_get_constraintdef, ...) while neither schema is on the search_path, so
names come out qualified, and the schema's own name is replaced by `<schema>`:
two schemas built from the same migrations give equal snapshots.
"""

from __future__ import annotations

import re

from django.db import connection

# kind -> query over the objects of the schema whose oid is %(oid)s; each row is
# (name, definition...).
QUERIES: dict[str, str] = {
    "table": """
        SELECT c.relname, c.relkind, c.relpersistence, c.relrowsecurity,
               coalesce(array_to_string(c.reloptions, ','), '')
        FROM pg_class c
        WHERE c.relnamespace = %(oid)s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    """,
    "column": """
        SELECT c.relname || '.' || a.attname,
               row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
               format_type(a.atttypid, a.atttypmod), a.attnotnull,
               coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
               a.attidentity, a.attgenerated,
               coalesce(co.collname, ''), a.attstorage, a.attcompression
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
        WHERE c.relnamespace = %(oid)s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND a.attnum > 0 AND NOT a.attisdropped
    """,
    "index": """
        SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisprimary, i.indisunique,
               i.indisvalid
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relnamespace = %(oid)s
    """,
    "constraint": """
        SELECT coalesce(t.relname, '') || '.' || con.conname, con.contype,
               pg_get_constraintdef(con.oid), con.condeferrable, con.condeferred,
               con.convalidated
        FROM pg_constraint con LEFT JOIN pg_class t ON t.oid = con.conrelid
        WHERE con.connamespace = %(oid)s
    """,
    "sequence": """
        SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
               s.seqmax, s.seqmin, s.seqcache, s.seqcycle,
               coalesce((SELECT t.relname || '.' || a.attname || ' ' || d.deptype::text
                         FROM pg_depend d
                         JOIN pg_class t ON t.oid = d.refobjid
                         JOIN pg_attribute a
                           ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                           AND d.refclassid = 'pg_class'::regclass
                           AND d.deptype IN ('a', 'i')), '')
        FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
        WHERE c.relnamespace = %(oid)s
    """,
    "function": """
        SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
               p.prokind, pg_get_function_result(p.oid),
               CASE WHEN p.prokind IN ('f', 'p', 'w')
                    THEN pg_get_functiondef(p.oid) ELSE '' END
        FROM pg_proc p WHERE p.pronamespace = %(oid)s
    """,
    "trigger": """
        SELECT c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = %(oid)s AND NOT t.tgisinternal
    """,
    "view": """
        SELECT c.relname, pg_get_viewdef(c.oid)
        FROM pg_class c WHERE c.relnamespace = %(oid)s AND c.relkind IN ('v', 'm')
    """,
    "type": """
        SELECT t.typname, t.typtype, format_type(t.oid, NULL),
               coalesce((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                         FROM pg_enum e WHERE e.enumtypid = t.oid), ''),
               coalesce(pg_get_expr(t.typdefaultbin, 0), '')
        FROM pg_type t
        WHERE t.typnamespace = %(oid)s AND t.typtype IN ('e', 'd', 'r', 'm')
    """,
    "statistics": """
        SELECT s.stxname, pg_get_statisticsobjdef(s.oid)
        FROM pg_statistic_ext s WHERE s.stxnamespace = %(oid)s
    """,
    "comment": """
        SELECT c.relname || coalesce('.' || a.attname, ''), d.description
        FROM pg_description d
        JOIN pg_class c ON d.classoid = 'pg_class'::regclass AND d.objoid = c.oid
        LEFT JOIN pg_attribute a
          ON a.attrelid = c.oid AND a.attnum = d.objsubid AND d.objsubid > 0
        WHERE c.relnamespace = %(oid)s
    """,
}

Snapshot = dict[str, dict[str, tuple]]

# `x IN ('a', 'b')` on a varchar, as Django writes it, is stored as
# `(ARRAY['a'::varchar, 'b'::varchar])::text[]`; printed by pg_dump (or by
# django-tenants' clone) and parsed again it becomes
# `ARRAY[('a'::varchar)::text, ('b'::varchar)::text]`: the same value, which
# the planner folds to the same constant. Snapshots hold the second spelling.
_ARRAY_CAST = re.compile(
    r"\(ARRAY\[((?:'(?:[^']|'')*'::[a-z ]+?(?:, |(?=\])))+)\]\)::([a-z ]+)\[\]"
)
_ARRAY_ITEM = re.compile(r"'(?:[^']|'')*'::[a-z ]+?(?=, |$)")


def _push_array_casts(definition: str) -> str:
    def push(match: re.Match) -> str:
        items = _ARRAY_ITEM.findall(match.group(1))
        return (
            "ARRAY[" + ", ".join(f"({item})::{match.group(2)}" for item in items) + "]"
        )

    return _ARRAY_CAST.sub(push, definition)


def snapshot(schema: str) -> Snapshot:
    """{kind: {name: definition}} of every object in `schema`, its name normalised."""
    connection.set_schema_to_public()
    name = re.compile(
        rf'(?<![\w$"])(?:"{re.escape(schema)}"|{re.escape(schema)})(?![\w$"])'
    )
    out: Snapshot = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
        row = cursor.fetchone()
        if row is None:
            raise LookupError(f"no schema {schema}")
        cursor.execute("SELECT %s = ANY(current_schemas(false))", [schema])
        if cursor.fetchone()[0]:
            raise RuntimeError(
                f"{schema} is on the search_path: its names would not be qualified"
            )
        for kind, sql in QUERIES.items():
            cursor.execute(sql % {"oid": int(row[0])})
            out[kind] = {
                r[0]: tuple(
                    _push_array_casts(name.sub("<schema>", v))
                    if isinstance(v, str)
                    else v
                    for v in r[1:]
                )
                for r in cursor.fetchall()
            }
    return out


def differences(left: Snapshot, right: Snapshot) -> list[str]:
    """What one snapshot has that the other lacks or defines otherwise, a line each."""
    lines = []
    for kind in sorted(set(left) | set(right)):
        a, b = left.get(kind, {}), right.get(kind, {})
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                lines.append(f"{kind} {key}: {a.get(key)} != {b.get(key)}")
    return lines


def table_rows(schema: str, table: str, columns: str) -> list[tuple]:
    """The rows of a small table of `schema` (the migrations, the content types)."""
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {q(schema)}.{q(table)} ORDER BY {columns}"
        )
        return cursor.fetchall()
