"""Reminders benchmark: 20,000 due reminders across 20 clinics dispatched to the carrier
simulator by one worker host, beside the simulator's own ceiling; and the claim query's
plan and time with 1,000,000 future reminders in the table.

Run from the repository root with the services up (``make services``):

    .venv/bin/python bench/reminders.py [--runs 1] [--step-delay 0.5] [--with-web]

It works in a database of its own (``portal_bench_reminders`` on the same
server, created and migrated on the first run) and a Redis database of its own
(``redis://127.0.0.1:6379/10``), so no other worker or beat ever touches its
clinics. What runs, each as ``make run`` starts it:

- the carrier simulator (``manage.py carrier_simulator``), its own process;
- one worker host: ``celery -A portal worker --concurrency 2``;
- with ``--with-web``, the web server (``python -m portal.serving``) receiving
  the simulator's signed status callbacks; without it the callbacks go to a
  closed port and fail at once (the carrier's load, not the portal's).

The dispatch is started the way beat starts it (``calls.tasks.reminders_dispatch_all``).
Messages per second run from the first claim (``Reminder.claimed_at``) to the
last send the carrier accepted (``Message.queued_at``). The ceiling is a plain
client (the same 2 processes x SMS_SEND_THREADS connections as the worker)
posting to the same simulator as fast as it accepts. Budgets: at least 300
messages/s; the claim under 20 ms and served by an index.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py would shadow the standard library's http package: the script's own
# folder leaves the path, the repository's root takes its place.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import base64  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlencode  # noqa: E402
from urllib.request import Request, urlopen  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument(
    "--database-url",
    default="postgres://postgres@127.0.0.1:5432/portal_bench_reminders",
)
parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
parser.add_argument("--runs", type=int, default=1)
parser.add_argument(
    "--step-delay", type=float, default=0.5, help="Simulator seconds between statuses."
)
parser.add_argument(
    "--with-web", action="store_true", help="Serve the status callbacks too."
)
parser.add_argument("--ceiling-messages", type=int, default=6000)
parser.add_argument("--claims", type=int, default=200)
ARGS = parser.parse_args()

os.environ["DATABASE_URL"] = ARGS.database_url
os.environ["REDIS_URL"] = ARGS.redis_url
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import psycopg  # noqa: E402


def ensure_database(url: str) -> None:
    """Create the benchmark's own database when it is missing (nothing else runs in it)."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


ensure_database(ARGS.database_url)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max, Min  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench._common import pct, report  # noqa: E402
from bench._reminders_seed import (  # noqa: E402
    CLINICS,
    FUTURE_REMINDERS,
    PER_CLINIC,
    clinic_number,
    ensure_clinics,
    ensure_future_reminders,
    migrate,
    patient_number,
    reset_run,
)
from calls.models import Message, Reminder  # noqa: E402
from calls.services.reminders import claim_query  # noqa: E402
from calls.tasks import reminders_dispatch_all  # noqa: E402
from portal.celery import app  # noqa: E402

PROCS: list[subprocess.Popen] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    log = open(ROOT / "var" / f"bench-reminders-{name}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    PROCS.append(process)
    return process


def wait_for(what: str, check, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def answers(url: str) -> bool:
    from urllib.error import HTTPError

    try:
        with urlopen(url, timeout=1):
            return True
    except HTTPError:
        return True  # it answers, even if not with 200
    except OSError:
        return False


def sim_call(base: str, path: str, **form: str) -> dict:
    data = urlencode(form).encode() if form or path != "/_sim/state" else None
    with urlopen(Request(base + path, data=data), timeout=30) as response:
        return json.loads(response.read())


def start_stack() -> tuple[str, dict[str, str]]:
    (ROOT / "var").mkdir(exist_ok=True)
    sim_port, web_port = free_port(), free_port()
    sim = f"http://127.0.0.1:{sim_port}"
    env = {
        **os.environ,
        "TWILIO_API_BASE": sim,
        "PORTAL_PUBLIC_URL": f"http://localhost:{web_port}",
        "PORTAL_DOMAIN": "localhost",
        "WEB_PROCESSES": "1",
    }
    spawn(
        "simulator",
        [
            sys.executable,
            "manage.py",
            "carrier_simulator",
            "--port",
            str(sim_port),
            "--step-delay",
            str(ARGS.step_delay),
            "--verbosity",
            "0",
        ],
        env,
    )
    wait_for("the simulator", lambda: answers(sim + "/_sim/state"))
    if ARGS.with_web:
        spawn(
            "web",
            [
                sys.executable,
                "-m",
                "portal.serving",
                "--host",
                "127.0.0.1",
                "--port",
                str(web_port),
            ],
            env,
        )
        wait_for(
            "the web server",
            lambda: answers(f"http://127.0.0.1:{web_port}/"),
            timeout=90,
        )
    app.control.purge()
    worker = spawn(
        "worker",
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "portal",
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "info",
            "-n",
            "bench-reminders@%h",
        ],
        env,
    )
    log = ROOT / "var" / "bench-reminders-worker.log"
    wait_for(
        "the worker",
        lambda: worker.poll() is None and " ready." in log.read_text(errors="replace"),
    )
    return sim, env


def stop_stack() -> None:
    for process in PROCS:
        try:
            os.killpg(process.pid, 15)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, 9)
            except ProcessLookupError:
                pass


def sent_count(clinics) -> int:
    total = 0
    for clinic in clinics:
        with schema_context(clinic.schema_name):
            total += Reminder.objects.filter(status="sent").count()
    return total


def dispatch_run(clinics, sim: str) -> dict:
    sim_call(sim, "/_sim/reset")
    due = reset_run(clinics, timezone.now())
    reminders_dispatch_all.delay()  # what beat does every minute
    wait_for(
        "every reminder to be sent", lambda: sent_count(clinics) >= due, timeout=900
    )
    first, last = None, None
    for clinic in clinics:
        with schema_context(clinic.schema_name):
            claim = Reminder.objects.filter(claimed_at__isnull=False).aggregate(
                m=Min("claimed_at")
            )["m"]
            accepted = Message.objects.aggregate(m=Max("queued_at"))["m"]
        first = min(x for x in (first, claim) if x) if claim else first
        last = max(x for x in (last, accepted) if x) if accepted else last
    state = sim_call(sim, "/_sim/state")
    seconds = (last - first).total_seconds()
    return {
        "due": due,
        "seconds": seconds,
        "rate": due / seconds,
        "accepted": state["accepted"],
    }


def _ceiling_worker(base: str, count: int, threads: int, queue) -> None:
    auth = (
        "Basic "
        + base64.b64encode(
            f"{settings.TWILIO_ACCOUNT_SID}:{settings.TWILIO_AUTH_TOKEN}".encode()
        ).decode()
    )
    host, port = base.rsplit("/", 1)[1].split(":")
    path = f"/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Messages.json"
    per_thread = count // threads
    errors = []

    def post(t: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        for i in range(per_thread):
            body = urlencode(
                {
                    "To": patient_number((t * per_thread + i) % 10000),
                    "From": clinic_number(99),
                    "Body": f"Ceiling {t}-{i}: a reminder of your visit tomorrow at 9:30 AM.",
                }
            )
            conn.request(
                "POST",
                path,
                body=body,
                headers={
                    "Authorization": auth,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            response = conn.getresponse()
            response.read()
            if response.status != 201:
                errors.append(response.status)
        conn.close()

    pool = [threading.Thread(target=post, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    queue.put((per_thread * threads, len(errors)))


def ceiling(sim: str) -> float:
    """The simulator's own rate: a plain client, as parallel as the worker host, posting flat out."""
    sim_call(sim, "/_sim/reset")
    processes, threads = 2, settings.SMS_SEND_THREADS
    queue = multiprocessing.get_context("fork").Queue()
    started = time.perf_counter()
    pool = [
        multiprocessing.get_context("fork").Process(
            target=_ceiling_worker,
            args=(sim, ARGS.ceiling_messages // processes, threads, queue),
        )
        for _ in range(processes)
    ]
    for process in pool:
        process.start()
    results = [queue.get() for _ in pool]
    for process in pool:
        process.join()
    seconds = time.perf_counter() - started
    sent, errors = sum(r[0] for r in results), sum(r[1] for r in results)
    if errors:
        print(f"  ceiling: {errors} posts were refused", flush=True)
    return sent / seconds


def claim_figures(clinic) -> None:
    with schema_context(clinic.schema_name):
        total = Reminder.objects.count()
        due = Reminder.objects.filter(
            status="planned", due_at__lte=timezone.now()
        ).count()
        print(
            f"claim query on {total:,} reminders in one clinic ({due:,} due, "
            f"{Reminder.objects.filter(due_at__gt=timezone.now()).count():,} future):",
            flush=True,
        )
        with transaction.atomic(), CaptureQueriesContext(connection) as captured:
            list(claim_query(now=timezone.now(), limit=settings.SMS_DISPATCH_BATCH))
            transaction.set_rollback(True)
        sql = captured.captured_queries[-1]["sql"]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = [row[0] for row in cursor.fetchall()]
            transaction.set_rollback(True)
        times = []
        for _ in range(ARGS.claims):
            with transaction.atomic():
                started = time.perf_counter()
                list(claim_query(now=timezone.now(), limit=settings.SMS_DISPATCH_BATCH))
                times.append((time.perf_counter() - started) * 1000)
                transaction.set_rollback(True)
    print("  " + sql, flush=True)
    for line in plan:
        print("    " + line, flush=True)
    by_index = any("calls_reminder_due" in line for line in plan) and not any(
        "Seq Scan" in line for line in plan
    )
    report(
        f"claim {settings.SMS_DISPATCH_BATCH} due rows, FOR UPDATE SKIP LOCKED",
        times,
        budget="< 20 ms",
    )
    ok = pct(times, 95) < 20 and by_index
    print(
        f"  served by the index calls_reminder_due, no sequential scan: {by_index}; "
        f"budget {'met' if ok else 'MISSED'}",
        flush=True,
    )


def main() -> None:
    import signal

    # Stopped from outside (Ctrl-C, timeout): the simulator and the worker stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(
        f"Reminders benchmark in {settings.DATABASES['default']['NAME']} (Redis {ARGS.redis_url})",
        flush=True,
    )
    migrate()
    clinics = ensure_clinics()
    ensure_future_reminders(clinics[0])
    reset_run(clinics, timezone.now())
    claim_figures(clinics[0])  # 1,000 due rows beside the 1,000,000 future ones
    try:
        sim, _ = start_stack()
        print(
            f"{CLINICS} clinics x {PER_CLINIC:,} due reminders; one worker host (celery --concurrency 2, "
            f"{settings.SMS_SEND_THREADS} send threads, batches of {settings.SMS_DISPATCH_BATCH}); "
            f"simulator step delay {ARGS.step_delay:g} s; status callbacks "
            f"{'served by the web server' if ARGS.with_web else 'to a closed port'}",
            flush=True,
        )
        rates = []
        for run in range(1, ARGS.runs + 1):
            result = dispatch_run(clinics, sim)
            rates.append(result["rate"])
            exact = (
                "exactly once"
                if result["accepted"] == result["due"]
                else "NOT exactly once"
            )
            print(
                f"run {run}: {result['due']:,} reminders from first claim to last accepted send in "
                f"{result['seconds']:.1f} s = {result['rate']:.0f} messages/s   [budget >= 300/s]; "
                f"the simulator accepted {result['accepted']:,} ({exact})",
                flush=True,
            )
        top = ceiling(sim)
        rate = statistics.median(rates)
        print(
            f"simulator ceiling (plain client, 2 processes x {settings.SMS_SEND_THREADS} connections): "
            f"{top:.0f} messages/s; dispatch at {rate / top:.0%} of it",
            flush=True,
        )
    finally:
        stop_stack()
    print(f"future reminders in the claim's table: {FUTURE_REMINDERS:,}", flush=True)


if __name__ == "__main__":
    main()
