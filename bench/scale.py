"""Many clinics: grow a database of its own to 1,000 clinics and watch what grows.

    nice -n 19 .venv/bin/python bench/scale.py [--target 1000] [--steps N]

The bench creates its database (never the development database) and a 10-clinic
reference database beside it, migrates both as `make migrate` does, and grows
the big one through `portal.services.clinic_provision` to 10 clinics, then in
steps of 100. A second run continues where the last one stopped (`--steps N`
does N steps and stops). At each step it prints, and keeps in
bench/results/scale-<db>.json with the curves in scale-<db>.svg beside it:

- provisioning one more clinic (p50 of 4, the schema part, one with a new admin
  account), and every few steps the migration path and django-tenants'
  clone_schema (both rolled back);
- migrate_schemas with nothing to apply (and django-tenants' executor without
  skipping, estimated from a sample) and with one trivial new migration
  (bench/scale_app, undone afterwards);
- beat's fan-out of prune_audit_all through a real worker until every
  clinic's task is done;
- the staff patients page and the patients API on one clinic (p50, wrk, one
  connection) against the same requests on the 10-clinic database, both served
  by the Makefile's `start web` command;
- the web server's PostgreSQL connections and memory after one API request
  to every clinic.

The budgets of issue 13 are checked and printed at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # bench/http.py would shadow the standard library's http

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import psycopg  # noqa: E402

DEV_DATABASE = "portal"
BUDGETS = {
    "provision_s": 1.0,
    "migrate_nothing_s": 60.0,
    "migrate_trivial_s": 600.0,
    "fanout_s": 60.0,
    "latency_ratio": 1.2,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", default="portal_scale", help="database of its own (created)"
    )
    parser.add_argument(
        "--ref-db", default="portal_scale10", help="the 10-clinic reference"
    )
    parser.add_argument("--target", type=int, default=1000)
    parser.add_argument("--step", type=int, default=100)
    parser.add_argument(
        "--steps", type=int, default=0, help="stop after N steps (0: all)"
    )
    parser.add_argument(
        "--slow-every",
        type=int,
        default=3,
        help="migration path and clone_schema every N steps (and first, last)",
    )
    parser.add_argument("--clone-function-cap", type=int, default=300, help="seconds")
    parser.add_argument("--seconds", type=float, default=3, help="per wrk run")
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating wrk runs per server"
    )
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--grow-only", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


def database_url(name: str) -> str:
    base = urlsplit(
        os.environ.get(
            "DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DEV_DATABASE}"
        )
    )
    return urlunsplit(base._replace(path=f"/{name}"))


def configure(args: argparse.Namespace) -> dict[str, str]:
    """The environment of this process and of the servers and commands it starts."""
    if DEV_DATABASE in (args.db, args.ref_db):
        raise SystemExit("bench/scale.py never grows the development database")
    redis = f"redis://127.0.0.1:6379/{args.redis_db}"
    env = {
        "DATABASE_URL": database_url(args.db),
        "REDIS_URL": redis,
        "CELERY_BROKER_URL": redis,
        "CACHE_KEY_PREFIX": f"scale-{args.db}",
        "PORTAL_DOMAIN": "localhost",
        "AUTH_ATTEMPTS_PER_ADDRESS": "100000/m",
        "AUTH_FAILURES_PER_ADDRESS": "100000/m",
        "JWT_ACCESS_MINUTES": "120",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    os.environ.update(env)
    for name in (args.db, args.ref_db):
        with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [name]
            ).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
                print(f"created database {name}", flush=True)
    return env


ARGS = parse_args()
ENV = configure(ARGS)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import get_tenant_base_schema  # noqa: E402

from bench import _scale_measure as m  # noqa: E402
from bench._http import Server, free_port, web_command  # noqa: E402
from bench._scale_steps import (  # noqa: E402
    Run,
    clinics,
    database_figures,
    full_speed,
    grow,
    measure_http,
    measure_provisioning,
    prepare,
    rolled_back,
)
from bench._scale_svg import write_svg  # noqa: E402
from portal.celery import app  # noqa: E402
from portal.schema_catalog import differences, snapshot  # noqa: E402
from portal.schema_clone import template_refresh  # noqa: E402

DSN = ENV["DATABASE_URL"]
NICE = m.BackendNice(database_url("postgres"), [ARGS.db, ARGS.ref_db])
RUN = Run(ENV, DSN, NICE, ARGS.seconds, ARGS.rounds)


def step(
    n: int, index: int, last: bool, ref: Server, worker: Server, probe: m.FanOutProbe
) -> dict:
    row: dict = {
        "clinics": n,
        "at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "budget": BUDGETS,
    }
    phase(f"growing to {n - 8} clinics (nice 19)")
    row["grow_per_s"] = grow(n - 8)
    phase("provisioning 8 clinics")
    with full_speed(RUN):
        row["provision"] = measure_provisioning(n)
    schemas = clinics()
    row["catalog_same_as_template"] = not differences(
        snapshot(get_tenant_base_schema()), snapshot(schemas[-1])
    )
    if index % ARGS.slow_every == 0 or last:
        phase("migration path and django-tenants' clone_schema (rolled back)")
        with full_speed(RUN):
            row["migration_path_s"] = rolled_back(
                n, TENANT_CREATION_FAKES_MIGRATIONS=False
            )
            row["function_clone_s"] = rolled_back(
                n, ARGS.clone_function_cap, CLINIC_CLONE_METHOD="function"
            )
    connection.close()
    all_schemas = [get_tenant_base_schema(), *schemas]
    # Untimed: a migration someone added since the last step is applied first.
    m.migrate_nothing(ENV)
    phase("migrate_schemas: nothing to apply, no skip (sample), one trivial migration")
    with full_speed(RUN):
        row["migrate"] = {
            "nothing_s": m.migrate_nothing(ENV),
            "no_skip_per_clinic_s": m.migrate_nothing_without_skip(ENV, schemas[-6:]),
            "trivial_s": m.migrate_trivial(ENV, DSN, all_schemas),
        }
    row["migrate"]["no_skip_est_s"] = (
        row["migrate"]["no_skip_per_clinic_s"]
        * len(all_schemas)
        / settings.TENANT_MULTIPROCESSING_MAX_PROCESSES
    )
    phase("dumping the template again (the migration's undo made the cache stale)")
    with full_speed(RUN):
        started = time.perf_counter()
        template_refresh()
        row["migrate"]["template_dump_s"] = time.perf_counter() - started
    phase("beat fan-out")
    with full_speed(RUN, worker):
        row["fanout"] = probe.measure(len(schemas))
    phase("requests, sweep of every clinic, connections, memory")
    with full_speed(RUN, ref):
        row.update(measure_http(RUN, ref))
    row.update(database_figures())
    return row


def phase(text: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {text}", flush=True)


def report(row: dict) -> None:
    """One block of lines per step."""
    p, mg, f, h, pg = (row[k] for k in ("provision", "migrate", "fanout", "http", "pg"))
    nan = float("nan")
    slow = ""
    if "migration_path_s" in row:
        fc = row["function_clone_s"]
        cap = f"> {ARGS.clone_function_cap} s"
        slow = (
            f"\n           migration path {row['migration_path_s']:.1f} s,"
            f" django-tenants clone_schema {cap if fc is None else f'{fc:.1f} s'}"
        )
    lines = [
        f"\n== {row['clinics']} clinics ({row['at']}, grew {row['grow_per_s']:.1f}/s)",
        f"provision  p50 {p['p50_s']:.2f} s, min {p['min_s']:.2f} s, schema part"
        f" {p['schema_p50_s']:.2f} s; CPU {p['cpu_p50_s']:.2f} s (bench"
        f" {p['cpu_bench_p50_s']:.2f} + PostgreSQL {p['cpu_postgres_p50_s']:.2f});"
        f" new admin {p['new_admin_s']:.2f} s{slow}",
        f"           catalog of the newest clinic = template's:"
        f" {row['catalog_same_as_template']}",
        f"migrate    nothing to apply {mg['nothing_s']:.1f} s (without skipping, est."
        f" {mg['no_skip_est_s']:.0f} s at {mg['no_skip_per_clinic_s']:.2f} s/clinic);"
        f" one trivial migration {mg['trivial_s']:.1f} s; the template's pg_dump"
        f" {mg['template_dump_s']:.1f} s",
        f"fan-out    {f['tasks']} tasks: sent {f['fanout_s'] or nan:.2f} s, all done"
        f" {f['all_done_s'] or nan:.1f} s, failed {f['failed']}",
        *(
            f"{route:<10} p50 {h[route]['p50']:.1f} ms, 10-clinic database"
            f" {h[route]['ref_p50']:.1f} ms, ratio x{h[route]['ratio']:.2f}"
            for route in ("page", "api")
        ),
        f"server     pg connections max {pg['max_during']}, held {pg['held_after']}"
        f" (bound {pg['bound']}); memory PSS {row['memory']['pss_mb']:.0f} MB, RSS"
        f" {row['memory']['rss_mb']:.0f} MB; one request to every clinic"
        f" {row['sweep']['sweep_s']:.1f} s",
        f"database   {row['db_size_mb']:.0f} MB, {row['pg_class_rows']} pg_class rows",
    ]
    print("\n".join(lines), flush=True)


def budgets(rows: list[dict]) -> list[str]:
    """Issue 13's budgets, checked on the steps so far."""
    last, first = rows[-1], rows[0]
    checks = []
    for key, what in (("p50_s", "wall"), ("cpu_p50_s", "CPU, bench + PostgreSQL")):
        v = [r["provision"][key] for r in rows]
        checks.append(
            (
                f"provisioning p50 ({what}) <= 1 s at every step (max {max(v):.2f} s)"
                f" and flat ({first['clinics']}: {v[0]:.2f} s, {last['clinics']}:"
                f" {v[-1]:.2f} s)",
                max(v) <= BUDGETS["provision_s"] and v[-1] <= 1.5 * v[0] + 0.1,
            )
        )
    mg, done = last["migrate"], last["fanout"]["all_done_s"]
    checks += [
        (
            f"migrate, nothing to apply: {mg['nothing_s']:.1f} s < 60 s",
            mg["nothing_s"] < BUDGETS["migrate_nothing_s"],
        ),
        (
            f"one trivial migration: {mg['trivial_s']:.0f} s < 600 s",
            mg["trivial_s"] < BUDGETS["migrate_trivial_s"],
        ),
        (
            f"fan-out, all done: {done or float('nan'):.1f} s < 60 s",
            (done or 1e9) < BUDGETS["fanout_s"],
        ),
    ]
    for route in ("page", "api"):
        ratio = last["http"][route]["ratio"]
        checks.append(
            (
                f"{route} p50 x{ratio:.2f} of the 10-clinic database <= 1.2",
                ratio <= BUDGETS["latency_ratio"],
            )
        )
    worst, bound = max(r["pg"]["max_during"] for r in rows), last["pg"]["bound"]
    checks.append(
        (
            f"web server connections, most at any step: {worst} <= bound {bound}",
            worst <= bound,
        )
    )
    return [f"[{'ok' if ok else 'OVER'}] {text}" for text, ok in checks]


def main() -> None:
    NICE.set(19)
    prepare(RUN)
    if ARGS.grow_only:
        grow(ARGS.grow_only)
        return
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--db",
            ARGS.ref_db,
            "--ref-db",
            ARGS.db,
            "--grow-only",
            "10",
            "--redis-db",
            str(ARGS.redis_db),
        ],
        check=True,
    )
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    results_path = out_dir / f"scale-{ARGS.db}.json"
    results = (
        json.loads(results_path.read_text()) if results_path.exists() else {"steps": []}
    )
    done = {r["clinics"] for r in results["steps"]}
    plan = sorted({10, *range(ARGS.step, ARGS.target + 1, ARGS.step)} - done)
    have = len(clinics())
    plan = [
        n for n in plan if n >= have + 8
    ]  # a step whose clinics exist is passed over
    if ARGS.steps:
        plan = plan[: ARGS.steps]
    print(f"{have} clinics in {ARGS.db}; steps to do: {plan or 'none'}", flush=True)
    ref_port = free_port(8200, 8299)
    ref = Server(
        "web-10",
        web_command(ref_port),
        ref_port,
        {
            "DATABASE_URL": database_url(ARGS.ref_db),
            "CACHE_KEY_PREFIX": f"scale-{ARGS.ref_db}",
            "REDIS_URL": f"redis://127.0.0.1:6379/{ARGS.redis_db + 1}",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{ARGS.redis_db + 1}",
        },
    )
    worker = m.start_worker({})
    probe = None
    try:
        ref.wait_ready(180)
        m.wait_worker(app, worker)
        app.control.purge()
        probe = m.FanOutProbe(app)
        time.sleep(1)
        for n in plan:
            index = len(results["steps"])
            results["steps"].append(
                step(n, index, n == ARGS.target, ref, worker, probe)
            )
            report(results["steps"][-1])
            m.dump(results_path, results)
            write_svg(
                results_path.with_suffix(".svg"),
                results["steps"],
                f"{os.cpu_count()} cores; PostgreSQL {connection.pg_version // 10000};"
                f" database {ARGS.db}; {time.strftime('%Y-%m-%d')}",
            )
    finally:
        if probe:
            probe.stop()
        worker.stop()
        ref.stop()
    if results["steps"]:
        print(
            f"\nfigures: {results_path.relative_to(ROOT)}, curves:"
            f" {results_path.with_suffix('.svg').relative_to(ROOT)}\nbudgets at"
            f" {results['steps'][-1]['clinics']} clinics:\n  "
            + "\n  ".join(budgets(results["steps"]))
        )


if __name__ == "__main__":
    main()
