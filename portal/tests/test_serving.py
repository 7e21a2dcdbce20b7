"""Serving: HTTP on a fixed pool of threads, bounded connections, and a search_path
that follows the clinic on persistent connections. Nothing here is timed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction
from django.db.backends.signals import connection_created
from django.test.utils import CaptureQueriesContext

from portal.models import Clinic, Membership
from portal.selectors import clinic_for_host, membership_with_user
from portal.serving import WSGIBridge, connection_bound, http_application

pytestmark = pytest.mark.django_db


async def _call(
    app,
    path: str = "/",
    *,
    host: str = "alpha.localhost",
    body: bytes = b"",
    headers: list | None = None,
) -> tuple[int, dict, bytes]:
    """One HTTP request through an ASGI app, as uvicorn makes it."""
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST" if body else "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("10.1.2.3", 50000),
        "server": ("127.0.0.1", 8100),
        "headers": [(b"host", host.encode()), *(headers or [])],
    }
    chunks = [body[:3], body[3:]] if body else [b""]
    inbox = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    return (
        start["status"],
        dict(start["headers"]),
        b"".join(m.get("body", b"") for m in sent[1:]),
    )


def _burst(app, count: int, **kwargs) -> list:
    async def run():
        return await asyncio.gather(*(_call(app, **kwargs) for _ in range(count)))

    return asyncio.run(run())


def _on_each_thread(bridge: WSGIBridge, threads: int, fn: Callable[[], None]) -> None:
    """Run `fn` once on every thread of the bridge's pool."""
    barrier = threading.Barrier(threads)

    def step() -> None:
        barrier.wait(timeout=10)
        fn()

    for future in [bridge.executor.submit(step) for _ in range(threads)]:
        future.result(timeout=20)


def test_the_bridge_serves_a_request_with_its_body_headers_and_the_peers_address():
    def echo(environ, start_response):
        start_response("201 Created", [("X-Seen", environ["REMOTE_ADDR"])])
        body = environ["wsgi.input"].read()
        return [
            body,
            b"|",
            environ.get("HTTP_COOKIE", "").encode(),
            b"|",
            environ.get("HTTP_X_FORWARDED_FOR", "").encode(),
        ]

    headers = [
        (b"cookie", b"a=1"),
        (b"cookie", b"b=2"),
        (b"x-forwarded-for", b"6.6.6.6"),
    ]
    status, sent_headers, body = asyncio.run(
        _call(WSGIBridge(echo, threads=2), body=b"hello world", headers=headers)
    )

    assert status == 201
    # The address is the socket's peer; a forwarded-for header is only a header.
    assert sent_headers[b"x-seen"] == b"10.1.2.3"
    assert body == b"hello world|a=1; b=2|6.6.6.6"


def test_a_body_is_taken_in_only_as_far_as_the_application_reads_it():
    def refuse(environ, start_response):  # as a body-size limit does, unread
        start_response("413 Request Entity Too Large", [])
        return [b"too large"]

    inbox = [{"type": "http.request", "body": b"x" * 10, "more_body": True}] * 1000
    sent: list[dict] = []

    async def receive() -> dict:
        return inbox.pop()

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [(b"host", b"alpha.localhost")],
    }
    asyncio.run(WSGIBridge(refuse, threads=1)(scope, receive, send))

    assert sent[0]["status"] == 413
    assert len(inbox) == 999  # only the first chunk was received


def test_a_streamed_response_is_sent_chunk_by_chunk_and_closed_in_its_thread():
    closed_in: list[str] = []

    class Stream:
        streaming = True

        def __iter__(self):
            yield b"one,"
            yield b"two"

        def close(self) -> None:
            closed_in.append(threading.current_thread().name)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/csv")])
        return Stream()

    status, _, body = asyncio.run(_call(WSGIBridge(app, threads=1)))

    assert (status, body) == (200, b"one,two")
    assert closed_in and closed_in[0].startswith("http")


def test_requests_run_on_no_more_threads_than_the_pool_has():
    seen: set[str] = set()

    def app(environ, start_response):
        seen.add(threading.current_thread().name)
        start_response("200 OK", [])
        return [b"ok"]

    answers = _burst(WSGIBridge(app, threads=3), 40)

    assert all(status == 200 for status, _, _ in answers)
    assert 1 <= len(seen) <= 3


def test_concurrent_requests_hold_at_most_one_persistent_connection_per_thread():
    """The bound: 40 concurrent requests to the real portal open at most 3
    connections on 3 threads, and a second burst opens none."""
    created: list[int] = []
    lock = threading.Lock()

    def count(sender, connection, **kwargs) -> None:
        if threading.current_thread().name.startswith("http"):
            with lock:
                created.append(id(connection))

    connection_created.connect(count)
    bridge = http_application()
    bridge.executor = ThreadPoolExecutor(max_workers=3, thread_name_prefix="http")
    try:
        first = _burst(bridge, 40, path="/account/sign-in/")
        opened_by_first = len(created)
        second = _burst(bridge, 40, path="/account/sign-in/")
    finally:
        connection_created.disconnect(count)
        _on_each_thread(bridge, 3, connections.close_all)
        bridge.executor.shutdown()

    assert [s for s, _, _ in first + second] == [200] * 80
    assert 1 <= opened_by_first <= 3
    assert len(created) == opened_by_first  # the connections persisted


def test_the_configured_bound_is_processes_times_threads_plus_one(settings):
    settings.WEB_PROCESSES, settings.WEB_THREADS = 3, 4

    assert connection_bound() == 15


# --- search_path on a connection that moves between clinics ---------------------------


def _in_own_connection(fn: Callable[[], object]) -> object:
    """Run `fn` in a thread of its own, with its own autocommit connection, as a
    serving thread does; close the connection after."""
    result: list = []

    def run() -> None:
        try:
            result.append(fn())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return result[0]


def _search_path() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        return cursor.fetchone()[0]


def _sets(queries: CaptureQueriesContext) -> int:
    return sum(
        q["sql"].upper().startswith("SET SEARCH_PATH") for q in queries.captured_queries
    )


def test_a_persistent_connection_reads_each_clinic_in_its_own_schema(
    clinic, other_clinic
):
    def serve() -> list:
        paths = []
        for tenant in (clinic, other_clinic, clinic, clinic):
            connection.set_schema_to_public()
            found = clinic_for_host(f"{tenant.slug}.localhost")  # as every request does
            connection.set_tenant(found)
            with CaptureQueriesContext(connection) as queries:
                paths.append((_search_path(), _sets(queries)))
        return paths

    paths = _in_own_connection(serve)

    alpha, beta = f"{clinic.schema_name}, public", f"{other_clinic.schema_name}, public"
    assert [p for p, _ in paths] == [alpha, beta, alpha, alpha]
    # Set when the clinic changed; the same clinic again needs no SET.
    assert [n for _, n in paths] == [1, 1, 1, 0]


def test_a_rolled_back_switch_of_clinic_is_not_trusted_afterwards(clinic, other_clinic):
    def serve() -> str:
        connection.set_tenant(clinic)
        _search_path()
        try:
            with transaction.atomic():
                connection.set_tenant(other_clinic)
                _search_path()  # SET inside the transaction, undone by the rollback
                raise RuntimeError
        except RuntimeError:
            pass
        return _search_path()

    assert _in_own_connection(serve) == f"{other_clinic.schema_name}, public"


def test_a_savepoint_rollback_that_undid_the_clinics_path_sets_it_again(
    clinic, other_clinic
):
    def serve() -> str:
        connection.set_tenant(clinic)
        _search_path()
        with transaction.atomic():
            try:
                with transaction.atomic():
                    connection.set_tenant(other_clinic)
                    _search_path()  # SET after the savepoint, undone with it
                    raise RuntimeError
            except RuntimeError:
                pass
            return _search_path()

    assert _in_own_connection(serve) == f"{other_clinic.schema_name}, public"


def test_the_clinic_lookup_reads_the_row_the_orm_reads(clinic):
    found = clinic_for_host("alpha.localhost")

    assert found == clinic
    assert {
        f.attname: getattr(found, f.attname) for f in Clinic._meta.concrete_fields
    } == {f.attname: getattr(clinic, f.attname) for f in Clinic._meta.concrete_fields}
    assert clinic_for_host("nowhere.localhost") is None


def test_the_membership_lookup_loads_the_membership_and_its_user(clinic, staff_user):
    membership = membership_with_user(user_id=staff_user.pk, clinic=clinic)

    assert membership == Membership.objects.get(user=staff_user, clinic=clinic)
    with CaptureQueriesContext(connection) as queries:
        assert membership.user == staff_user
        assert membership.user.email == staff_user.email
    assert not queries.captured_queries
    Membership.objects.filter(pk=membership.pk).update(is_active=False)
    assert membership_with_user(user_id=staff_user.pk, clinic=clinic) is None


def test_hot_statements_share_one_cursor_until_their_connection_closes(db):
    """Prepared statements reuse one cursor per connection (no copy of the
    adapters per statement), answer each its own rows, and the cursor is
    closed with its connection."""
    seen: dict = {}

    def run() -> None:
        from django.db import connection

        try:
            for value in (1, 2):
                with connection.prepared_statements(), connection.cursor() as cursor:
                    cursor.execute("SELECT %s::int, %s::text", [value, str(value)])
                    seen.setdefault("rows", []).append(cursor.fetchone())
                    seen.setdefault("cursors", []).append(cursor.cursor)
            with connection.cursor() as plain:
                seen["plain"] = plain.cursor
        finally:
            connection.close()
        seen["after"] = connection.prepared_cursor

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()

    assert seen["rows"] == [(1, "1"), (2, "2")]
    first, second = seen["cursors"]
    assert first is second and seen["plain"] is not first
    assert first.closed and seen["after"] is None


def test_timestamps_load_in_djangos_time_zone_through_either_cursor(db):
    from datetime import UTC, datetime

    from django.db import connection

    sql = "SELECT '2026-01-02 03:04:05.5+02'::timestamptz, %s::timestamptz"
    for prepared in (False, True):
        if prepared:
            with connection.prepared_statements(), connection.cursor() as cursor:
                cursor.execute(sql, [datetime(2026, 5, 6, 7, 8, tzinfo=UTC)])
                row = cursor.fetchone()
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql, [datetime(2026, 5, 6, 7, 8, tzinfo=UTC)])
                row = cursor.fetchone()
        assert row == (
            datetime(2026, 1, 2, 1, 4, 5, 500000, tzinfo=UTC),
            datetime(2026, 5, 6, 7, 8, tzinfo=UTC),
        )
        assert all(value.tzinfo is connection.timezone for value in row)
