"""`migrate_schemas` that leaves out the clinics with nothing to apply.

django-tenants runs Django's `migrate` in every clinic schema, and even with
nothing to apply each run loads the migration graph, renders the project state
and checks the models: about a second per clinic, minutes at 1,000 clinics.
One query over every clinic's `django_migrations` finds the schemas that lack
one of the migrations on disk; only those are handed to the standard or
multiprocessing executor (settings: GET_EXECUTOR_FUNCTION). After the template
has been migrated, its cached dump is refreshed (portal.schema_clone), so the
next clinic is cloned from the migrated template.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django_tenants.migration_executors import get_executor as tenants_get_executor
from django_tenants.migration_executors.base import MigrationExecutor
from django_tenants.utils import get_public_schema_name, get_tenant_base_schema

# Options under which a schema with every migration recorded may still have
# work to do (a named target may go backwards; --prune removes records).
_NO_SKIP_OPTIONS = ("app_label", "migration_name", "prune", "run_syncdb")


def get_executor(codename: str | None = None) -> type[MigrationExecutor]:
    """The executor named by --executor (or EXECUTOR), leaving out up-to-date ones."""
    return _skipping(tenants_get_executor(codename))


@functools.cache
def _skipping(base: type[MigrationExecutor]) -> type[MigrationExecutor]:
    class SkippingExecutor(base):
        """Hands `base` only the schemas that lack a migration."""

        def run_migrations(self, tenants: Iterable[str] | None = None) -> None:
            tenants = list(tenants or [])
            public = get_public_schema_name()
            clinics = [s for s in tenants if s != public]
            if clinics and not any(self.options.get(o) for o in _NO_SKIP_OPTIONS):
                todo = set(schemas_with_pending_migrations(clinics))
                if int(self.options.get("verbosity", 1)) >= 1:
                    sys.stdout.write(
                        f"[{self.codename}] {len(clinics) - len(todo)} of"
                        f" {len(clinics)} clinic schemas have nothing to apply;"
                        f" migrating {len(todo)}.\n"
                    )
                tenants = [s for s in tenants if s == public or s in todo]
            if tenants:
                with _recorder_looks_in_its_schema():
                    super().run_migrations(tenants=tenants)
            if _template_schema() in tenants and not self.options.get("plan"):
                _refresh_template_dump()

    SkippingExecutor.__name__ = SkippingExecutor.__qualname__ = (
        f"Skipping{base.__name__}"
    )
    return SkippingExecutor


def expected_migrations() -> set[tuple[str, str]]:
    """Every migration on disk, as a schema brought up to date records them.

    A squashed migration stands for the ones it replaces, so a schema that
    applied the originals but has no record of the squash is migrated (which
    records it) rather than skipped.
    """
    return set(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def schemas_with_pending_migrations(schemas: list[str]) -> list[str]:
    """The schemas (of `schemas`) that lack one of the migrations on disk.

    One query counts, in every schema's django_migrations at once, the expected
    migrations it has recorded. A schema without the table counts as pending.
    """
    expected = sorted(expected_migrations())
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname = 'django_migrations' AND c.relkind = 'r'"
            " AND n.nspname = ANY(%s)",
            [schemas],
        )
        with_table = sorted(row[0] for row in cursor.fetchall())
        complete: set[str] = set()
        if with_table and expected:
            counts = " UNION ALL ".join(
                "SELECT %s, count(DISTINCT (m.app, m.name)) FROM"
                f" {connection.ops.quote_name(schema)}.django_migrations m"
                " JOIN expected e ON e.app = m.app AND e.name = m.name"
                for schema in with_table
            )
            cursor.execute(
                "WITH expected(app, name) AS"
                " (SELECT * FROM unnest(%s::text[], %s::text[]))"
                f" {counts}",
                [[a for a, _ in expected], [n for _, n in expected], *with_table],
            )
            complete = {schema for schema, n in cursor.fetchall() if n == len(expected)}
    return [s for s in schemas if s not in complete]


@contextlib.contextmanager
def _recorder_looks_in_its_schema() -> Iterator[None]:
    """Django's MigrationRecorder.has_table, without listing every table there is.

    It asks the introspection for all table names, a scan of pg_class with a
    visibility check per row: every clinic's tables, two or three times per
    clinic migrated, so migrating 1,000 clinics would grow with the square of
    their number. Looking the table up in the clinic's own schema is one
    index probe. (Forked migration processes inherit the patch.)
    """

    def has_table(self: MigrationRecorder) -> bool:
        if not self._has_table:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = %s AND c.relname = %s"
                    " AND c.relkind IN ('r', 'p'))",
                    [self.connection.schema_name, self.Migration._meta.db_table],
                )
                self._has_table = cursor.fetchone()[0]
        return self._has_table

    original = MigrationRecorder.has_table
    MigrationRecorder.has_table = has_table
    try:
        yield
    finally:
        MigrationRecorder.has_table = original


def _template_schema() -> str | None:
    # django-tenants refuses to name the template when cloning is off.
    return (
        get_tenant_base_schema() if settings.TENANT_CREATION_FAKES_MIGRATIONS else None
    )


def _refresh_template_dump() -> None:
    from portal.schema_clone import CloneError, template_refresh

    connection.set_schema_to_public()
    try:
        template_refresh()
    except (CloneError, DatabaseError) as exc:
        # Provisioning dumps the template itself when it finds the cache stale.
        sys.stderr.write(f"The template's clone cache was not refreshed: {exc}\n")
