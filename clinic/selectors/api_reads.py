"""Reads on the partner API's hot paths, as SQL built once per process.

Every API read of one patient, or of a week's first page of appointments, asks
for the same rows; compiling the ORM query costs more than running it. The instances are the ones the ORM would give
(`Patient.objects.select_related("workflow")`), built through each field's
converters. The statement names the clinic's schema and is prepared on the
connection (portal.db_backend): PostgreSQL neither parses nor plans it again.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, ClassVar

from django.db import connection
from django.db.models import Field

from clinic.models import Appointment, Patient, Workflow
from portal.limits import MAX_ID
from portal.rows import RowLoader


def patient_with_workflow(pk: int) -> Patient | None:
    """The patient `pk` with their workflow loaded, or None (also for an id past
    bigint, which the ORM answers as missing too)."""
    if not -MAX_ID <= pk <= MAX_ID:
        return None
    sql, patient_row, workflow_row = _patient_sql(connection.schema_name)
    with connection.prepared_statements(), connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(patient_row)
    patient = patient_row(row[:split])
    workflow = None
    if row[split] is not None:  # the workflow's id: NULL when the patient has none
        workflow = workflow_row(row[split:])
    Patient.workflow.field.set_cached_value(patient, workflow)
    return patient


@functools.lru_cache(maxsize=4096)
def _patient_sql(schema: str) -> tuple[str, RowLoader, RowLoader]:
    """The read in `schema` (a clinic's, from its row; quoted as an identifier)."""
    p, w = Patient._meta, Workflow._meta
    workflow_fields = (w.pk, *(f for f in w.concrete_fields if f is not w.pk))
    columns = [f'p."{f.column}"' for f in p.concrete_fields]
    columns += [f'w."{f.column}"' for f in workflow_fields]
    qn = connection.ops.quote_name
    sql = (
        f'SELECT {", ".join(columns)} FROM {qn(schema)}."{p.db_table}" p'
        f' LEFT JOIN {qn(schema)}."{w.db_table}" w'
        f' ON w."{w.pk.column}" = p."{p.get_field("workflow").column}"'
        f' WHERE p."{p.pk.column}" = %s'
    )
    return (
        sql,
        RowLoader(Patient, p.concrete_fields),
        RowLoader(Workflow, workflow_fields),
    )


class AppointmentWindow:
    """The appointments starting in [`start_from`, `start_before`) (None: open),
    as `values()`-style rows, for the first page of the API's appointment list.

    It stands in for the queryset DRF's cursor pagination slices: `order_by`
    takes only the list's own order (start, id), a slice is one prepared
    statement with LIMIT/OFFSET. Rows carry `columns` as keys.
    """

    model = Appointment

    def __init__(
        self,
        columns: tuple[str, ...],
        start_from: datetime | None,
        start_before: datetime | None,
    ) -> None:
        self.columns = columns
        self.bounds = (start_from, start_before)

    def order_by(self, *ordering: str) -> AppointmentWindow:
        if ordering != ("start", "id"):
            raise ValueError(f"AppointmentWindow is in start, id order, not {ordering}")
        return self

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        offset, stop = window.start or 0, window.stop
        sql, converters = _window_sql(
            connection.schema_name, self.columns, *(b is not None for b in self.bounds)
        )
        params = [b for b in self.bounds if b is not None] + [stop - offset, offset]
        with connection.prepared_statements(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return _rows(cursor.fetchall(), self.columns, converters)


@functools.lru_cache(maxsize=4096)
def _window_sql(
    schema: str, columns: tuple[str, ...], lower: bool, upper: bool
) -> tuple[str, list[tuple[int, Field, list]]]:
    a = Appointment._meta
    by_attname = {f.attname: f for f in a.concrete_fields}
    fields = [by_attname[name] for name in columns]
    qn = connection.ops.quote_name
    where = ([f"{qn('start')} >= %s"] if lower else []) + (
        [f"{qn('start')} < %s"] if upper else []
    )
    sql = (
        f"SELECT {', '.join(qn(f.column) for f in fields)}"
        f" FROM {qn(schema)}.{qn(a.db_table)}"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY {qn('start')}, {qn('id')} LIMIT %s OFFSET %s"
    )
    return sql, _converters(fields)


class PatientsByName:
    """Every patient in name order (last name, first name, id) as `values()`-style
    rows, joined to the workflow's slug: the first page of the API's plain list.

    It stands in for `patient_list().values(*columns)` where the patient
    pagination slices it without a cursor: a slice is one prepared statement.
    Column names as `values()` takes them (`workflow__slug` for the slug).
    """

    model = Patient
    order: ClassVar = [("last_name", False), ("first_name", False), ("id", False)]

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        offset, stop = window.start or 0, window.stop
        sql, converters = _patients_sql(connection.schema_name, self.columns)
        with connection.prepared_statements(), connection.cursor() as cursor:
            cursor.execute(sql, [stop - offset, offset])
            return _rows(cursor.fetchall(), self.columns, converters)


@functools.lru_cache(maxsize=4096)
def _patients_sql(
    schema: str, columns: tuple[str, ...]
) -> tuple[str, list[tuple[int, Field, list]]]:
    p, w = Patient._meta, Workflow._meta
    qn = connection.ops.quote_name
    fields, selected = [], []
    for name in columns:
        if name.startswith("workflow__"):
            field = w.get_field(name.removeprefix("workflow__"))
            selected.append(f"w.{qn(field.column)}")
        else:
            field = p.get_field(name)
            selected.append(f"p.{qn(field.column)}")
        fields.append(field)
    sql = (
        f"SELECT {', '.join(selected)} FROM {qn(schema)}.{qn(p.db_table)} p"
        f" LEFT JOIN {qn(schema)}.{qn(w.db_table)} w"
        f" ON w.{qn(w.pk.column)} = p.{qn(p.get_field('workflow').column)}"
        f" ORDER BY p.{qn('last_name')}, p.{qn('first_name')}, p.{qn('id')}"
        " LIMIT %s OFFSET %s"
    )
    return sql, _converters(fields)


def _converters(fields: list[Field]) -> list[tuple[int, Field, list]]:
    return [
        (i, f, funcs)
        for i, f in enumerate(fields)
        if (funcs := f.get_db_converters(connection))
    ]


def _rows(
    rows: list[tuple], columns: tuple[str, ...], converters: list
) -> list[dict[str, Any]]:
    """Rows as `values()` gives them: each field's converters applied, keyed by name."""
    out = []
    for row in rows:
        values = list(row)
        for i, field, funcs in converters:
            for func in funcs:
                values[i] = func(values[i], field, connection)
        out.append(dict(zip(columns, values, strict=True)))
    return out
