"""Patients benchmark: API list and search against a raw psycopg floor, bulk create,
provisioning.

Run from the repository root with the services up (``make services``):

    .venv/bin/python bench/patients.py [--patients 100000] [--requests 300]

It works in the development database (DATABASE_URL) inside a clinic of its own
(slug ``bench``), seeding it once with synthetic patients; later runs reuse it.
Requests go through Django's real WSGI handler in this process (middleware,
tenant routing, JWT authentication, DRF, audit writes), so the figures exclude
only the HTTP parsing of a server. Each floor runs the same SQL that Django
sent, through a plain psycopg connection, and encodes the rows to JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench._common import FIRST, LAST, InProcessClient, report, timed  # noqa: E402
from clinic.models import Patient, Workflow  # noqa: E402
from clinic.selectors import patient_list  # noqa: E402
from portal.models import Clinic, Role, User  # noqa: E402
from portal.services import (  # noqa: E402
    clinic_ensure_public,
    clinic_ensure_template,
    clinic_provision,
    membership_grant,
)

SLUG = "bench"
HOST = f"{SLUG}.{settings.PORTAL_DOMAIN}"
PASSWORD = "bench-password-0123"
SEARCHES = [
    "Jonh Smiht",
    "garcai",
    "Maria Lopez",
    "Wiliams",
    "Nguyen Linh",
    "patricia",
    "Thompsn",
    "kim wei",
]


def ensure_clinic() -> Clinic:
    clinic_ensure_public()
    clinic_ensure_template()
    clinic = Clinic.objects.filter(slug=SLUG).first()
    if clinic is None:
        clinic = clinic_provision(
            slug=SLUG,
            name="Benchmark Clinic",
            admin_email="bench-admin@bench.test",
            admin_password=PASSWORD,
        )
    user = User.objects.filter(email="bench-admin@bench.test").first()
    membership_grant(user=user, clinic=clinic, role=Role.ADMIN)
    return clinic


def seed(clinic: Clinic, target: int) -> None:
    """Top the clinic up to `target` patients with COPY (seeding is not what we measure)."""
    with schema_context(clinic.schema_name):
        have = Patient.objects.count()
        if have >= target:
            print(f"clinic '{SLUG}' already holds {have} patients")
            return
        workflow_id = Workflow.objects.get(is_default=True).pk
        rng = random.Random(have)
        buf = io.StringIO()
        today = date.today()
        stamp = "2026-01-01T00:00:00+00:00"
        for n in range(have, target):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            dob = today - timedelta(days=rng.randint(0, 95 * 365))
            phone = f"+1415555{n % 10000:04d}"
            buf.write(
                f"{first}\t{last}\t{dob.isoformat()}\tunknown\t{phone}\t"
                f"{first.lower()}.{last.lower()}{n}@example.org\t{n} Main St\ten\tt\tf\tactive\t"
                f"{workflow_id}\t{{}}\t{stamp}\t{stamp}\n"
            )
        started = time.perf_counter()
        with connection.cursor() as cur:
            with cur.cursor.copy(
                "COPY clinic_patient (first_name, last_name, date_of_birth, sex, phone, email, address,"
                " preferred_language, sms_consent, voice_consent, status, workflow_id, fields,"
                " created_at, updated_at) FROM STDIN"
            ) as copy:
                copy.write(buf.getvalue())
            cur.execute("ANALYZE clinic_patient")
        print(
            f"seeded {target - have} patients in {time.perf_counter() - started:.1f} s"
        )


# --- The floor: same SQL through plain psycopg, rows to JSON --------------------------


def floor_runner(clinic: Clinic, query_for):
    """Return fn(i) executing Django's SQL for query i with psycopg and encoding JSON."""
    db = settings.DATABASES["default"]
    conn = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    )
    conn.execute(f'SET search_path = "{clinic.schema_name}", public')
    conn.execute(
        "SET pg_trgm.similarity_threshold = 0.3; SET pg_trgm.word_similarity_threshold = 0.4"
    )
    # Compiled before timing: the floor is the SQL and the JSON, not the ORM.
    # (`statements.setdefault(i % 64, query_for(i))` called query_for, which
    # builds and compiles the Django query, inside every timed run.)
    statements = [query_for(i) for i in range(64)]

    def run(i: int) -> None:
        sql, params = statements[i % 64]
        rows = conn.execute(sql, params).fetchall()
        payload = [
            {
                "id": r[0],
                "first_name": r[1],
                "last_name": r[2],
                "date_of_birth": r[3].isoformat(),
                "sex": r[4],
                "phone": r[5],
                "email": r[6],
                "address": r[7],
                "preferred_language": r[8],
                "sms_consent": r[9],
                "voice_consent": r[10],
                "status": r[11],
                "workflow": r[12],
                "fields": r[13],
                "created_at": r[14].isoformat(),
                "updated_at": r[15].isoformat(),
            }
            for r in rows
        ]
        json.dumps({"next": None, "previous": None, "results": payload})

    return run, conn


def sql_for(clinic: Clinic, **filters) -> tuple[str, tuple]:
    """The SQL of one API page: the selector's query, the API's columns, 50 rows."""
    with schema_context(clinic.schema_name):
        qs = patient_list(**filters).values_list(
            "id",
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "phone",
            "email",
            "address",
            "preferred_language",
            "sms_consent",
            "voice_consent",
            "status",
            "workflow__slug",
            "fields",
            "created_at",
            "updated_at",
        )[:51]
        return qs.query.sql_with_params()


# --- Provisioning -------------------------------------------------------------------


def time_provisioning(runs: int) -> tuple[list[float], list[float]]:
    def once(clone: bool, n: int) -> float:
        slug = f"benchprov-{'c' if clone else 'm'}-{os.getpid()}-{n}"
        with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=clone):
            started = time.perf_counter()
            clinic = clinic_provision(
                slug=slug,
                name="Provisioning bench",
                admin_email="bench-admin@bench.test",
                admin_password=PASSWORD,
            )
            elapsed = time.perf_counter() - started
        connection.set_schema_to_public()
        with transaction.atomic():
            clinic.delete(force_drop=True)
        return elapsed

    cloned = [once(True, n) for n in range(runs)]
    migrated = [once(False, n) for n in range(max(1, runs // 2))]
    return cloned, migrated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--provision-runs", type=int, default=4)
    args = parser.parse_args()

    clinic = ensure_clinic()
    seed(clinic, args.patients)
    connection.set_schema_to_public()
    client = InProcessClient(HOST, "bench/patients")
    status, body = client.request(
        "POST",
        "/api/v1/auth/token/",
        body={"email": "bench-admin@bench.test", "password": PASSWORD},
    )
    assert status == 200, body
    token = json.loads(body)["access"]
    print(
        f"\n{args.requests} requests each, in-process WSGI, clinic of {args.patients} patients\n"
    )
    results = []

    def api_list(i: int) -> None:
        code, _ = client.request("GET", "/api/v1/patients/?page_size=50", token=token)
        assert code == 200, code

    def api_search(i: int) -> None:
        q = SEARCHES[i % len(SEARCHES)].replace(" ", "+")
        code, _ = client.request(
            "GET", f"/api/v1/patients/?q={q}&page_size=50", token=token
        )
        assert code == 200, code

    floor_list, conn = floor_runner(clinic, lambda i: sql_for(clinic))
    floor_search, conn2 = floor_runner(
        clinic, lambda i: sql_for(clinic, q=SEARCHES[i % len(SEARCHES)])
    )
    results.append(
        report(
            "GET /api/v1/patients/ (50 rows)",
            timed(api_list, args.requests),
            timed(floor_list, args.requests),
            "budget p95 <= 50 ms and <= 4x floor",
        )
    )
    results.append(
        report(
            "GET /api/v1/patients/?q=<misspelled name>",
            timed(api_search, args.requests),
            timed(floor_search, args.requests),
            "budget p95 <= 50 ms and <= 4x floor",
        )
    )
    conn.close()
    conn2.close()

    # Bulk create of 1000 through the API, then removed again so the clinic stays at size.
    rng = random.Random(7)
    bulk_times = []
    for run in range(3):
        rows = [
            {
                "first_name": rng.choice(FIRST),
                "last_name": rng.choice(LAST),
                "date_of_birth": (
                    date(1940, 1, 1) + timedelta(days=rng.randint(0, 29000))
                ).isoformat(),
                "phone": f"+1415555{rng.randint(0, 9999):04d}",
                "email": f"bulk{run}-{n}@example.org",
            }
            for n in range(1000)
        ]
        started = time.perf_counter()
        code, body = client.request(
            "POST", "/api/v1/patients/bulk/", token=token, body=rows
        )
        bulk_times.append(time.perf_counter() - started)
        assert code == 201, body[:500]
        with schema_context(clinic.schema_name):
            Patient.objects.filter(email__startswith=f"bulk{run}-").delete()
        connection.set_schema_to_public()
    print(
        f"{'POST /api/v1/patients/bulk/ (1000 rows)':<44} median {statistics.median(bulk_times):.2f} s"
        f"   max {max(bulk_times):.2f} s   [budget <= 2 s]"
    )

    cloned, migrated = time_provisioning(args.provision_runs)
    print(
        f"{'provision a clinic (clone template schema)':<44} median {statistics.median(cloned):.2f} s"
        f"   max {max(cloned):.2f} s   [budget <= 3 s]"
    )
    print(
        f"{'provision a clinic (run all migrations)':<44} median {statistics.median(migrated):.2f} s"
        f"   ratio clone/migrations {statistics.median(cloned) / statistics.median(migrated):.2f}"
    )


if __name__ == "__main__":
    main()
