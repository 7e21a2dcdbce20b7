"""Cloning the template clinic's schema from a cached dump of it.

django-tenants clones the template with a plpgsql function that walks
`information_schema`, whose cost grows with every table of every clinic
(about 14 s per clinic at 50 clinics), and then fakes every migration with
`migrate_schemas`. Here the template's DDL and data are dumped once with
`pg_dump`, split into statements and COPY blocks with the schema name left as a
placeholder, and kept in the public schema (`portal.TemplateDump`), keyed by a
fingerprint of the template's applied migrations and content types. A clinic is
then a `CREATE SCHEMA` plus that script, run in the caller's transaction: its
cost does not depend on how many clinics exist, and the copied
`django_migrations` rows are exactly the template's (no fake-migrate run). A
template migrated later has another fingerprint, so the next clinic is cloned
from a fresh dump of it.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import get_tenant_base_schema, schema_exists

# Stands for the clinic's schema in a cached script; only identifier characters,
# so replacing it cannot touch anything else.
PLACEHOLDER = "__clinic_schema__"
SQL, COPY = "sql", "copy"
Step = list[str]  # [SQL, statements] or [COPY, "COPY ... FROM stdin", rows]

_ENTRY = re.compile(
    r"^--\n-- (?:Data for )?Name: [^\n]*?; Type: (?P<type>[^;\n]*); Schema: [^;\n]*;"
    r" Owner: [^\n]*\n--\n",
    re.MULTILINE,
)
# Session settings pg_dump writes between entries; the clone must not change the
# session's state (portal.db_backend remembers its search_path).
_SESSION_LINE = re.compile(
    r"^(?:SET default_tablespace = .*;|SET default_table_access_method = .*;|"
    r"\\(?:un)?restrict .*)$\n?",
    re.MULTILINE,
)
_COPY = re.compile(
    rf"^COPY {PLACEHOLDER}\.(?P<table>\w+) \((?P<columns>[^)]*)\) FROM stdin$"
)
_COPY_ESCAPE = re.compile(r"\\(.)")
_COPY_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", "v": "\v"}


class CloneError(RuntimeError):
    """The template could not be dumped (pg_dump missing, refused or failed)."""


class StaleTemplate(CloneError):
    """The template this transaction sees is not the one pg_dump could see."""


def should_clone(schema_name: str) -> bool:
    """Whether a new schema is cloned from the cached dump of the template."""
    return _cloning_from_dump() and schema_name != get_tenant_base_schema()


def _cloning_from_dump() -> bool:
    return (
        settings.TENANT_CREATION_FAKES_MIGRATIONS
        and settings.CLINIC_CLONE_METHOD == "dump"
        and schema_exists(get_tenant_base_schema())
    )


def clone_template(schema_name: str) -> None:
    """Create `schema_name` as a copy of the template: tables, data, migrations.

    Runs inside the caller's transaction (in a savepoint of its own), so a
    failure anywhere in the caller's work leaves no schema behind.
    """
    template = get_tenant_base_schema()
    steps = template_steps(template)
    quoted = connection.ops.quote_name(schema_name)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quoted}")
        # SQL functions are checked when created; the tables they read may come later.
        cursor.execute(
            "SELECT current_setting('check_function_bodies'),"
            " set_config('check_function_bodies', 'off', true)"
        )
        check_bodies = cursor.fetchone()[0]
        for step in steps:
            if step[0] == SQL:
                cursor.execute(step[1].replace(PLACEHOLDER, quoted))
            else:
                with cursor.cursor.copy(step[1].replace(PLACEHOLDER, quoted)) as copy:
                    copy.write(step[2])
        cursor.execute(
            "SELECT set_config('check_function_bodies', %s, true)", [check_bodies]
        )


def template_steps(template: str) -> list[Step]:
    """The cached script of the template as this transaction sees it.

    A dump is stored under the fingerprint of what it contains. When that is
    not what this transaction sees (the template is being migrated right now,
    uncommitted), StaleTemplate is raised and the caller clones another way.
    """
    from portal.models import TemplateDump

    fingerprint = template_fingerprint(template)
    steps = (
        TemplateDump.objects.filter(template=template, fingerprint=fingerprint)
        .values_list("steps", flat=True)
        .first()
    )
    if steps is not None:
        return steps
    steps = dump_template(template)
    dumped = steps_fingerprint(steps)
    # Two clinics provisioned at once may both dump; the second insert waits
    # for the first and then does nothing.
    TemplateDump.objects.bulk_create(
        [TemplateDump(template=template, fingerprint=dumped, steps=steps)],
        ignore_conflicts=True,
    )
    TemplateDump.objects.filter(template=template).exclude(fingerprint=dumped).delete()
    if dumped != fingerprint:
        raise StaleTemplate(f"{template} changed while it was dumped")
    return steps


def template_refresh(template: str | None = None) -> bool:
    """Dump the template now if its cached script is stale (after migrating it).

    Returns whether it was dumped.
    """
    from portal.models import TemplateDump

    template = template or get_tenant_base_schema()
    if not _cloning_from_dump():
        return False
    with transaction.atomic():
        current = TemplateDump.objects.filter(
            template=template, fingerprint=template_fingerprint(template)
        )
        if current.exists():
            return False
        try:
            template_steps(template)
        except StaleTemplate:
            pass  # stored under what pg_dump saw; the next provisioning checks again
    return True


def template_fingerprint(template: str) -> str:
    """A digest of the template's applied migrations and content types.

    Content types are created after the migrations of the same run, so both
    count: a dump taken between the two is not reused afterwards.
    """
    q = connection.ops.quote_name(template)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {q}.django_migrations")
        migrations = cursor.fetchall()
        cursor.execute(f"SELECT app_label, model FROM {q}.django_content_type")
        content_types = cursor.fetchall()
    return _digest(migrations, content_types)


def steps_fingerprint(steps: list[Step]) -> str:
    """The fingerprint of the template a dump was taken from, read from its data."""
    tables: dict[str, list[dict[str, str]]] = {}
    for step in steps:
        match = _COPY.match(step[1]) if step[0] == COPY else None
        if match:
            columns = [c.strip().strip('"') for c in match.group("columns").split(",")]
            tables[match.group("table")] = [
                dict(zip(columns, map(_copy_value, line.split("\t")), strict=True))
                for line in step[2].splitlines()
            ]
    migrations = [(r["app"], r["name"]) for r in tables.get("django_migrations", [])]
    content_types = [
        (r["app_label"], r["model"]) for r in tables.get("django_content_type", [])
    ]
    return _digest(migrations, content_types)


def _digest(
    migrations: list[tuple[str, str]], content_types: list[tuple[str, str]]
) -> str:
    digest = hashlib.sha256(f"postgresql {connection.pg_version}\n".encode())
    for app, name in sorted(migrations):
        digest.update(f"migration {app}.{name}\n".encode())
    for app_label, model in sorted(content_types):
        digest.update(f"content type {app_label}.{model}\n".encode())
    return digest.hexdigest()


def _copy_value(field: str) -> str:
    """A value of COPY's text format, unescaped."""
    return _COPY_ESCAPE.sub(lambda m: _COPY_ESCAPES.get(m.group(1), m.group(1)), field)


def dump_template(template: str) -> list[Step]:
    """The template's DDL and data as steps, its schema name replaced by PLACEHOLDER."""
    db = connection.settings_dict
    env = {**os.environ, "PGDATABASE": db["NAME"], "PGCONNECT_TIMEOUT": "10"}
    for key, var in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
    ):
        if db.get(key):
            env[var] = str(db[key])
    if db.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = db["OPTIONS"]["sslmode"]
    command = [
        settings.PG_DUMP,
        f"--schema={template}",
        "--no-owner",
        "--no-privileges",
        "--no-security-labels",
        "--no-tablespaces",
        "--no-publications",
        "--no-subscriptions",
        "--lock-wait-timeout=30s",
    ]
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=600
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CloneError(f"pg_dump of {template} failed: {exc}") from exc
    if done.returncode != 0:
        raise CloneError(f"pg_dump of {template} failed: {done.stderr.strip()[:2000]}")
    return split_dump(done.stdout, template)


def split_dump(text: str, template: str) -> list[Step]:
    """Turn a plain pg_dump of one schema into steps that rebuild it under PLACEHOLDER.

    pg_dump writes one entry per object, each under a `-- Name: ...; Type: ...`
    header, in restore order: tables, data, then indexes, constraints and
    triggers. Data is kept as COPY rows, whose lines are exact (newlines inside
    values are escaped), so only the COPY line itself is rewritten.
    """
    ident = re.compile(
        rf'(?<![\w$"])(?:"{re.escape(template)}"|{re.escape(template)})(?![\w$"])'
    )
    headers = list(_ENTRY.finditer(text))
    if not headers:
        raise CloneError(f"pg_dump of {template} has no entries")
    steps: list[Step] = []
    pending: list[str] = []
    for header, following in zip(headers, [*headers[1:], None], strict=True):
        kind = header.group("type")
        body = text[header.end() : following.start() if following else len(text)]
        if kind == "TABLE DATA":
            statement, _, rest = body.lstrip("\n").partition("\n")
            # Rows end at a line that is just "\."; backslashes in values are doubled.
            if rest.startswith("\\.\n"):
                rows, end = "", "\\."
            else:
                rows, end, _ = rest.partition("\n\\.\n")
                rows += "\n"
            if not statement.startswith("COPY ") or not end:
                raise CloneError(
                    f"unexpected data entry in the dump of {template}: {statement}"
                )
            if rows:
                if pending:
                    steps.append([SQL, "\n".join(pending)])
                    pending = []
                steps.append(
                    [COPY, ident.sub(PLACEHOLDER, statement.rstrip(";")), rows]
                )
            continue
        body = _SESSION_LINE.sub("", body).strip()
        if kind != "SCHEMA" and body:  # clone_template creates the schema itself
            pending.append(ident.sub(PLACEHOLDER, body))
    if pending:
        steps.append([SQL, "\n".join(pending)])
    return steps
