"""The clinic's audit trail: what auditlog follows, access entries, retention."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, NamedTuple

from auditlog.cid import get_cid
from auditlog.context import auditlog_value
from auditlog.registry import auditlog
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import Field
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils import timezone

from clinic.models import (
    Appointment,
    AppointmentType,
    AuditEntry,
    AvailabilityBlock,
    AvailabilityException,
    ClinicalNote,
    Document,
    Patient,
    Provider,
    Task,
    WaitlistEntry,
    Workflow,
)
from portal.audit_context import fill_from_context

auditlog.register(Patient)
auditlog.register(Workflow)
auditlog.register(Appointment)
auditlog.register(WaitlistEntry)
auditlog.register(Task)
# The extracted text is large and searchable on the row itself; not copied into diffs.
auditlog.register(Document, exclude_fields=["text"])
# Changes of notes are logged without their content (the audit page is no chart).
auditlog.register(ClinicalNote, include_fields=["status", "signed_at", "signed_by"])
for schedule_model in (
    Provider,
    AppointmentType,
    AvailabilityBlock,
    AvailabilityException,
):
    auditlog.register(schedule_model)

Action = AuditEntry.Action


@receiver(pre_save, sender=AuditEntry, dispatch_uid="clinic.audit.fill_from_context")
def _fill_from_context(sender: type, instance: AuditEntry, **kwargs: Any) -> None:
    """A change entry (auditlog saves it) takes the request's or task's actor."""
    fill_from_context(instance)


def _request_context() -> dict:
    """Actor, address and browser of the current request (set by AuditContextMiddleware)."""
    try:
        context = auditlog_value.get()
    except LookupError:
        return {}
    actor = context.get("actor")
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return {
        "actor": actor,
        "actor_email": getattr(actor, "email", None) if actor else None,
        "remote_addr": context.get("remote_addr"),
        "user_agent": context.get("user_agent") or "",
        "cid": get_cid(),
    }


_PATIENT_CT_IDS: dict[str, int] = {}


def _patient_ct_id() -> int:
    """The Patient content type's id in this clinic's schema, cached per schema.

    django-tenants clears ContentType's own cache whenever the clinic changes,
    which is every request.
    """
    schema = connection.schema_name
    if schema not in _PATIENT_CT_IDS:
        _PATIENT_CT_IDS[schema] = ContentType.objects.get_for_model(Patient).pk
    return _PATIENT_CT_IDS[schema]


def _write(entry: AuditEntry) -> AuditEntry:
    """Insert `entry` with one statement prepared on the connection.

    Every page and API read writes an access entry, so this is the busiest
    INSERT there is. `AuditEntry.objects.create` compiles it anew each time and
    prepares each of up to hundreds of patient ids one by one; here the SQL is
    built once per clinic and PostgreSQL plans it once per connection. Each
    value goes through its field's `get_db_prep_save`, as the ORM's would,
    but text and numbers, which need none. It sends no pre_save: the entry
    already holds what the receiver above would fill in (_request_context).
    """
    sql, columns = _insert_sql(connection.schema_name)
    params = [prep(getattr(entry, attname)) for attname, prep in columns]
    with connection.prepared_statements(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        entry.pk = cursor.fetchone()[0]
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


@functools.lru_cache(maxsize=4096)
def _insert_sql(schema: str) -> tuple[str, list[tuple[str, Callable[[Any], Any]]]]:
    """The INSERT in `schema` (a clinic's, from its row), and how to prepare each value."""
    meta = AuditEntry._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {qn(schema)}.{qn(meta.db_table)}"
        f" ({', '.join(qn(f.column) for f in fields)})"
        f" VALUES ({', '.join(_placeholder(f) for f in fields)})"
        f" RETURNING {qn(meta.pk.column)}"
    )
    return sql, [(f.attname, _preparer(f)) for f in fields]


def _placeholder(field: Field) -> str:
    # An array's element type follows its values (int2[] for small ids): cast it.
    return f"%s::{field.db_type(connection)}" if isinstance(field, ArrayField) else "%s"


def _preparer(field: Field) -> Callable[[Any], Any]:
    if isinstance(field, ArrayField) and field.base_field.get_internal_type() in (
        "BigIntegerField",
        "IntegerField",
    ):
        # patient_ids: an array literal of checked ints (cast by the placeholder);
        # psycopg would dump a list element by element in Python.
        return _int_array
    if field.get_internal_type() in _AS_THEY_ARE:
        return _as_it_is
    return functools.partial(_prep_save, field)


# Fields whose values the entry already holds as the database takes them (the
# address is one client_ip() read from the socket or checked; PostgreSQL parses it).
_AS_THEY_ARE = frozenset(
    {
        "GenericIPAddressField",
        "CharField",
        "TextField",
        "BigIntegerField",
        "PositiveSmallIntegerField",
        "PositiveIntegerField",
        "ForeignKey",
    }
)


def _as_it_is(value: Any) -> Any:
    return value


def _int_array(values: Sequence[int]) -> str:
    return "{" + ",".join(map(str, map(int, values))) + "}"


def _prep_save(field: Field, value: Any) -> Any:
    return field.get_db_prep_save(value, connection)


def audit_record_access(*, patient: Patient, via: str) -> AuditEntry:
    """One patient's record was read (detail page, API retrieve, edit form)."""
    return _write(
        AuditEntry(
            content_type_id=_patient_ct_id(),
            object_pk=str(patient.pk),
            object_id=patient.pk,
            object_repr=str(patient),
            action=Action.ACCESS,
            patient_ids=[patient.pk],
            additional_data={"via": via},
            **_request_context(),
        )
    )


class ShownPatient(NamedTuple):
    """A patient a page showed, as the access entry reads it (only its id).

    Pages that read rows rather than model instances name their patients with this.
    """

    pk: int


def audit_record_search(
    *,
    patients: Sequence[Patient | ShownPatient],
    query: str,
    via: str,
    filters: dict,
    what: str = "Patient list",
) -> AuditEntry:
    """A list or search showed these patients: one compact entry for the whole page.

    `what` names the page in the entry ("Schedule", "Today"); the patients are
    the distinct ones it showed.
    """
    return _write(
        AuditEntry(
            content_type_id=_patient_ct_id(),
            object_pk="",
            object_id=None,
            object_repr=f"{what} ({len(patients)} shown)",
            action=Action.ACCESS,
            query=(query or "")[:300],
            patient_ids=[p.pk for p in patients],
            additional_data={
                "via": via,
                "filters": {k: v for k, v in filters.items() if v},
            },
            **_request_context(),
        )
    )


def audit_record_bulk_create(*, patients: Sequence[Patient]) -> None:
    """bulk_create skips model signals, so creations are logged here, in bulk."""
    context = _request_context()
    content_type_id = _patient_ct_id()
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                content_type_id=content_type_id,
                object_pk=str(p.pk),
                object_id=p.pk,
                object_repr=str(p),
                action=Action.CREATE,
                patient_ids=[p.pk],
                changes={"source": ["", "bulk import"]},
                **context,
            )
            for p in patients
        ],
        batch_size=1000,
    )


def audit_prune(*, older_than_days: int | None = None) -> int:
    """Delete entries past the retention period in the current clinic; return how many."""
    days = (
        older_than_days
        if older_than_days is not None
        else settings.AUDIT_RETENTION_DAYS
    )
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = AuditEntry.objects.filter(timestamp__lt=cutoff).delete()
    return deleted
