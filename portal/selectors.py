"""Reads of the public schema: memberships, clinics, security events."""

from __future__ import annotations

import functools
from datetime import timedelta

from django.db import connection
from django.db.models import Field, Model, QuerySet
from django.utils import timezone

from portal.models import Clinic, Domain, Membership, Role, SecurityEvent, User


def membership_for(*, user: User, clinic: Clinic) -> Membership | None:
    """The active membership of `user` in `clinic`, or None."""
    if not getattr(user, "is_authenticated", False) or clinic is None:
        return None
    found = membership_with_user(user_id=user.pk, clinic=clinic)
    if found is not None:
        # The request's own user object, so a change to one is seen by both.
        Membership.user.field.set_cached_value(found, user)
    return found


def membership_with_user(*, user_id: int, clinic: Clinic) -> Membership | None:
    """The active membership of an active user, with the user loaded (API auth).

    Every API request asks this, so it is one query whose SQL is built once per
    process rather than compiled by the ORM each time; the instances are the
    ones `select_related("user")` would give.
    """
    sql, membership_fields, user_fields = _membership_with_user_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, clinic.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(membership_fields)
    membership = _from_row(Membership, membership_fields, row[:split])
    user = _from_row(User, user_fields, row[split:])
    Membership.user.field.set_cached_value(membership, user)
    return membership


@functools.cache
def _membership_with_user_sql() -> tuple[str, tuple[Field, ...], tuple[Field, ...]]:
    m, u = Membership._meta, User._meta
    columns = [f'm."{f.column}"' for f in m.concrete_fields]
    columns += [f'u."{f.column}"' for f in u.concrete_fields]
    sql = (
        f'SELECT {", ".join(columns)} FROM "{m.db_table}" m'
        f' JOIN "{u.db_table}" u ON u."{u.pk.column}" = m."{m.get_field("user").column}"'
        f' WHERE m."{m.get_field("user").column}" = %s'
        f' AND m."{m.get_field("clinic").column}" = %s'
        ' AND m."is_active" AND u."is_active" LIMIT 1'
    )
    return sql, tuple(m.concrete_fields), tuple(u.concrete_fields)


def _from_row(model: type[Model], fields: tuple[Field, ...], values: tuple) -> Model:
    """A model instance from its columns, through each field's converters."""
    converted = []
    for field, value in zip(fields, values, strict=True):
        for converter in field.get_db_converters(connection):
            value = converter(value, field, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def clinic_for_host(hostname: str) -> Clinic | None:
    """The clinic a host name routes to (template clinics included), read afresh.

    Every request asks this before its clinic is known, so the query names its
    schema (public) and runs on the connection's current search_path: no
    `SET search_path` to public and back to the clinic on each request.
    """
    sql, fields = _clinic_for_host_sql()
    with connection.schema_qualified_queries(), connection.cursor() as cursor:
        cursor.execute(sql, [hostname])
        row = cursor.fetchone()
    return None if row is None else _from_row(Clinic, fields, row)


@functools.cache
def _clinic_for_host_sql() -> tuple[str, tuple[Field, ...]]:
    c, d = Clinic._meta, Domain._meta
    columns = ", ".join(f'c."{f.column}"' for f in c.concrete_fields)
    sql = (
        f'SELECT {columns} FROM "public"."{d.db_table}" d'
        f' JOIN "public"."{c.db_table}" c ON c."{c.pk.column}" = d."{d.get_field("tenant").column}"'
        f' WHERE d."{d.get_field("domain").column}" = %s'
    )
    return sql, tuple(c.concrete_fields)


def is_clinic_admin(*, user: User, clinic: Clinic) -> bool:
    membership = membership_for(user=user, clinic=clinic)
    return membership is not None and membership.role == Role.ADMIN


def password_expired(*, user: User, clinic: Clinic | None) -> bool:
    """Whether the clinic's password age rule asks this user for a new password."""
    if clinic is None or not clinic.password_expiry_days:
        return False
    return user.password_changed_at < timezone.now() - timedelta(
        days=clinic.password_expiry_days
    )


def security_events_for_clinic(*, clinic: Clinic) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(clinic=clinic).select_related("user")


def routable_clinics() -> QuerySet[Clinic]:
    """The clinics that serve requests and get periodic work (not deactivated ones)."""
    return Clinic.objects.exclude(schema_name="public").filter(
        is_template=False, is_active=True
    )
