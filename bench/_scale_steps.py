"""The Django side of bench/scale.py: growing clinics, timing provisioning, and
the requests to the web server. Import after django.setup().
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.db import OperationalError, connection, transaction
from django.test.utils import override_settings
from django_tenants.utils import schema_context

from bench import _scale_measure as m
from bench._http import (
    Server,
    api_token,
    free_port,
    pg_connections,
    staff_session,
    web_command,
)
from clinic.actors import SYSTEM
from clinic.services import patient_create
from portal.api.tokens import clinic_refresh_token
from portal.models import Clinic, Role, User
from portal.services import clinic_provision, membership_grant, user_create
from portal.serving import connection_bound

EMAIL, OPERATOR = "scale-admin@scale.test", "scale-operator@scale.test"
PASSWORD = "scale-Bench-2026!"


@dataclass
class Run:
    """What the helpers need of bench/scale.py's run."""

    env: dict[str, str]
    dsn: str
    nice: m.BackendNice
    seconds: float
    rounds: int


@contextlib.contextmanager
def full_speed(run: Run, *servers: Server) -> Iterator[None]:
    """Timed work runs at nice 0: this process, `servers` and the PostgreSQL backends.

    Anything this process starts meanwhile (commands, the web server) inherits it.
    """
    mine = {os.getpid()}
    m.renice(mine | {p for s in servers for p in s.pids()}, 0)
    run.nice.set(0)
    time.sleep(1.2)
    try:
        yield
    finally:
        m.renice(mine | {p for s in servers for p in s.pids()}, 19)
        run.nice.set(19)


def clinics() -> list[str]:
    return list(
        Clinic.objects.filter(slug__startswith="scale-")
        .order_by("slug")
        .values_list("schema_name", flat=True)
    )


def provision(
    n: int, *, admin: str = OPERATOR, cpu: list[tuple[float, float]] | None = None
) -> float:
    """Seconds to provision clinic `n`; `cpu` gets (bench, PostgreSQL) CPU seconds."""
    if cpu is not None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        before = (time.process_time(), m.cpu_seconds(backend))
    started = time.perf_counter()
    clinic_provision(
        slug=f"scale-{n:04d}",
        name=f"Scale Clinic {n}",
        admin_email=admin,
        admin_password=PASSWORD,
    )
    elapsed = time.perf_counter() - started
    if cpu is not None:
        cpu.append(
            (time.process_time() - before[0], m.cpu_seconds(backend) - before[1])
        )
    connection.set_schema_to_public()
    return elapsed


def prepare(run: Run) -> None:
    """Migrate as `make migrate` does; the operator and the measured first clinic."""
    for args in (
        ["migrate_schemas", "--shared", "--noinput"],
        ["ensure_platform"],
        ["migrate_schemas", "--tenant", "--executor=multiprocessing", "--noinput"],
    ):
        m.manage(args, run.env)
    if not User.objects.filter(email=OPERATOR).exists():
        user_create(email=OPERATOR, password=PASSWORD, full_name="Scale operator")
    if not clinics():
        provision(1, admin=EMAIL)
        clinic = Clinic.objects.get(slug="scale-0001")
        membership_grant(
            user=User.objects.get(email=OPERATOR), clinic=clinic, role=Role.ADMIN
        )
        with schema_context(clinic.schema_name):
            for i in range(200):
                patient_create(
                    actor=SYSTEM,
                    first_name=f"Pat{i}",
                    last_name=f"Scale{i % 17}",
                    date_of_birth=date(1950 + i % 50, 1 + i % 12, 1 + i % 28),
                )
        connection.set_schema_to_public()


def grow(n: int) -> float:
    """Provision up to `n` clinics; clinics per second."""
    have = len(clinics())
    started = time.perf_counter()
    for i in range(have + 1, n + 1):
        provision(i)
    return (n - have) / (time.perf_counter() - started) if n > have else 0.0


def measure_provisioning(n: int) -> dict:
    """The last 8 clinics of the step: 7 with an existing admin, 1 with a new one."""
    schema_times: list[float] = []
    original = Clinic.create_schema

    def timed(self: Clinic, *args: object, **kwargs: object) -> bool:
        started = time.perf_counter()
        result = original(self, *args, **kwargs)
        schema_times.append(time.perf_counter() - started)
        return result

    Clinic.create_schema = timed
    try:
        cpu: list[tuple[float, float]] = []
        totals = [provision(i, cpu=cpu) for i in range(n - 7, n)]
        new_admin = provision(n, admin=f"admin-{n}@scale.test")
    finally:
        Clinic.create_schema = original
    # The sweep of every clinic signs requests as the operator.
    membership_grant(
        user=User.objects.get(email=OPERATOR),
        clinic=Clinic.objects.get(slug=f"scale-{n:04d}"),
        role=Role.ADMIN,
    )
    return {
        "p50_s": statistics.median(totals),
        "min_s": min(totals),
        "samples": totals,
        "cpu_p50_s": statistics.median(a + b for a, b in cpu),
        "cpu_bench_p50_s": statistics.median(a for a, _ in cpu),
        "cpu_postgres_p50_s": statistics.median(b for _, b in cpu),
        "schema_p50_s": statistics.median(schema_times[:7]),
        "new_admin_s": new_admin,
        "new_admin_schema_s": schema_times[7],
    }


class _Undo(Exception):
    pass


def rolled_back(n: int, cap: int | None = None, **overrides: object) -> float | None:
    """Seconds to provision one clinic another way; nothing of it is kept."""
    elapsed = None
    with override_settings(**overrides):
        try:
            with transaction.atomic():
                if cap:
                    connection.cursor().execute(
                        f"SET LOCAL statement_timeout = '{cap}s'"
                    )
                started = time.perf_counter()
                clinic_provision(
                    slug=f"probe-{n:04d}",
                    name="Probe",
                    admin_email=OPERATOR,
                    admin_password=PASSWORD,
                )
                elapsed = time.perf_counter() - started
                raise _Undo
        except _Undo:
            pass
        except OperationalError:
            elapsed = None  # over the cap
    connection.set_schema_to_public()
    return elapsed


def measure_http(run: Run, ref: Server) -> dict:
    """p50 of a page and an API read on one clinic; then one request to every clinic."""
    connection.close()
    port = free_port(8200, 8299)
    web = Server("web", web_command(port), port, {})
    try:
        web.wait_ready(180)
        time.sleep(1.5)
        host = "scale-0001.localhost"
        lines = {}
        for name, server in (("main", web), ("ref", ref)):
            token = api_token(server.port, host, EMAIL, PASSWORD)
            cookie = staff_session(server.port, host, EMAIL, PASSWORD)
            lines[name] = {
                "page": [(host, "/patients/", f"Cookie: {cookie}")],
                "api": [
                    (
                        host,
                        "/api/v1/patients/?page_size=50",
                        f"Authorization: Bearer {token}",
                    )
                ],
            }
        for name, server in (("main", web), ("ref", ref)):  # warm up
            for route in lines[name].values():
                m.wrk(server.port, route, 2, 2)
        out: dict = {"http": {}}
        for route in ("page", "api"):
            # Rounds alternate the two servers; each round's ratio compares two
            # runs seconds apart, so load from elsewhere weighs on both alike.
            runs: dict[str, list[float]] = {"main": [], "ref": []}
            for rnd in range(run.rounds):
                order = [("main", web), ("ref", ref)]
                for name, server in order if rnd % 2 == 0 else order[::-1]:
                    runs[name].append(
                        m.p50(server.port, lines[name][route], run.seconds)["p50"]
                    )
            ratios = [a / b for a, b in zip(runs["main"], runs["ref"], strict=True)]
            out["http"][route] = {
                "p50": statistics.median(runs["main"]),
                "ref_p50": statistics.median(runs["ref"]),
                "ratio": statistics.median(ratios),
                "runs": runs,
            }
        operator = User.objects.get(email=OPERATOR)
        every = [
            (
                f"{s.removeprefix('c_').replace('_', '-')}.localhost",
                "/api/v1/patients/?page_size=1",
                "Authorization: Bearer "
                + str(clinic_refresh_token(user=operator, schema_name=s).access_token),
            )
            for s in clinics()
        ]
        connection.close()
        out["sweep"] = m.sweep(port, every, web, run.dsn)
        time.sleep(1)
        pss, rss = m.process_memory_mb(web.pids())
        out["memory"] = {"pss_mb": pss, "rss_mb": rss}
        held, _ = pg_connections(run.dsn, web.pids())
        out["pg"] = {
            "held_after": held,
            "max_during": out["sweep"]["pg_during_max"],
            "bound": connection_bound(),
        }
        return out
    finally:
        web.stop()


def database_figures() -> dict:
    """The database's size and catalog, which do grow with every clinic."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_database_size(current_database()),"
            " (SELECT count(*) FROM pg_class)"
        )
        size, relations = cursor.fetchone()
    return {"db_size_mb": size / 2**20, "pg_class_rows": relations}
