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

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

HEALTH_CHECK_AFTER_IDLE = 5.0


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        # The search_path the open connection's session holds, as set by us; None
        # when unknown.
        self.session_search_path: tuple[str, ...] | None = None
        self.last_used = float("-inf")
        self.schema_qualified = False
        super().__init__(*args, **kwargs)

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
        return super().get_new_connection(conn_params)

    def close(self) -> None:
        self.session_search_path = None
        self.last_used = float("-inf")
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
