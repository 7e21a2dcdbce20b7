"""Reads on the partner API's hot paths, as SQL built once per process.

Every API read of one patient asks for the same row; compiling the ORM query
costs more than running it. The instances are the ones the ORM would give
(`Patient.objects.select_related("workflow")`), built through each field's
converters. Unqualified table names: they run in the clinic's schema, as the
ORM's queries do.
"""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models import Field, Model

from clinic.models import Patient, Workflow
from portal.limits import MAX_ID


def patient_with_workflow(pk: int) -> Patient | None:
    """The patient `pk` with their workflow loaded, or None (also for an id past
    bigint, which the ORM answers as missing too)."""
    if not -MAX_ID <= pk <= MAX_ID:
        return None
    sql, patient_fields, workflow_fields = _patient_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(patient_fields)
    patient = _from_row(Patient, patient_fields, row[:split])
    workflow = None
    if row[split] is not None:  # the workflow's id: NULL when the patient has none
        workflow = _from_row(Workflow, workflow_fields, row[split:])
    Patient.workflow.field.set_cached_value(patient, workflow)
    return patient


@functools.cache
def _patient_sql() -> tuple[str, tuple[Field, ...], tuple[Field, ...]]:
    p, w = Patient._meta, Workflow._meta
    workflow_fields = (w.pk, *(f for f in w.concrete_fields if f is not w.pk))
    columns = [f'p."{f.column}"' for f in p.concrete_fields]
    columns += [f'w."{f.column}"' for f in workflow_fields]
    sql = (
        f'SELECT {", ".join(columns)} FROM "{p.db_table}" p'
        f' LEFT JOIN "{w.db_table}" w'
        f' ON w."{w.pk.column}" = p."{p.get_field("workflow").column}"'
        f' WHERE p."{p.pk.column}" = %s'
    )
    return sql, tuple(p.concrete_fields), workflow_fields


def _from_row(model: type[Model], fields: tuple[Field, ...], values: tuple) -> Model:
    """A model instance from its columns, through each field's converters."""
    converted = []
    for field, value in zip(fields, values, strict=True):
        for converter in field.get_db_converters(connection):
            value = converter(value, field, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)
