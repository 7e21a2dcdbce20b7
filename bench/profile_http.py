"""Where one request of each bench/http.py route spends its time: a pyinstrument
profile of the portal's WSGI handler (the one portal.serving runs in its pool
threads), in this process, on the benchmark clinics bench/http.py seeds.

    .venv/bin/python bench/profile_http.py [--requests 300] [--route list] [--html DIR]

Each route is called `--requests` times after a warm-up, under one profiler
session; the report shows the time per request split by call tree. Also prints
the SQL statements one request sends and its CPU time unprofiled. pyinstrument
is in bench/requirements.txt.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from datetime import timedelta  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from django.conf import settings  # noqa: E402
from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
)
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402
from pyinstrument import Profiler  # noqa: E402

from bench import patients as patients_bench  # noqa: E402  (sets Django up)
from bench._common import InProcessClient  # noqa: E402
from bench._schedule_seed import SLUG as SCHEDULE_SLUG  # noqa: E402
from portal.api.tokens import clinic_refresh_token  # noqa: E402
from portal.models import Clinic, User  # noqa: E402

EMAIL = "bench-admin@bench.test"


def tokens() -> tuple[dict, dict]:
    user = User.objects.get(email=EMAIL)
    hosts, out = {}, {}
    for key, slug in (("patients", patients_bench.SLUG), ("schedule", SCHEDULE_SLUG)):
        clinic = Clinic.objects.get(slug=slug)
        with schema_context("public"):
            out[key] = str(
                clinic_refresh_token(
                    user=user, schema_name=clinic.schema_name
                ).access_token
            )
        hosts[key] = f"{slug}.{settings.PORTAL_DOMAIN}"
    connection.set_schema_to_public()
    return hosts, out


def staff_cookie() -> str:
    """A signed-in staff session of the bench admin, as the sign-in page leaves one."""
    user = User.objects.get(email=EMAIL)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def routes(hosts: dict) -> dict[str, tuple[str, str, str]]:
    schema = Clinic.objects.get(slug=patients_bench.SLUG).schema_name
    with connection.cursor() as cur:
        cur.execute(f'SELECT min(id) FROM "{schema}".clinic_patient')
        pk = cur.fetchone()[0]
    today = timezone.now().date()
    monday = today - timedelta(days=today.weekday())
    week = f"start={monday}&end={monday + timedelta(days=6)}&page_size=50"
    return {
        "list": ("patients", hosts["patients"], "/api/v1/patients/?page_size=50"),
        "search": (
            "patients",
            hosts["patients"],
            "/api/v1/patients/?q=Jonh+Smiht&page_size=50",
        ),
        "week": ("schedule", hosts["schedule"], f"/api/v1/appointments/?{week}"),
        "detail": ("patients", hosts["patients"], f"/api/v1/patients/{pk}/"),
        "staff-week": ("cookie", hosts["schedule"], f"/schedule/week/?date={today}"),
        "staff-patients": ("cookie", hosts["patients"], "/patients/"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--route",
        action="append",
        help="list, search, week, detail (API); staff-week, staff-patients (pages)",
    )
    parser.add_argument("--html", help="also write an HTML profile per route here")
    parser.add_argument("--depth", type=int, default=40, help="report lines kept")
    args = parser.parse_args()
    hosts, tok = tokens()
    cookie = staff_cookie()
    table = routes(hosts)

    def call(client: InProcessClient, key: str, path: str) -> tuple[int, bytes]:
        if key == "cookie":
            return client.request("GET", path, cookie=cookie)
        return client.request("GET", path, token=tok[key])

    for name in args.route or [n for n in table if not n.startswith("staff")]:
        key, host, path = table[name]
        client = InProcessClient(host, "bench-profile")
        for _ in range(30):
            status, body = call(client, key, path)
            assert status == 200, (status, body[:300])
        statements: list[str] = []

        def log(execute, sql, params, many, context, statements=statements):
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(log):
            call(client, key, path)
        cpu = time.process_time()
        for _ in range(args.requests):
            call(client, key, path)
        cpu = (time.process_time() - cpu) / args.requests * 1000
        profiler = Profiler(interval=0.0002)
        started = time.perf_counter()
        profiler.start()
        for _ in range(args.requests):
            call(client, key, path)
        profiler.stop()
        per = (time.perf_counter() - started) / args.requests * 1000
        print(
            f"\n===== {name}: GET {path}  {cpu:.2f} ms CPU/request in process"
            f" (unprofiled), {per:.2f} ms wall profiled, {len(statements)} SQL"
            " statements ====="
        )
        for sql in statements:
            print(f"  SQL  {sql[:140]}")
        print(
            profiler.output_text(
                unicode=False, color=False, show_all=False, time="percent_of_total"
            )[:20000]
        )
        if args.html:
            Path(args.html).mkdir(parents=True, exist_ok=True)
            Path(args.html, f"{name}.html").write_text(profiler.output_html())


if __name__ == "__main__":
    main()
