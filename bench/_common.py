"""Helpers shared by the benchmarks: percentiles and report lines, requests through
Django's real WSGI handler in this process, and the plain psycopg floor connection.

Import after django.setup(); each benchmark sets Django up itself.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal

import psycopg
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

FIRST = "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica Thomas Sarah Carlos Maria Wei Mei Arjun Priya Mohammed Fatima Kenji Yuki Olga Ivan Nguyen Linh Kwame Ama Diego Lucia Hannah Noah Sofia Liam".split()
LAST = "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Patel Kim Chen Okafor Mensah Ivanova Tanaka Kowalski Dubois Rossi".split()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(
    name: str, ms: list[float], floor: list[float] | None = None, budget: str = ""
) -> dict:
    row = {"name": name, "p50": statistics.median(ms), "p95": pct(ms, 95), "n": len(ms)}
    line = f"{name:<52} p50 {row['p50']:7.2f} ms   p95 {row['p95']:7.2f} ms"
    if floor:
        row["floor_p50"], row["floor_p95"] = statistics.median(floor), pct(floor, 95)
        row["ratio_p95"] = row["p95"] / row["floor_p95"]
        row["ratio_p50"] = row["p50"] / row["floor_p50"]
        line += (
            f"   floor p50 {row['floor_p50']:6.2f} p95 {row['floor_p95']:6.2f} ms"
            f"   ratio p50 {row['ratio_p50']:4.1f}x p95 {row['ratio_p95']:4.1f}x"
        )
    if budget:
        line += f"   [{budget}]"
    print(line, flush=True)
    return row


def timed(fn: Callable[[int], object], runs: int, warmup: int = 10) -> list[float]:
    for i in range(warmup):
        fn(i)
    out = []
    for i in range(runs):
        started = time.perf_counter_ns()
        fn(i)
        out.append((time.perf_counter_ns() - started) / 1e6)
    return out


class InProcessClient:
    """Requests through Django's WSGI handler: all middleware, tenant routing, auth, views."""

    def __init__(self, host: str, user_agent: str) -> None:
        self.handler = WSGIHandler()
        self.host = host
        self.user_agent = user_agent

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str = "",
        cookie: str = "",
        body: object = None,
    ) -> tuple[int, bytes]:
        path, _, query = path.partition("?")
        data = json.dumps(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": self.host,
            "SERVER_PORT": "80",
            "HTTP_HOST": self.host,
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_USER_AGENT": self.user_agent,
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        if cookie:
            environ["HTTP_COOKIE"] = cookie
        status: list[str] = []
        chunks = self.handler(environ, lambda s, h, exc=None: status.append(s))
        content = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        return int(status[0].split()[0]), content


def floor_connection(schema: str) -> psycopg.Connection:
    """A plain psycopg connection to the development database, in a clinic's schema."""
    db = settings.DATABASES["default"]
    conn = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    )
    conn.execute(f'SET search_path = "{schema}", public')
    return conn


def _plain(value: object) -> object:
    if isinstance(value, (datetime, date, dtime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def rows_to_json(cursor: psycopg.Cursor) -> str:
    """The fetched rows as a JSON list of objects keyed by column name."""
    names: list[str] = []
    for column in cursor.description:  # joined tables repeat names like "id" and "name"
        name = column.name
        while name in names:
            name += "_"
        names.append(name)
    return json.dumps(
        [dict(zip(names, row, strict=True)) for row in cursor.fetchall()],
        default=_plain,
    )
