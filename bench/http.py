"""HTTP benchmark: the portal as `make run` serves it, against a minimal ASGI reference.

Run from the repository root with the services up (``make services``):

    .venv/bin/python bench/http.py [--seconds 8] [--rounds 3] [--soak 60]

It starts the web server exactly as `make run` does (the Makefile's `start web`
line, same settings) on a free port in 8100-8199, and beside it the reference in
bench/reference/ (Starlette, psycopg 3 pool, PyJWT; bench/requirements.txt):
per request, both verify the clinic-bound JWT, check the membership, fetch the
rows and write one access entry. Each route is driven over loopback by Debian's
wrk (one thread) at 1 and 8 connections, portal and reference alternating in
rounds. Then the staff pages (signed-in session), then a soak of every API
route for --soak seconds at 8 and at 64 connections while the PostgreSQL
connections the portal's processes hold are sampled from pg_stat_activity.

Any answer that is not 2xx, or more connections than the configured bound,
fails the run (exit 1). Figures are also written to bench/results/.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is bench/http.py: with bench/ first on sys.path it would shadow the
# standard library's `http` package. Put the repository root there instead.
ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import timedelta  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import patients as patients_bench  # noqa: E402  (sets Django up)
from bench._http import (  # noqa: E402
    Server,
    api_token,
    backend_pids,
    cpu_seconds,
    free_port,
    get_json,
    pg_connections,
    staff_session,
    web_command,
    wrk,
)
from bench._schedule_seed import ensure_clinic as ensure_schedule_clinic  # noqa: E402
from bench._schedule_seed import seed  # noqa: E402

EMAIL, PASSWORD = "bench-admin@bench.test", patients_bench.PASSWORD
SEARCHES = ["Jonh+Smiht", "garcai", "Maria+Lopez", "Wiliams", "Nguyen+Linh", "Thompsn"]
BUDGET_P50_C1, BUDGET_RPS_C8 = 2.0, 0.5
failures: list[str] = []


def dsn() -> str:
    db = settings.DATABASES["default"]
    return (
        f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} dbname={db['NAME']}"
        f" user={db['USER']}"
        + (f" password={db['PASSWORD']}" if db["PASSWORD"] else "")
    )


def prepare() -> dict:
    """Seed the two bench clinics if needed; the ids and dates the routes use."""
    clinic = patients_bench.ensure_clinic()
    patients_bench.seed(clinic, 100_000)
    connection.set_schema_to_public()
    schedule = seed(ensure_schedule_clinic(), patients=20_000)
    connection.set_schema_to_public()
    with connection.cursor() as cur:
        cur.execute(
            f'SELECT id FROM "{clinic.schema_name}".clinic_patient ORDER BY id LIMIT 200'
        )
        ids = [row[0] for row in cur.fetchall()]
    today = timezone.now().date()
    monday = today - timedelta(days=today.weekday())
    connection.close()  # the benchmark's own connection must not count
    domain = settings.PORTAL_DOMAIN
    return {
        "host": f"{clinic.slug}.{domain}",
        "schedule_host": f"{schedule.slug}.{domain}",
        "ids": ids,
        "monday": monday,
        "sunday": monday + timedelta(days=6),
        "today": today,
    }


def routes(ctx: dict, tokens: dict) -> dict[str, list[tuple[str, str, str]]]:
    auth = f"Authorization: Bearer {tokens['patients']}"
    sched = f"Authorization: Bearer {tokens['schedule']}"
    week = f"start={ctx['monday']}&end={ctx['sunday']}&page_size=50"
    return {
        "GET /api/v1/patients/ (50 rows)": [
            (ctx["host"], "/api/v1/patients/?page_size=50", auth)
        ],
        "GET /api/v1/patients/?q=<misspelled>": [
            (ctx["host"], f"/api/v1/patients/?q={q}&page_size=50", auth)
            for q in SEARCHES
        ],
        "GET /api/v1/appointments/ (a week, 50)": [
            (ctx["schedule_host"], f"/api/v1/appointments/?{week}", sched)
        ],
        "GET /api/v1/patients/{id}/": [
            (ctx["host"], f"/api/v1/patients/{pk}/", auth) for pk in ctx["ids"]
        ],
    }


def same_answers(portal: int, reference: int, table: dict) -> None:
    """Both servers answer each route's first request with the same rows."""
    for name, lines in table.items():
        host, path, header = lines[0]
        answers = [get_json(port, host, path, header) for port in (portal, reference)]
        for code, _ in answers:
            if code != 200:
                raise SystemExit(f"{name}: answered {code} before measuring: {answers}")
        ids = [
            [r["id"] for r in body["results"]] if "results" in body else [body["id"]]
            for _, body in answers
        ]
        if ids[0] != ids[1]:
            raise SystemExit(
                f"{name}: portal and reference disagree: {ids[0][:5]} / {ids[1][:5]}"
            )


def measure(
    server: Server, lines: list, conns: int, seconds: float, label: str
) -> dict:
    """One wrk run, with the CPU the server's processes and their PostgreSQL
    backends spent per request (ms): where a 2-core machine's time goes."""
    pids = server.pids()
    backends = backend_pids(dsn(), pids)
    app_before, pg_before = cpu_seconds(pids), cpu_seconds(backends)
    result = wrk(server.port, lines, conns, seconds)
    pids |= server.pids()
    backends |= backend_pids(dsn(), pids)
    requests = max(result["requests"], 1)
    result["cpu_app"] = (cpu_seconds(pids) - app_before) * 1000 / requests
    result["cpu_pg"] = (cpu_seconds(backends) - pg_before) * 1000 / requests
    if result["errors"]:
        failures.append(
            f"{label} at {conns}: {result['errors']} errors ({result['first_bad']})"
        )
        print(
            f"!!! {label} at {conns} connections: {result['errors']} non-2xx or socket errors:"
            f" {result['first_bad']}",
            flush=True,
        )
    return result


def combine(runs: list[dict]) -> dict:
    keys = ("p50", "p95", "rps", "cpu_app", "cpu_pg")
    return {k: statistics.median(r[k] for r in runs) for k in keys} | {
        "errors": sum(r["errors"] for r in runs)
    }


def compare(
    args, portal: Server, reference: Server, table: dict, results: dict
) -> None:
    for name, lines in table.items():
        for conns in args.conns or (1, 8):
            runs: dict[str, list[dict]] = {"portal": [], "reference": []}
            for rnd in range(args.rounds):
                order = [("portal", portal), ("reference", reference)]
                for label, server in order if rnd % 2 == 0 else order[::-1]:
                    runs[label].append(
                        measure(server, lines, conns, args.seconds, label)
                    )
            p, r = combine(runs["portal"]), combine(runs["reference"])
            row = {
                "portal": p,
                "reference": r,
                "ratio_p50": p["p50"] / r["p50"],
                "ratio_rps": p["rps"] / r["rps"],
            }
            results[f"{name} c={conns}"] = row
            verdict = ""
            if conns == 1:
                ok = row["ratio_p50"] <= BUDGET_P50_C1
                verdict = f"[p50 ratio <= {BUDGET_P50_C1:g}: {'ok' if ok else 'OVER'}]"
            else:
                ok = row["ratio_rps"] >= BUDGET_RPS_C8
                verdict = f"[rps ratio >= {BUDGET_RPS_C8:g}: {'ok' if ok else 'UNDER'}]"
            print(
                f"{name:<40} c={conns}  portal p50 {p['p50']:6.2f} p95 {p['p95']:6.2f} ms"
                f" {p['rps']:6.0f}/s | ref p50 {r['p50']:6.2f} p95 {r['p95']:6.2f} ms"
                f" {r['rps']:6.0f}/s | p50 x{row['ratio_p50']:.2f} rps x{row['ratio_rps']:.2f}"
                f"  {verdict} | cpu ms/req app+pg: portal {p['cpu_app']:.2f}+{p['cpu_pg']:.2f}"
                f" ref {r['cpu_app']:.2f}+{r['cpu_pg']:.2f}",
                flush=True,
            )


def staff_pages(args, portal: Server, ctx: dict, results: dict) -> None:
    cookie = {
        h: "Cookie: " + staff_session(portal.port, h, EMAIL, PASSWORD)
        for h in (ctx["host"], ctx["schedule_host"])
    }
    pages = {
        "staff GET /schedule/week/": [
            (
                ctx["schedule_host"],
                f"/schedule/week/?date={ctx['today']}",
                cookie[ctx["schedule_host"]],
            )
        ],
        "staff GET /patients/": [(ctx["host"], "/patients/", cookie[ctx["host"]])],
    }
    for name, lines in pages.items():
        for conns in (1, 8):
            runs = [
                measure(portal, lines, conns, args.seconds, name)
                for _ in range(args.rounds)
            ]
            row = combine(runs)
            results[f"{name} c={conns}"] = {"portal": row}
            print(
                f"{name:<40} c={conns}  portal p50 {row['p50']:6.2f} p95 {row['p95']:6.2f} ms"
                f" {row['rps']:6.0f}/s | cpu ms/req app+pg {row['cpu_app']:.2f}"
                f"+{row['cpu_pg']:.2f}",
                flush=True,
            )


def soak(args, portal: Server, table: dict, bound: int | None, results: dict) -> None:
    mixed = [line for lines in table.values() for line in lines[:6]]
    for conns in (8, 64):
        before = pg_connections(dsn(), portal.pids())[0]
        samples: list[int] = []
        stop = threading.Event()

        def sample(stop: threading.Event = stop, samples: list[int] = samples) -> None:
            while not stop.wait(1.0):
                samples.append(pg_connections(dsn(), portal.pids())[0])

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result = measure(portal, mixed, conns, args.soak, f"soak portal c={conns}")
        stop.set()
        sampler.join()
        time.sleep(2)
        after, total = pg_connections(dsn(), portal.pids())
        row = {
            **result,
            "pg_before": before,
            "pg_during_max": max(samples, default=before),
            "pg_during_median": statistics.median(samples) if samples else before,
            "pg_after": after,
            "pg_all_clients_after": total,
            "bound": bound,
        }
        results[f"soak c={conns}"] = row
        print(
            f"soak {args.soak:g} s, every API route, c={conns}: {result['requests']} requests,"
            f" {result['rps']:.0f}/s, p50 {result['p50']:.2f} p95 {result['p95']:.2f} ms,"
            f" errors {result['errors']} | pg connections before {before}, during max"
            f" {row['pg_during_max']} (median {row['pg_during_median']:g}), after {after}"
            f" (bound {bound if bound is not None else 'none configured'})",
            flush=True,
        )
        if bound is not None and row["pg_during_max"] > bound:
            failures.append(
                f"soak c={conns}: {row['pg_during_max']} connections > bound {bound}"
            )


def connection_bound() -> int | None:
    try:
        from portal.serving import connection_bound as bound
    except ImportError:
        return None
    return bound()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8, help="per wrk run")
    # Three rounds: a shared machine's speed drifts by tens of percent within
    # minutes, and the median of three alternations rides out one bad run.
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating runs per figure"
    )
    parser.add_argument("--soak", type=float, default=60, help="seconds at 8 and at 64")
    parser.add_argument("--ref-workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="measure only the API routes whose name holds this (repeatable)",
    )
    parser.add_argument(
        "--conns",
        type=int,
        action="append",
        choices=(1, 8),
        help="only these connection counts (1, 8; repeatable)",
    )
    parser.add_argument(
        "--skip-staff", action="store_true", help="leave out the staff pages"
    )
    args = parser.parse_args()

    # A TERM (a timeout, a kill) stops the servers too, through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ctx = prepare()
    pg_connections(
        dsn(), set()
    )  # open the monitoring connection while PostgreSQL has room
    port, ref_port = free_port(), None
    portal = Server("portal", web_command(port), port, {})
    ref_port = free_port(port + 1)
    reference = Server(
        "reference",
        f".venv/bin/uvicorn bench.reference.app:app --host 127.0.0.1 --port {ref_port}"
        f" --workers {args.ref_workers} --no-access-log --no-proxy-headers --log-level warning",
        ref_port,
        {"REF_DSN": dsn(), "REF_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"]},
    )
    results: dict = {"portal_command": portal.command, "cores": os.cpu_count()}
    try:
        portal.wait_ready()
        reference.wait_ready()
        time.sleep(1.5)  # let every worker process finish importing
        print(
            f"portal:    {portal.command}\nreference: {reference.command}\n", flush=True
        )

        tokens: dict = {"at": None}

        def fresh_table() -> dict:
            # Access tokens last JWT_ACCESS_MINUTES (15 by default), and sign-ins
            # per address are limited: a new pair every ten minutes.
            if tokens["at"] is None or time.monotonic() - tokens["at"] > 600:
                tokens.update(
                    at=time.monotonic(),
                    patients=api_token(port, ctx["host"], EMAIL, PASSWORD),
                    schedule=api_token(port, ctx["schedule_host"], EMAIL, PASSWORD),
                )
            return routes(ctx, tokens)

        table = fresh_table()
        same_answers(port, ref_port, table)
        for lines in table.values():  # warm both up: imports, caches, pools
            for server in (portal, reference):
                wrk(server.port, lines, 8, 2)
        results["pg_idle_after_warmup"] = pg_connections(dsn(), portal.pids())[0]
        print(
            f"wrk -t1, {args.seconds:g} s per run, {args.rounds} alternating rounds;"
            f" medians of the rounds\n",
            flush=True,
        )
        for name in list(table):
            if args.only and not any(part in name for part in args.only):
                continue
            compare(args, portal, reference, {name: fresh_table()[name]}, results)
        if not args.skip_staff:
            print()
            staff_pages(args, portal, ctx, results)
        if args.soak > 0:
            print()
            soak(args, portal, fresh_table(), connection_bound(), results)
    finally:
        portal.stop()
        reference.stop()
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"http-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nfigures written to {path.relative_to(ROOT)}")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        print(f"\nlast lines of the portal's log:\n{portal.tail()}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
