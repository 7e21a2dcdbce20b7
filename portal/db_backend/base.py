"""django-tenants' PostgreSQL backend, setting the search_path once per connection
and clinic rather than once per request, and checking the health of connections
that were idle rather than of every one.

django-tenants forgets the search_path whenever the request's clinic is set,
which is every request, so a persistent connection pays a `SET search_path`
round trip per request even when it still points at the same clinic. This
backend remembers what the open connection's session really holds and skips
the SET only when that is exactly the path the current clinic needs. It
forgets (and so sets it again) whenever the session's value may have changed
without it: a new connection, a closed one, a rollback, a savepoint rollback
(a SET is transactional in PostgreSQL), or a failed SET.

With CONN_HEALTH_CHECKS, Django sends a `SELECT 1` before the first query of
every request. A connection that ran a query less than HEALTH_CHECK_AFTER_IDLE
seconds ago is taken as alive; one idle for longer (a restart, a dropped
socket) is checked as before. Should a hot connection break all the same, its
request fails and Django closes the connection when the request ends.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import tzinfo

import psycopg
from django.db.backends.postgresql.operations import (
    DatabaseOperations as PostgresOperations,
)
from django_tenants.postgresql_backend.base import (
    DatabaseWrapper as TenantDatabaseWrapper,
)
from psycopg.adapt import AdaptersMap, Loader
from psycopg.pq import Format

HEALTH_CHECK_AFTER_IDLE = 5.0
NEVER_BY_COUNT = 2**62
TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid


class TzLoader(Loader):
    """Django's timestamptz loader (the value read in the session's time zone,
    then given the connection's `timezone`), parsing with psycopg's default
    loader: its C one when psycopg's C extension is installed. Django's own
    subclasses the pure-Python loader, and a page of 50 appointments has 200
    timestamps."""

    timezone: tzinfo | None = None

    def __init__(self, oid: int, context=None) -> None:
        super().__init__(oid, context)
        self._parse = psycopg.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)(
            oid, context
        )

    def load(self, data):
        value = self._parse.load(data)
        # psycopg gives the session's zone; with UTC, the very object Django uses.
        if value.tzinfo is self.timezone:
            return value
        return value.replace(tzinfo=self.timezone)


@functools.cache
def _tz_loader(tz: tzinfo | None) -> type[TzLoader]:
    return type("SpecificTzLoader", (TzLoader,), {"timezone": tz})


@functools.cache
def _adapters(template: AdaptersMap, tz: tzinfo | None) -> AdaptersMap:
    """Django's adapters with the timestamptz loader above (cached, as Django's)."""
    adapters = AdaptersMap(template)
    adapters.register_loader("timestamptz", _tz_loader(tz))
    return adapters


class PreparedCursor(psycopg.Cursor):
    """Binds parameters server-side and prepares each statement that has some.

    psycopg keeps the prepared statements per connection, keyed by the SQL text
    (the last `prepared_max` of them): the second run of a statement is neither
    parsed nor planned again. Only for the statements that ask for it (see
    `DatabaseWrapper.prepared_statements`); Django's own stay client-bound.
    """

    def execute(self, query, params=None, *, prepare=None, binary=None):
        if prepare is None and params:
            prepare = True
        return super().execute(query, params, prepare=prepare, binary=binary)

    def close(self) -> None:
        """Kept open for the next hot statement on its connection: one cursor per
        connection, not one per statement (each new cursor copies the
        connection's adapters). Closed with its connection (`discard`)."""

    def discard(self) -> None:
        super().close()


class DatabaseOperations(PostgresOperations):
    def last_executed_query(self, cursor, sql, params):
        # psycopg keeps no text of a prepared statement's run: log it composed
        # client-side, as Django does for server-bound cursors.
        if isinstance(cursor, PreparedCursor):
            try:
                return self.compose_sql(sql, params)
            except psycopg.errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(TenantDatabaseWrapper):
    ops_class = DatabaseOperations

    def __init__(self, *args, **kwargs) -> None:
        # The search_path the open connection's session holds, as set by us; None
        # when unknown.
        self.session_search_path: tuple[str, ...] | None = None
        self.last_used = float("-inf")
        self.schema_qualified = False
        self.prepared = False
        self.prepared_cursor: PreparedCursor | None = None
        super().__init__(*args, **kwargs)

    @contextmanager
    def prepared_statements(self) -> Iterator[None]:
        """Cursors opened in this block prepare their statements (PreparedCursor).

        For hot statements whose SQL text is built once per process and names
        the schema of every table it reads: a plan is never reused across
        clinics whose tables might differ while they are being migrated.
        """
        self.prepared = True
        try:
            yield
        finally:
            self.prepared = False

    def get_connection_params(self):
        params = super().get_connection_params()
        # Django's template has its timestamptz loader on this timezone (None
        # without USE_TZ); create_cursor compares it with the loader's.
        params["context"] = _adapters(params["context"], self.timezone)
        return params

    def create_cursor(self, name=None):
        if self.prepared and name is None:
            cursor = self.prepared_cursor
            if cursor is None or cursor.connection is not self.connection:
                cursor = self.prepared_cursor = PreparedCursor(self.connection)
            return cursor
        return super().create_cursor(name)

    @contextmanager
    def schema_qualified_queries(self) -> Iterator[None]:
        """Queries in this block name the schema of every table they read.

        They run on whatever search_path the session holds, so no SET is sent
        for them (the clinic lookup of every request reads public.* this way).
        """
        self.schema_qualified = True
        try:
            yield
        finally:
            self.schema_qualified = False

    def close_if_health_check_failed(self) -> None:
        if self.connection is not None and self.health_check_enabled:
            if time.monotonic() - self.last_used < HEALTH_CHECK_AFTER_IDLE:
                self.health_check_done = True
        super().close_if_health_check_failed()

    def _cursor(self, name=None):
        cursor = super()._cursor(name)
        self.last_used = time.monotonic()
        return cursor

    def _handle_search_path(self, cursor=None) -> None:
        if self.schema_qualified and not self.search_path_set_schemas:
            return None  # the path is set at the next query that needs it
        if self._setting_search_path or self.search_path_set_schemas:
            return super()._handle_search_path(cursor)
        wanted = tuple(self._get_cursor_search_paths())
        if self.session_search_path == wanted:
            self.search_path_set_schemas = list(wanted)
            return None
        self.session_search_path = None
        super()._handle_search_path(cursor)
        if self.search_path_set_schemas:
            self.session_search_path = tuple(self.search_path_set_schemas)
        return None

    def get_new_connection(self, conn_params):
        self.session_search_path = None
        conn = super().get_new_connection(conn_params)
        if conn.prepare_threshold is None:
            # Django turns preparing off (None). Its client-bound cursors never
            # prepare anyway; a threshold no statement reaches lets the
            # PreparedCursor's explicit `prepare=True` work, and nothing else.
            conn.prepare_threshold = NEVER_BY_COUNT
        return conn

    def close(self) -> None:
        self.session_search_path = None
        self.last_used = float("-inf")
        if self.prepared_cursor is not None:
            self.prepared_cursor.discard()
            self.prepared_cursor = None
        super().close()

    def rollback(self) -> None:
        super().rollback()
        self.session_search_path = None

    def _savepoint_rollback(self, sid) -> None:
        # Forgotten after the rollback: the ROLLBACK TO SAVEPOINT statement's own
        # cursor may set the path first, and the rollback would undo that too.
        super()._savepoint_rollback(sid)
        self.session_search_path = None
        self.search_path_set_schemas = None
