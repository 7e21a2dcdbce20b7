"""Many rows in one short statement (the dispatcher's hot path).

Django's bulk_update builds a CASE expression per field and row, and both it
and bulk_create send one placeholder per value: for a batch of 200 texts the
Python time spent building and splitting those statements is more than the
database spends on them. Here each column travels as one array, unnested on
the server: a statement of constant length, one parameter per column.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Field, Model


def _array(field: Field) -> str:
    return f"%s::{field.db_type(connection)}[]"


def _values(rows: Sequence[Model], field: Field) -> list:
    return [
        field.get_db_prep_save(getattr(row, field.attname), connection) for row in rows
    ]


def rows_update(rows: Sequence[Model], fields: Sequence[str]) -> int:
    """UPDATE each row's `fields` to its in-memory values, in one statement."""
    if not rows:
        return 0
    meta = type(rows[0])._meta
    qn = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    pk = meta.pk
    names = ", ".join(qn(c.column) for c in [pk, *columns])
    sql = (
        f"UPDATE {qn(meta.db_table)} AS t SET "
        + ", ".join(f"{qn(c.column)} = v.{qn(c.column)}" for c in columns)
        + f" FROM unnest({', '.join(_array(c) for c in [pk, *columns])}) AS v({names})"
        + f" WHERE t.{qn(pk.column)} = v.{qn(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [[row.pk for row in rows], *(_values(rows, c) for c in columns)]
        )
        return cursor.rowcount


def rows_insert(rows: Sequence[Model]) -> None:
    """INSERT new rows, giving them ids from the table's sequence first, in two statements."""
    if not rows:
        return
    meta = type(rows[0])._meta
    qn = connection.ops.quote_name
    for row in rows:
        for field in meta.concrete_fields:
            if getattr(field, "auto_now", False) or getattr(
                field, "auto_now_add", False
            ):
                field.pre_save(row, add=True)
    with connection.cursor() as cursor:
        # Ids drawn first, so each row knows its own (RETURNING promises no order).
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
            row.pk = pk
        columns = list(meta.concrete_fields)
        names = ", ".join(qn(c.column) for c in columns)
        cursor.execute(
            f"INSERT INTO {qn(meta.db_table)} ({names}) "
            f"SELECT * FROM unnest({', '.join(_array(c) for c in columns)})",
            [_values(rows, c) for c in columns],
        )
    for row in rows:
        row._state.adding = False
