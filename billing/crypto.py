"""Member ids encrypted at rest, under keys of their own, and the key canary.

django-fernet-encrypted-fields does the field work (encrypt on save, Fernet
tokens in a text column). Two things are changed, on purpose:

- The keys come from `BILLING_ENCRYPTION_KEYS`, not from SECRET_KEY (the
  package derives its keys from SECRET_KEY and SALT_KEY): rotating the web
  secret must never make insurance data unreadable, and leaking one must not
  leak the other. The first key encrypts; all of them decrypt (MultiFernet).
- Reading a row the keys cannot decrypt raises instead of handing the
  ciphertext back as if it were the member id (the package's silent default).

Every clinic schema holds a canary: a known text encrypted when the schema
was migrated. `canary_report()` reads all of them in one query and tells which
ones the configured keys cannot read; `BillingConfig.ready()` refuses to start
any process (web server, worker, management command) when that happens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from encrypted_fields.fields import EncryptedCharField

logger = logging.getLogger(__name__)

CANARY_TEXT = "billing-key-canary:v1"
CANARY_TABLE = "billing_keycanary"


class EncryptionKeyError(ImproperlyConfigured):
    """A value (or the canary) cannot be decrypted with the configured keys."""


_FERNETS: dict[tuple[str, ...], MultiFernet] = {}


def configured_keys() -> tuple[str, ...]:
    keys = tuple(k.strip() for k in settings.BILLING_ENCRYPTION_KEYS if k.strip())
    if not keys:
        raise ImproperlyConfigured("BILLING_ENCRYPTION_KEYS holds no key.")
    return keys


def fernet(keys: tuple[str, ...] | None = None) -> MultiFernet:
    """The MultiFernet of the configured keys (built once per key list)."""
    keys = keys or configured_keys()
    if keys not in _FERNETS:
        try:
            _FERNETS[keys] = MultiFernet([Fernet(k.encode()) for k in keys])
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                "BILLING_ENCRYPTION_KEYS must be Fernet keys (url-safe base64 of 32 bytes)."
            ) from exc
    return _FERNETS[keys]


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise EncryptionKeyError(
            "A billing value cannot be decrypted with BILLING_ENCRYPTION_KEYS."
        ) from exc


class MemberIdField(EncryptedCharField):
    """An encrypted CharField keyed by BILLING_ENCRYPTION_KEYS that never leaks ciphertext."""

    @property
    def f(self) -> MultiFernet:  # the package encrypts with self.f
        return fernet()

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return decrypt(value)


def mask_member_id(value: str | None) -> str:
    """What lists and the audit trail show of a member id: its last four characters."""
    text = str(value or "")
    if text in ("", "None"):
        return ""
    tail = text[-4:] if len(text) > 4 else text[-1:]
    return "•" * max(len(text) - len(tail), 3) + tail


# --- The canary -------------------------------------------------------------------------


@dataclass
class CanaryReport:
    """Which clinic schemas the configured keys can read, and how."""

    checked: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # wrong key: refuse to run
    stale: list[str] = field(default_factory=list)  # read with an older key: re-encrypt
    missing: list[str] = field(default_factory=list)  # migrated table without its row

    @property
    def ok(self) -> bool:
        return not self.unreadable


def canary_token() -> str:
    return encrypt(CANARY_TEXT)


def canary_state(token: str, keys: tuple[str, ...] | None = None) -> str:
    """'current' (first key), 'stale' (an older key) or 'unreadable'."""
    keys = keys or configured_keys()
    for index, key in enumerate(keys):
        try:
            text = Fernet(key.encode()).decrypt(token.encode()).decode()
        except (InvalidToken, ValueError):
            continue
        if text == CANARY_TEXT:
            return "current" if index == 0 else "stale"
    return "unreadable"


def canary_rows(cursor: Any) -> list[tuple[str, str | None]]:
    """(schema, token) of every schema holding the canary table, in one query.

    `cursor` is a DB-API cursor on the portal's database (psycopg or Django's).
    """
    cursor.execute(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = %s"
        " ORDER BY table_schema",
        [CANARY_TABLE],
    )
    schemas = [row[0] for row in cursor.fetchall()]
    if not schemas:
        return []
    parts = []
    for schema in schemas:
        quoted = '"' + schema.replace('"', '""') + '"'
        literal = "'" + schema.replace("'", "''") + "'"
        parts.append(
            f"SELECT {literal} AS s, (SELECT token FROM {quoted}.{CANARY_TABLE}"
            " ORDER BY id LIMIT 1) AS t"
        )
    cursor.execute(" UNION ALL ".join(parts))
    return [(row[0], row[1]) for row in cursor.fetchall()]


def canary_report(cursor: Any, keys: tuple[str, ...] | None = None) -> CanaryReport:
    report = CanaryReport()
    for schema, token in canary_rows(cursor):
        report.checked.append(schema)
        if token is None:
            report.missing.append(schema)
            continue
        state = canary_state(token, keys)
        if state == "unreadable":
            report.unreadable.append(schema)
        elif state == "stale":
            report.stale.append(schema)
    return report


def refusal_message(report: CanaryReport) -> str:
    shown = ", ".join(report.unreadable[:5]) + (
        " ..." if len(report.unreadable) > 5 else ""
    )
    return (
        "BILLING_ENCRYPTION_KEYS cannot decrypt the billing key canary of "
        f"{len(report.unreadable)} clinic schema(s) ({shown}). Member ids encrypted "
        "there would read as garbage, so the portal refuses to start. Set the key the "
        "data was encrypted with (keep it in the list while rotating; see README, "
        "'Rotating the billing key')."
    )


def startup_check() -> CanaryReport | None:
    """Read every canary over a short connection of its own; raise on a wrong key.

    A plain psycopg connection, closed right away, rather than Django's: app
    start-up must not leave a connection behind for forked workers to share
    (and Django warns about queries while apps load). A database that does not
    answer is left to whatever needs it next; there is nothing to misread yet.
    """
    import psycopg

    db = settings.DATABASES["default"]
    params = {
        "dbname": db.get("NAME"),
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "connect_timeout": 5,
    }
    try:
        connection = psycopg.connect(**{k: v for k, v in params.items() if v})
    except psycopg.Error as exc:
        logger.warning(
            "Billing key canary not checked: database unavailable (%s).", exc
        )
        return None
    try:
        with connection.cursor() as cursor:
            report = canary_report(cursor)
    finally:
        connection.close()
    if not report.ok:
        raise EncryptionKeyError(refusal_message(report))
    if report.stale:
        logger.warning(
            "Billing data of %d clinic schema(s) is still encrypted with an older key;"
            " run `manage.py billing_reencrypt`.",
            len(report.stale),
        )
    return report


def rotate_schema() -> int:
    """Re-encrypt this schema's member ids and canary with the first key.

    Each token is decrypted with any configured key and encrypted again with
    the first (MultiFernet.rotate), in one transaction per schema with the rows
    locked. Raw SQL on purpose: the model field would decrypt and re-encrypt,
    and must never be handed a token as if it were a member id. Answers how
    many values were rewritten; a token no configured key reads stops it all.
    """
    from django.db import connection, transaction

    multi = fernet()
    count = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for table, column in ((CANARY_TABLE, "token"), ("billing_policy", "member_id")):
            cursor.execute(
                f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL"
                f" AND {column} <> '' FOR UPDATE"
            )
            rows = [(_rotated(multi, token), pk) for pk, token in cursor.fetchall()]
            cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE id = %s", rows)
            count += len(rows)
        cursor.execute(f"SELECT count(*) FROM {CANARY_TABLE}")
        if cursor.fetchone()[0] == 0:
            cursor.execute(
                f"INSERT INTO {CANARY_TABLE} (token, created_at) VALUES (%s, now())",
                [canary_token()],
            )
            count += 1
    return count


def _rotated(multi: MultiFernet, token: str) -> str:
    try:
        return multi.rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise EncryptionKeyError(
            "A stored value cannot be decrypted with any of BILLING_ENCRYPTION_KEYS;"
            " nothing was re-encrypted."
        ) from exc
