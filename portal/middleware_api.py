"""A partner API request's clinic row and its token's membership, in one query.

Every request reads its clinic by host (portal.middleware.ClinicTenantMiddleware);
every API request then reads the membership of its token's user there
(portal.api.authentication). For a request carrying a bearer token, the
clinic's query also reads that membership (and its user), keyed by the
token's `user_id` claim, unverified: one round trip instead of two.

Nothing is trusted from the token here. The authentication class verifies the
token as before (signature, expiry, type, clinic claim) and only then takes
the membership read here, and only if it was read for the very `user_id` the
verified token holds; otherwise it reads the membership itself.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from contextvars import ContextVar
from typing import Any

from django.db import connection
from django.http import HttpRequest
from rest_framework_simplejwt.settings import api_settings

from portal.limits import MAX_ID
from portal.models import Clinic, Domain, Membership, User
from portal.rows import RowLoader

# The attribute of the request's Clinic instance holding (user_id, membership|None).
PREFETCHED = "api_membership_prefetched"
# The bearer token's user id while the clinic is being looked up (this request only).
bearer_user: ContextVar[int | None] = ContextVar("bearer_user", default=None)

_MAX_TOKEN = 4096  # longer is no token of ours; the authentication class refuses it


def bearer_user_id(request: HttpRequest) -> int | None:
    """The `user_id` claim of an API request's bearer token, unverified; else None."""
    if not request.path.startswith("/api/"):
        return None
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0] not in api_settings.AUTH_HEADER_TYPES:
        return None
    token = parts[1]
    segments = token.split(".")
    if len(token) > _MAX_TOKEN or len(segments) != 3:
        return None
    payload = segments[1]
    try:
        claims = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
    except (ValueError, binascii.Error, RecursionError):
        return None
    claim = claims.get(api_settings.USER_ID_CLAIM) if isinstance(claims, dict) else None
    return _as_id(claim)


def _as_id(claim: object) -> int | None:
    """A user id claim as simplejwt writes it (`"42"`), or as an int; else None."""
    if type(claim) is str and claim.isascii() and claim.isdigit() and len(claim) <= 19:
        claim = int(claim) if claim == str(int(claim)) else None
    if type(claim) is not int or not 0 < claim <= MAX_ID:
        return None
    return claim


def clinic_and_membership(hostname: str, user_id: int) -> Clinic | None:
    """The clinic `hostname` routes to, with the active membership of the active
    user `user_id` there (or None) attached as `PREFETCHED`; None if no clinic.

    The same rows portal.selectors.clinic_for_host and membership_with_user
    read, in one query that names its schema (no `SET search_path`), prepared
    on the connection (portal.db_backend).
    """
    sql, clinic_row, membership_row, user_row = _sql()
    with (
        connection.schema_qualified_queries(),
        connection.prepared_statements(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [user_id, hostname])
        row = cursor.fetchone()
    if row is None:
        return None
    a, b = len(clinic_row), len(clinic_row) + len(membership_row)
    clinic = clinic_row(row[:a])
    membership = None
    if row[a] is not None:  # the membership's id: NULL when the LEFT JOIN found none
        membership = membership_row(row[a:b])
        Membership.user.field.set_cached_value(membership, user_row(row[b:]))
    setattr(clinic, PREFETCHED, (user_id, membership))
    return clinic


def prefetched_membership(
    clinic: Any, user_id: object
) -> tuple[bool, Membership | None]:
    """(True, the membership read with the clinic) if it was read for `user_id`."""
    found = getattr(clinic, PREFETCHED, None)
    if found is None or _as_id(user_id) != found[0]:
        return False, None
    return True, found[1]


@functools.cache
def _sql() -> tuple[str, RowLoader, RowLoader, RowLoader]:
    c, d, m, u = Clinic._meta, Domain._meta, Membership._meta, User._meta
    columns = [f'c."{f.column}"' for f in c.concrete_fields]
    # The membership's id first: it tells a found membership from the LEFT JOIN's NULLs.
    m_fields = (m.pk, *(f for f in m.concrete_fields if f is not m.pk))
    columns += [f'm."{f.column}"' for f in m_fields]
    columns += [f'u."{f.column}"' for f in u.concrete_fields]
    m_user, m_clinic = m.get_field("user").column, m.get_field("clinic").column
    sql = (
        f'SELECT {", ".join(columns)} FROM "public"."{d.db_table}" d'
        f' JOIN "public"."{c.db_table}" c'
        f' ON c."{c.pk.column}" = d."{d.get_field("tenant").column}"'
        f' LEFT JOIN ("public"."{m.db_table}" m JOIN "public"."{u.db_table}" u'
        f' ON u."{u.pk.column}" = m."{m_user}" AND u."is_active")'
        f' ON m."{m_clinic}" = c."{c.pk.column}" AND m."{m_user}" = %s'
        ' AND m."is_active"'
        f' WHERE d."{d.get_field("domain").column}" = %s LIMIT 1'
    )
    return (
        sql,
        RowLoader(Clinic, c.concrete_fields),
        RowLoader(Membership, m_fields),
        RowLoader(User, u.concrete_fields),
    )
