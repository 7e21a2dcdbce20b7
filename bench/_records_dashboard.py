"""The dashboard's half of bench/records.py: its p95 on a large clinic, beside its floor.

A clinic of its own (slug ``bench-records``, in the DATABASE_URL database) is
seeded once with bulk SQL (INSERT ... SELECT generate_series: 100,000
patients, 150,000 appointments over about half a year with their booked and
confirmed events, 50,000 tasks, 5,000 conversations) and reused by later runs.
Seeding takes a minute or two and is not what is measured.

Three figures, each a p50/p95 over `requests` runs:
- the selector (clinic.selectors.dashboard.dashboard_figures) through the ORM;
- GET /api/v1/dashboard/ through Django's WSGI handler in this process
  (middleware, tenant routing, JWT, DRF) - the dashboard as a client gets it;
- the floor: the very SQL the selector sent, through one plain psycopg
  connection in this process, rows fetched.
Budgets (issue 11): p95 <= 150 ms and <= 4x the floor's p95.

    .venv/bin/python bench/_records_dashboard.py [--requests 300]

bench/records.py calls `run()` and prints its rows with the documents figures.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ would lead sys.path and bench/http.py shadow the stdlib.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402
from django.apps import apps  # noqa: E402

if not apps.ready:
    django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from bench._common import InProcessClient, floor_connection, report, timed  # noqa: E402
from calls.models import Conversation  # noqa: E402
from clinic.clock import clinic_today, clinic_tz  # noqa: E402
from clinic.models import AppointmentType, Location, Patient, Provider, Workflow  # noqa: E402
from clinic.selectors.dashboard import (  # noqa: E402
    dashboard_cache_clear,
    dashboard_figures,
)
from portal.models import Clinic, Membership, Role, User  # noqa: E402
from portal.services import (  # noqa: E402
    clinic_ensure_public,
    clinic_ensure_template,
    clinic_provision,
    membership_grant,
    user_create,
)

SLUG = "bench-dashboard"
HOST = f"{SLUG}.{settings.PORTAL_DOMAIN}"
ADMIN_EMAIL = "bench-records-admin@bench.test"
PASSWORD = "bench-password-0123"
PROVIDERS = 40
SLOTS_PER_DAY = 20  # per provider, 20 minutes apart from 08:00
DAYS_AHEAD = 28
P95_BUDGET_MS = 150.0
RATIO_BUDGET = 4.0


def ensure_clinic() -> Clinic:
    clinic_ensure_public()
    clinic_ensure_template()
    clinic = Clinic.objects.filter(slug=SLUG).first()
    if clinic is None:
        clinic = clinic_provision(
            slug=SLUG,
            name="Records Benchmark Clinic",
            admin_email=ADMIN_EMAIL,
            admin_password=PASSWORD,
            timezone_name="America/New_York",
            password_expiry_days=0,
        )
    membership_grant(
        user=User.objects.get(email=ADMIN_EMAIL), clinic=clinic, role=Role.ADMIN
    )
    return clinic


def _staff(clinic: Clinic) -> list[int]:
    """The admin and a few staff to assign tasks to (their Membership ids)."""
    ids = [Membership.objects.get(user__email=ADMIN_EMAIL, clinic=clinic).pk]
    for n, role in enumerate([Role.FRONT_DESK, Role.CLINICIAN, Role.BILLING] * 3):
        email = f"bench-records-{n}@bench.test"
        user = User.objects.filter(email=email).first() or user_create(
            email=email, password=PASSWORD, full_name=f"Bench staff {n}"
        )
        ids.append(membership_grant(user=user, clinic=clinic, role=role).pk)
    return ids


def _sql(statement: str, params: list | dict | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def seed(clinic: Clinic, *, patients: int, appointments: int, tasks: int) -> None:
    """Bulk SQL in the clinic's schema; skipped when the clinic already holds the rows."""
    members = _staff(clinic)
    # One transaction: a run stopped half-way leaves nothing, and the next starts over.
    with tenant_context(clinic), transaction.atomic():
        if Conversation.objects.exists() and Patient.objects.count() >= patients:
            print(f"clinic '{SLUG}' already seeded")
            return
        started = time.perf_counter()
        workflow = Workflow.objects.get(is_default=True).pk
        location = Location.objects.get_or_create(name="Main office")[0].pk
        visit_type = AppointmentType.objects.get_or_create(
            name="Follow-up",
            defaults={"duration_minutes": 20, "slot_interval_minutes": 20},
        )[0].pk
        providers = [
            Provider.objects.create(name=f"Dr. Bench {n}", credentials="MD").pk
            for n in range(PROVIDERS)
        ]
        _sql("SELECT setseed(0.42)")
        _sql(
            """
            INSERT INTO clinic_patient (first_name, last_name, date_of_birth, sex, phone,
                email, address, preferred_language, sms_consent, voice_consent, status,
                workflow_id, fields, created_at, updated_at)
            SELECT 'First' || g, 'Last' || (g %% 7919), date '1940-01-01' + (g %% 29000),
                'unknown', '+1415' || lpad((g %% 10000000)::text, 7, '0'),
                'p' || g || '@example.org', g || ' Main St', 'en', true, false, 'active',
                %s, '{}', now(), now()
            FROM generate_series(1, %s) g
            """,
            [workflow, patients],
        )
        per_day = PROVIDERS * SLOTS_PER_DAY
        days = -(-appointments // per_day)
        tz = clinic_tz().key
        first_day = clinic_today().toordinal() - (days - DAYS_AHEAD)
        # Provider g % P, slot (g / P) % 20 of day (g / P) / 20: never two at once.
        _sql(
            """
            WITH p AS (SELECT min(id) AS lo, count(*) AS n FROM clinic_patient),
            slots AS (
                SELECT g, (%(providers)s)[1 + g %% %(np)s] AS provider_id,
                    ((date '0001-01-01' + (%(first)s - 1 + (g / %(np)s) / %(spd)s))
                        + time '08:00' + ((g / %(np)s) %% %(spd)s) * interval '20 minutes')
                        AT TIME ZONE %(tz)s AS start,
                    random() AS r
                FROM generate_series(0, %(n)s - 1) g
            )
            INSERT INTO clinic_appointment (start, "end", busy_until, status, source, reason,
                notes, is_overbooked, overbook_reason, cancel_reason, created_at, updated_at,
                patient_id, appointment_type_id, location_id, provider_id)
            SELECT s.start, s.start + interval '20 minutes', s.start + interval '20 minutes',
                CASE
                    WHEN s.start < now() - interval '12 hours' THEN
                        CASE WHEN r < 0.08 THEN 'no_show' WHEN r < 0.18 THEN 'cancelled'
                             ELSE 'completed' END
                    WHEN s.start < now() + interval '12 hours' THEN
                        CASE WHEN r < 0.3 THEN 'scheduled' WHEN r < 0.6 THEN 'confirmed'
                             WHEN r < 0.9 THEN 'checked_in' ELSE 'cancelled' END
                    ELSE CASE WHEN r < 0.6 THEN 'scheduled' WHEN r < 0.9 THEN 'confirmed'
                              ELSE 'cancelled' END
                END,
                'staff', '', '', false, '', '', now(), now(),
                p.lo + (s.g * 7) %% p.n, %(type)s, %(location)s, s.provider_id
            FROM slots s, p
            """,
            {
                "providers": providers,
                "np": PROVIDERS,
                "spd": SLOTS_PER_DAY,
                "first": first_day,
                "tz": tz,
                "n": appointments,
                "type": visit_type,
                "location": location,
            },
        )
        _sql(
            """
            INSERT INTO clinic_appointmentevent (kind, from_status, to_status, note, at,
                appointment_id)
            SELECT 'booked', '', 'scheduled', '', start - interval '14 days', id
            FROM clinic_appointment
            UNION ALL
            SELECT 'confirmed', 'scheduled', 'confirmed', '', start - interval '1 day', id
            FROM clinic_appointment WHERE status <> 'cancelled' AND random() < 0.7
            """
        )
        _sql(
            """
            WITH p AS (SELECT min(id) AS lo, count(*) AS n FROM clinic_patient),
            t AS (SELECT g, random() AS r, random() AS q FROM generate_series(1, %(n)s) g)
            INSERT INTO clinic_task (title, description, priority, due_date, state, kind,
                source_key, created_by_label, created_at, updated_at, closed_at,
                assignee_id, patient_id)
            SELECT 'Task ' || g, '',
                (ARRAY['low', 'normal', 'normal', 'high', 'urgent'])[1 + g %% 5],
                CASE WHEN q < 0.2 THEN NULL
                     ELSE current_date + ((q * 120)::int - 60) END,
                CASE WHEN r < 0.15 THEN 'open' WHEN r < 0.2 THEN 'in_progress'
                     WHEN r < 0.9 THEN 'done' ELSE 'cancelled' END,
                'manual', '', 'Bench', now() - interval '90 days', now(),
                CASE WHEN r < 0.2 THEN NULL ELSE now() - interval '1 day' END,
                (%(members)s)[1 + g %% %(nm)s],
                CASE WHEN g %% 2 = 0 THEN p.lo + g %% p.n END
            FROM t, p
            """,
            {"n": tasks, "members": members, "nm": len(members)},
        )
        _sql(
            """
            INSERT INTO calls_conversation (patient_id, number, last_message_at,
                unread_count, needs_attention, attention_reason, created_at)
            SELECT p.id, p.phone, now() - (p.id % 500) * interval '1 hour',
                (p.id % 4), false, '', now()
            FROM clinic_patient p ORDER BY p.id LIMIT 5000
            """
        )
        _sql(
            "ANALYZE clinic_patient; ANALYZE clinic_appointment;"
            " ANALYZE clinic_appointmentevent; ANALYZE clinic_task; ANALYZE calls_conversation"
        )
        print(f"seeded clinic '{SLUG}' in {time.perf_counter() - started:.0f} s")


def _captured_sql(member_id: int) -> list[tuple[str, tuple]]:
    """The statements one dashboard_figures call sends, with their parameters."""
    statements: list[tuple[str, tuple]] = []

    def record(execute, sql, params, many, context):
        statements.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        dashboard_figures(today=clinic_today(), member_id=member_id)
    # django-tenants' SET search_path is connection state; the floor sets it once.
    return [
        (sql, p) for sql, p in statements if not sql.lstrip().upper().startswith("SET")
    ]


def run(
    *,
    requests: int = 300,
    patients: int = 100_000,
    appointments: int = 150_000,
    tasks: int = 50_000,
) -> list[dict]:
    """Seed if needed, measure, print the report lines; answer the rows (bench/_common.report).

    "As served" is what every load but one in five minutes does (the 30 days
    before today from the clinic's cache, the rest live); "cold" clears the
    cache before each run, so every figure is computed.
    """
    clinic = ensure_clinic()
    seed(clinic, patients=patients, appointments=appointments, tasks=tasks)
    member_id = Membership.objects.get(user__email=ADMIN_EMAIL, clinic=clinic).pk
    with tenant_context(clinic):
        today = clinic_today()
        dashboard_cache_clear(today=today)
        cold_sql = _captured_sql(member_id)
        warm_sql = _captured_sql(member_id)
        cache_key = cache.make_key(f"dashboard:last-days:{today.isoformat()}")

        def cold(i: int) -> None:
            dashboard_cache_clear(today=today)
            dashboard_figures(today=today, member_id=member_id)

        cold_ms = timed(cold, max(requests // 3, 20), warmup=3)
        dashboard_figures(today=today, member_id=member_id)
        warm_ms = timed(
            lambda i: dashboard_figures(today=today, member_id=member_id), requests
        )
    connection.set_schema_to_public()

    floor_db = floor_connection(clinic.schema_name)
    floor_redis = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])

    def floor_of(statements, cached: bool):
        def floor(i: int) -> None:
            if cached:
                pickle.loads(floor_redis.get(cache_key))
            with floor_db.cursor() as cursor:
                for sql, params in statements:
                    cursor.execute(sql, params)
                    cursor.fetchall()

        return floor

    cold_floor = timed(floor_of(cold_sql, False), max(requests // 3, 20), warmup=3)
    warm_floor = timed(floor_of(warm_sql, True), requests)
    client = InProcessClient(HOST, "bench/records-dashboard")
    code, body = client.request(
        "POST", "/api/v1/auth/token/", body={"email": ADMIN_EMAIL, "password": PASSWORD}
    )
    assert code == 200, body
    token = json.loads(body)["access"]

    def api(i: int) -> None:
        status, _ = client.request("GET", "/api/v1/dashboard/", token=token)
        assert status == 200, status

    api_ms = timed(api, requests)
    floor_db.close()
    print(
        f"\ndashboard of a clinic with {patients:,} patients, {appointments:,} appointments,"
        f" {tasks:,} tasks: {len(warm_sql)} queries as served ({len(cold_sql)} cold)\n"
    )
    budget = f"p95 <= {P95_BUDGET_MS:.0f} ms and <= {RATIO_BUDGET:.0f}x floor"
    rows = [
        report("GET /api/v1/dashboard/ as served (WSGI)", api_ms, warm_floor, budget),
        report("dashboard selector as served (ORM)", warm_ms, warm_floor, budget),
        report("dashboard selector cold (ORM, no cache)", cold_ms, cold_floor, budget),
    ]
    for row in rows:
        row["within_budget"] = (
            row["p95"] <= P95_BUDGET_MS and row["ratio_p95"] <= RATIO_BUDGET
        )
        print(f"  {row['name']}: {'within' if row['within_budget'] else 'OVER'} budget")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--appointments", type=int, default=150_000)
    parser.add_argument("--tasks", type=int, default=50_000)
    args = parser.parse_args()
    run(
        requests=args.requests,
        patients=args.patients,
        appointments=args.appointments,
        tasks=args.tasks,
    )


if __name__ == "__main__":
    main()
