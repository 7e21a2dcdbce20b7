"""Measurements of bench/scale.py that run outside Django's request cycle: the
migrate_schemas runs, the beat fan-out through a real worker, the web server's
requests, connections and memory.

Import after django.setup() (bench/scale.py sets the environment first).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from psycopg import sql

from bench._http import Server, pg_connections, wrk

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")


# --- Processes started the way `make run` starts them ---------------------------------


def makefile_command(name: str, **values: str) -> str:
    """The `start NAME ...` line of the Makefile's RUN_SCRIPT, variables filled in."""
    match = re.search(
        rf"^start {name} (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE
    )
    if match is None:
        raise SystemExit(f"bench/scale.py: no `start {name} ...` line in the Makefile")
    line = (
        match.group(1).replace("$(VENV)", ".venv").replace("$(PY)", ".venv/bin/python")
    )
    for key, value in values.items():
        line = line.replace(f'"$${key}"', value)
    return line.replace("$$", "$")


def process_memory_mb(pids: set[int]) -> tuple[float, float]:
    """(PSS, RSS) of the processes in MB: PSS shares pages between forked workers."""
    pss = rss = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        pss += int(re.search(r"^Pss:\s+(\d+)", text, re.MULTILINE).group(1))
        rss += int(re.search(r"^Rss:\s+(\d+)", text, re.MULTILINE).group(1))
    return pss / 1024, rss / 1024


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- migrate_schemas -----------------------------------------------------------------


def manage(args: list[str], env: dict[str, str], timeout: float = 7200) -> float:
    """Seconds `manage.py ARGS` took; its output is kept only when it fails."""
    started = time.perf_counter()
    done = subprocess.run(
        [PY, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"manage.py {' '.join(args)} failed:\n{done.stdout[-3000:]}"
            f"\n{done.stderr[-3000:]}"
        )
    return elapsed


def migrate_nothing(env: dict[str, str]) -> float:
    return manage(
        ["migrate_schemas", "--tenant", "--executor=multiprocessing", "--noinput"], env
    )


def migrate_trivial(env: dict[str, str], dsn: str, schemas: list[str]) -> float:
    """One new migration (bench.scale_app) applied to every clinic; undone after."""
    trivial = {
        **env,
        "DJANGO_SETTINGS_MODULE": "bench.scale_settings",
        "BENCH_SCALE_TRIVIAL": "1",
    }
    try:
        return manage(
            ["migrate_schemas", "--tenant", "--executor=multiprocessing", "--noinput"],
            trivial,
        )
    finally:
        undo = sql.SQL(
            "DO $$DECLARE s text; BEGIN FOREACH s IN ARRAY {}::text[] LOOP"
            " EXECUTE format('DROP TABLE IF EXISTS %I.scale_app_probe', s);"
            " EXECUTE format('DELETE FROM %I.django_migrations"
            " WHERE app = ''scale_app''', s);"
            " END LOOP; END$$"
        ).format(sql.Literal(schemas))
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(undo)


PLAIN_SAMPLE = """
import os, sys, time, django
django.setup()
from django.core.management import call_command
times = []
for schema in sys.argv[1:]:
    started = time.perf_counter()
    call_command("migrate_schemas", tenant=True, schema_name=schema,
                 executor="standard",
                 interactive=False, verbosity=0)
    times.append(time.perf_counter() - started)
print(sorted(times[1:])[len(times[1:]) // 2])
"""


def migrate_nothing_without_skip(env: dict[str, str], sample: list[str]) -> float:
    """Seconds django-tenants' own executor spends on one up-to-date clinic (median)."""
    plain = {
        **env,
        "DJANGO_SETTINGS_MODULE": "bench.scale_settings",
        "BENCH_SCALE_PLAIN_EXECUTOR": "1",
    }
    done = subprocess.run(
        [PY, "-c", PLAIN_SAMPLE, *sample],
        cwd=ROOT,
        env={**os.environ, **plain},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise SystemExit(f"plain migrate sample failed:\n{done.stderr[-3000:]}")
    return float(done.stdout.strip().splitlines()[-1])


# --- Beat fan-out through a real worker ----------------------------------------------


class FanOutProbe:
    """Counts the worker's task events, so the bench knows when every task is done."""

    def __init__(self, app) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.names: dict[str, str] = {}
        self.done: dict[str, float] = {}
        self.failed: list[str] = []
        self.receiver = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with self.app.connection_for_read() as conn:
            self.receiver = self.app.events.Receiver(conn, handlers={"*": self._event})
            self.receiver.capture(limit=None, timeout=None, wakeup=True)

    def _event(self, event: dict) -> None:
        with self.lock:
            if event["type"] == "task-received":
                self.names[event["uuid"]] = event["name"]
            elif event["type"] in ("task-succeeded", "task-failed"):
                # The worker's clock (same machine), not this thread's turn to run.
                self.done[event["uuid"]] = event.get("timestamp") or time.time()
                if event["type"] == "task-failed":
                    self.failed.append(event.get("exception", "?"))

    def measure(self, expected: int, timeout: float = 900) -> dict:
        """Send prune_audit_all as beat does; seconds until fanned out and all done."""
        with self.lock:
            self.names.clear()
            self.done.clear()
            self.failed.clear()
        started = time.time()
        parent = self.app.send_task("clinic.tasks.prune_audit_all").id
        fanned = finished = None
        while time.time() - started < timeout:
            with self.lock:
                children = [
                    u
                    for u, n in self.names.items()
                    if n == "clinic.tasks.prune_clinic_audit" and u in self.done
                ]
                if fanned is None and parent in self.done:
                    fanned = self.done[parent] - started
                if fanned is not None and len(children) >= expected:
                    finished = (
                        max(self.done[u] for u in children) - started if children else 0
                    )
                    break
            time.sleep(0.05)
        return {
            "fanout_s": fanned,
            "all_done_s": finished,
            "tasks": expected,
            "failed": len(self.failed),
        }

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.should_stop = True


def start_worker(env: dict[str, str]) -> Server:
    command = makefile_command("worker", CELERY_LOGLEVEL="warning")
    worker = Server("worker", command, 0, env)
    return worker


def wait_worker(app, worker: Server, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.proc.poll() is not None:
            raise SystemExit(f"the worker exited while starting:\n{worker.tail()}")
        if app.control.ping(timeout=1.0):
            app.control.enable_events()
            return
    raise SystemExit(f"the worker did not answer in {timeout:.0f} s:\n{worker.tail()}")


# --- HTTP -----------------------------------------------------------------------------


def p50(port: int, lines: list[tuple[str, str, str]], seconds: float) -> dict:
    result = wrk(port, lines, 1, seconds)
    if result["errors"]:
        raise SystemExit(f"non-2xx answers on {lines[0][:2]}: {result['first_bad']}")
    return result


def sweep(
    port: int,
    requests: list[tuple[str, str, str]],
    server: Server,
    dsn: str,
    threads: int = 4,
) -> dict:
    """One request to every clinic, `threads` at a time, sampling connections."""
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            samples.append(pg_connections(dsn, server.pids())[0])

    def one(line: tuple[str, str, str]) -> int:
        host, path, header = line
        name, _, value = header.partition(": ")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", path, headers={"Host": host, name: value})
        status = conn.getresponse().status
        conn.close()
        return status

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(one, requests))
    elapsed = time.perf_counter() - started
    samples.append(pg_connections(dsn, server.pids())[0])
    stop.set()
    sampler.join()
    bad = [s for s in statuses if s != 200]
    if bad:
        raise SystemExit(
            f"the sweep over every clinic got {len(bad)} answers other than 200:"
            f" {sorted(set(bad))}\n{server.tail()}"
        )
    return {
        "sweep_s": elapsed,
        "pg_during_max": max(samples, default=0),
        "pg_during_median": statistics.median(samples) if samples else 0,
    }


def renice(pids: set[int], level: int) -> None:
    """Set the nice level of every thread of `pids` (Linux nice is per thread)."""
    for pid in pids:
        try:
            tids = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
        except OSError:
            continue
        for tid in tids:
            try:
                os.setpriority(os.PRIO_PROCESS, tid, level)
            except OSError:
                pass


class BackendNice:
    """Renices the PostgreSQL backends serving the bench's databases (root only).

    The server is shared: while the bench grows clinics or migrates them, its
    backends run at nice 19 like the bench itself. Timed provisioning and
    requests run with them back at 0, so the figures are the code's, not the
    scheduler's.
    """

    def __init__(self, dsn: str, databases: list[str]) -> None:
        self.dsn, self.databases = dsn, databases
        self.level = 0
        self.wake = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def set(self, level: int) -> None:
        self.level = level
        self.wake.set()

    def _run(self) -> None:
        with psycopg.connect(
            self.dsn, autocommit=True, application_name="bench-scale-nice"
        ) as conn:
            while True:
                pids = [
                    pid
                    for (pid,) in conn.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s)"
                        " AND backend_type = 'client backend'",
                        [self.databases],
                    ).fetchall()
                ]
                for pid in pids:
                    try:
                        os.setpriority(os.PRIO_PROCESS, pid, self.level)
                    except OSError:
                        pass
                self.wake.wait(1.0)
                self.wake.clear()


def dump(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, default=str))


def note(text: str) -> None:
    print(text, flush=True, file=sys.stdout)
