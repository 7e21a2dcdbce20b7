"""Billing benchmark: A/R aging and the claims work list against psycopg floors, and the
837P export and 835 import of 5,000 claims, timed.

Run from the repository root with the services up (``make services``):

    .venv/bin/python bench/billing.py [--claims 200000] [--requests 100] [--batch 5000]

It works in the development database (DATABASE_URL) inside a clinic of its own
(slug ``bench-billing``): 20,000 patients with policies, 8 payers, 20 providers
and 200,000 claims (with their visits, coding, lines and timelines), most of them
answered by posted 835 payments with CAS adjustments, patient invoices and
payments. It is seeded with COPY once (a couple of minutes) and reused. Pages go
through Django's real WSGI handler in this process with a staff session; each
floor runs the same SQL through a plain psycopg connection. The export and the
import run the real services on ready claims, then put everything back so the
next run measures the same thing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository root, not bench/ (whose modules' names may shadow the standard library's).
sys.path = [str(ROOT)] + [
    p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"
]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._billing_seed import (  # noqa: E402
    BILLER_EMAIL,
    HOST,
    READY_POOL,
    SLUG,
    TZ,
    ensure_clinic,
    npi,
    seed,
)
from bench._common import InProcessClient, floor_connection, report, rows_to_json, timed  # noqa: E402
from billing.models import Claim  # noqa: E402
from billing.selectors.aging import AGING_SQL, ar_aging  # noqa: E402
from billing.selectors.claims import claims_by_id, work_list_ids  # noqa: E402
from billing.services import claims_export_837, remittance_import  # noqa: E402
from billing.x12.validate import pyx12_errors  # noqa: E402
from portal.models import Clinic, Membership, User  # noqa: E402


def backend_cpu_ms(pid: int) -> float | None:
    """CPU time (user + system) a PostgreSQL backend has used, when it runs on this
    machine: what a query costs whatever else the machine is doing."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def cpu_per_call(pid: int, fn, runs: int) -> str:
    before = backend_cpu_ms(pid)
    for i in range(runs):
        fn(i)
    after = backend_cpu_ms(pid)
    return (
        "n/a (server elsewhere)"
        if before is None or after is None
        else (f"{(after - before) / runs:.1f} ms")
    )


def is_seeded(claims: int) -> bool:
    return (
        Claim.objects.count() >= claims
        and Claim.objects.filter(status="ready").count() >= READY_POOL
    )


def session_cookie(email: str) -> str:
    connection.set_schema_to_public()
    client = Client()
    client.force_login(User.objects.get(email=email))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def measure_reads(clinic: Clinic, requests: int) -> None:
    client = InProcessClient(HOST, "bench/billing")
    cookie = session_cookie(BILLER_EMAIL)
    today = timezone.localdate(timezone=TZ)
    conn = floor_connection(clinic.schema_name)
    connection.set_tenant(clinic)
    payers = list(
        Claim.objects.order_by().values_list("payer_id", flat=True).distinct()
    )
    filters = [
        {"status": ["submitted", "accepted"]},
        {"status": ["draft", "ready", "denied"]},
        {"status": ["paid"], "age": "31-60"},
    ] + [{"status": ["submitted", "accepted", "denied"], "payer": p} for p in payers]
    statements = []  # the page's two queries: the window's ids, then their claims
    for cleaned in filters:
        window = work_list_ids(cleaned=cleaned, today=today)[0:51]
        ids = [pk for pk, _ in window]
        statements.append(
            (
                window.query.sql_with_params(),
                claims_by_id(ids[:50]).query.sql_with_params(),
            )
        )
    print(
        f"\n{Claim.objects.count()} claims; {requests} requests each, in-process WSGI,"
        f" a billing member's session\n"
    )

    # a. A/R aging: the selector the dashboard calls, against the same SQL over psycopg.
    aging_ms = timed(lambda i: ar_aging(today=today), requests)

    conn.execute("SET jit = off")  # the same session settings as the selector's
    conn.execute("SET max_parallel_workers_per_gather = 0")

    def aging_floor(i: int) -> None:
        with conn.cursor() as cur:
            cur.execute(AGING_SQL, {"today": today})
            rows_to_json(cur)

    report(
        "A/R aging (billing.selectors.aging.ar_aging)",
        aging_ms,
        timed(aging_floor, requests),
        budget="p95 <= 200 ms",
    )
    connection.ensure_connection()
    runs = max(10, requests // 5)
    print(
        f"  database CPU per call, over {runs} calls (load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores): selector "
        f"{cpu_per_call(connection.connection.info.backend_pid, lambda i: ar_aging(today=today), runs)},"
        f" floor {cpu_per_call(conn.info.backend_pid, aging_floor, runs)}",
        flush=True,
    )

    # b. The dashboard page around it (aging, 12 months of collections, SVG charts).
    def page(path_of):
        def run(i: int) -> None:
            code, body = client.request("GET", path_of(i), cookie=cookie)
            assert code == 200, (code, body[:300])

        return run

    report(
        "GET /billing/dashboard/ (page)",
        timed(page(lambda i: "/billing/dashboard/"), requests // 2),
    )

    # c. The claims work list page, against its own query (first page of 50) over psycopg.
    def work_list_path(i: int) -> str:
        cleaned = filters[i % len(filters)]
        parts = [f"status={s}" for s in cleaned["status"]]
        if "payer" in cleaned:
            parts.append(f"payer={cleaned['payer']}")
        if "age" in cleaned:
            parts.append(f"age={cleaned['age']}")
        return "/billing/claims/?" + "&".join(parts)

    def work_list_floor(i: int) -> None:
        (ids_sql, ids_params), (rows_sql, rows_params) = statements[i % len(statements)]
        with conn.cursor() as cur:
            cur.execute(ids_sql, ids_params)
            cur.fetchall()
            cur.execute(rows_sql, rows_params)
            rows_to_json(cur)

    report(
        "GET /billing/claims/ (work list page, 50 rows)",
        timed(page(work_list_path), requests),
        timed(work_list_floor, requests),
    )
    connection.set_schema_to_public()


def _restore(claim_ids: list[int], since: datetime) -> None:
    """Put the exported (and paid) claims back the way the seed left them."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(
            "SELECT id FROM billing_remittance WHERE imported_at >= %s", [since]
        )
        remits = [r[0] for r in cur.fetchall()]
        if remits:
            cur.execute(
                "DELETE FROM billing_invoice WHERE claim_id = ANY(%s)", [claim_ids]
            )
            for table in ("billing_remittanceadjustment", "billing_remittanceline"):
                cur.execute(
                    f"DELETE FROM {table} WHERE remittance_claim_id IN (SELECT id FROM"
                    " billing_remittanceclaim WHERE remittance_id = ANY(%s))",
                    [remits],
                )
            cur.execute(
                "DELETE FROM billing_remittanceclaim WHERE remittance_id = ANY(%s)",
                [remits],
            )
            cur.execute("DELETE FROM billing_remittance WHERE id = ANY(%s)", [remits])
        cur.execute(
            "DELETE FROM billing_followup WHERE claim_id = ANY(%s)", [claim_ids]
        )
        cur.execute(
            "DELETE FROM billing_claimevent WHERE claim_id = ANY(%s) AND at >= %s",
            [claim_ids, since],
        )
        cur.execute(
            "UPDATE billing_claim SET status = 'ready', batch_id = NULL, submitted_at = NULL,"
            " adjudicated_at = NULL, payer_claim_number = '' WHERE id = ANY(%s)",
            [claim_ids],
        )
        cur.execute("DELETE FROM billing_exportbatch WHERE created_at >= %s", [since])
        cur.execute("DELETE FROM clinic_auditentry WHERE timestamp >= %s", [since])


def remittance_for(claims: list[Claim], trace: str) -> str:
    """An 835 paying each claim line by line (80% paid, CO-45, a PR-3 copay): one
    transaction per payer, the way each payer sends its own payment."""
    day = timezone.localdate(timezone=TZ).strftime("%Y%m%d")
    by_payer: dict[int, list[Claim]] = {}
    for claim in claims:
        by_payer.setdefault(claim.payer_id, []).append(claim)
    out = [
        f"ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*BENCH01        *{day[2:]}*1200*^*"
        "00501*000000777*0*T*:~",
        f"GS*HP*CLEARHOUSE*BENCH01*{day}*1200*777*X*005010X221A1~",
    ]
    for number, (_payer_id, group) in enumerate(sorted(by_payer.items()), start=1):
        payer = group[0].payer
        body, total = [], Decimal(0)
        for claim in group:
            lines = list(claim.lines.all())
            paid = [
                (line.charge * Decimal("0.8")).quantize(Decimal("0.01"))
                for line in lines
            ]
            claim_paid = sum(paid, Decimal(0))
            total += claim_paid
            copay = min(Decimal("10.00"), lines[0].charge - paid[0])
            body += [
                f"CLP*{claim.control_number}*1*{claim.total_charge}*{claim_paid}*{copay}*12*"
                f"P{claim.pk}*11*1~",
                "NM1*QC*1*PATIENT*BENCH****MI*MEMBER000000~",
            ]
            for i, (line, amount) in enumerate(zip(lines, paid, strict=True)):
                body += [
                    f"SVC*HC:{line.code}*{line.charge}*{amount}**1~",
                    f"DTM*472*{line.date_of_service:%Y%m%d}~",
                ]
                rest = line.charge - amount - (copay if i == 0 else 0)
                if rest:
                    body.append(f"CAS*CO*45*{rest}~")
                if i == 0 and copay:
                    body.append(f"CAS*PR*3*{copay}~")
                body.append(f"REF*6R*L{line.pk}~")
        head = [
            f"ST*835*{number:04d}~",
            f"BPR*I*{total}*C*ACH*CCP*01*011000015*DA*123456*1512345678**01*011000015*DA*"
            f"654321*{day}~",
            f"TRN*1*{trace}-{number}*1512345678~",
            f"N1*PR*{payer.name.upper()}~",
            "N3*1 INSURANCE WAY~",
            "N4*HARTFORD*CT*06101~",
            f"REF*2U*{payer.payer_id}~",
            "PER*BL*PROVIDER SERVICES*TE*8005550100~",
            "N1*PE*BENCH BILLING CLINIC*XX*" + npi(1) + "~",
            "LX*1~",
        ]
        out += head + body + [f"SE*{len(head) + len(body) + 1}*{number:04d}~"]
    out += [f"GE*{len(by_payer)}*777~", "IEA*1*000000777~"]
    return "\n".join(out) + "\n"


def measure_x12(clinic: Clinic, batch: int, *, with_import: bool = True) -> None:
    connection.set_tenant(clinic)
    actor = Membership.objects.select_related("user").get(
        user__email=BILLER_EMAIL, clinic=clinic
    )
    ids = list(
        Claim.objects.filter(status="ready")
        .order_by("id")
        .values_list("id", flat=True)[:batch]
    )
    since = timezone.now()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        export = claims_export_837(claims=ids, actor=actor)
        export_s, export_cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"\n837P export of {len(ids)} claims (claims_export_837, {export.validation})"
            f"{'':<4} {export_s:6.2f} s   [<= 10 s]   {len(export.content) / 1e6:.1f} MB"
            f"   (this process's CPU {export_cpu:.1f} s; load average {os.getloadavg()[0]:.1f})"
        )
        started = time.perf_counter()
        errors = pyx12_errors(export.content)
        print(
            f"  pyx12 x12n_document over the whole file (not part of the export): "
            f"{time.perf_counter() - started:.1f} s, {len(errors)} errors"
        )
        if not with_import:
            return
        claims = list(
            Claim.objects.filter(pk__in=ids)
            .select_related("payer")
            .prefetch_related("lines")
            .order_by("pk")
        )
        text = remittance_for(claims, f"BENCH{int(time.time())}")
        started, cpu = time.perf_counter(), time.process_time()
        result = remittance_import(content=text, actor=actor)
        import_s, import_cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"835 import of {len(claims)} claim payments (remittance_import, pyx12 validation"
            f" included) {import_s:6.2f} s   posted {result.posted}, unmatched {result.unmatched}"
            f"   (this process's CPU {import_cpu:.1f} s; load average {os.getloadavg()[0]:.1f})"
        )
        assert result.posted == len(claims), result
    finally:
        _restore(ids, since)
        # The seed's visibility map too (the export and the restore rewrote 5,000
        # claims), or the next run's index-only scans visit their pages.
        with connection.cursor() as cur:
            cur.execute(
                "VACUUM (ANALYZE) billing_claim, billing_remittanceclaim, billing_invoice"
            )
        connection.set_schema_to_public()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument(
        "--skip-x12", action="store_true", help="Only the page and aging figures."
    )
    parser.add_argument(
        "--skip-import",
        action="store_true",
        help="Time the 837P export but not the 835 import.",
    )
    args = parser.parse_args()
    clinic = ensure_clinic()
    connection.set_tenant(clinic)
    if not is_seeded(args.claims):
        if Claim.objects.exists():
            print(
                f"clinic '{SLUG}' holds a partial or smaller seed; provisioning it again"
            )
            connection.set_schema_to_public()
            with transaction.atomic():
                clinic.delete(force_drop=True)
            clinic = ensure_clinic()
            connection.set_tenant(clinic)
        seed(clinic, args.claims)
    else:
        print(f"clinic '{SLUG}' reused: {Claim.objects.count()} claims")
    connection.set_schema_to_public()
    measure_reads(clinic, args.requests)
    if not args.skip_x12:
        measure_x12(clinic, args.batch, with_import=not args.skip_import)


if __name__ == "__main__":
    main()
