"""Plumbing of bench/http.py: the servers it starts, wrk, HTTP sign-in, and the
PostgreSQL connections a process tree holds.

No Django here: bench/http.py hands in what it needs.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
LUA = Path(__file__).with_name("wrk_report.lua")


# --- Servers ------------------------------------------------------------------------


def web_command(port: int) -> str:
    """The `start web ...` line of the Makefile's RUN_SCRIPT, for 127.0.0.1:`port`.

    Read from the Makefile so the benchmark serves exactly what `make run` serves.
    """
    text = (ROOT / "Makefile").read_text()
    match = re.search(r"^start web (.+)$", text, re.MULTILINE)
    if match is None:
        raise SystemExit(
            "bench/http.py: no `start web ...` line in the Makefile's RUN_SCRIPT"
        )
    line = match.group(1)
    for make, shell in (("$(VENV)", ".venv"), ("$(PY)", ".venv/bin/python")):
        line = line.replace(make, shell)
    line = line.replace('"$$HOST"', "127.0.0.1").replace('"$$PORT"', str(port))
    return line.replace("$$", "$")


class Server:
    """A server process in its own session; stopping it stops its workers too."""

    def __init__(self, name: str, command: str, port: int, env: dict[str, str]) -> None:
        self.name, self.command, self.port = name, command, port
        self.log = tempfile.NamedTemporaryFile(
            prefix=f"bench-{name}-", suffix=".log", delete=False
        )
        self.proc = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited while starting:\n{self.tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(
            f"{self.name} did not listen on {self.port} in {timeout:.0f} s"
        )

    def pids(self) -> set[int]:
        """The server's process and all its descendants."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int(
                        (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                    )
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        found, todo = set(), [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.add(pid)
            todo.extend(children.get(pid, []))
        return found

    def tail(self, lines: int = 30) -> str:
        return "\n".join(
            Path(self.log.name).read_text(errors="replace").splitlines()[-lines:]
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def free_port(start: int = 8100, end: int = 8199) -> int:
    for port in range(start, end + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise SystemExit("no free port in 8100-8199")


# --- HTTP set-up: tokens and a staff session ----------------------------------------


def _http(
    port: int,
    method: str,
    host: str,
    path: str,
    body: bytes = b"",
    headers: dict | None = None,
) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
    response = conn.getresponse()
    data = response.read()
    cookies = {}
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            cookies[key] = rest.split(";", 1)[0]
    conn.close()
    return response.status, cookies, data


def get_json(port: int, host: str, path: str, header: str) -> tuple[int, object]:
    name, _, value = header.partition(": ")
    status, _, data = _http(
        port, "GET", host, path, headers={name: value} if name else {}
    )
    return status, json.loads(data) if data[:1] in (b"{", b"[") else data[:200]


def api_token(port: int, host: str, email: str, password: str) -> str:
    body = json.dumps({"email": email, "password": password}).encode()
    status, _, data = _http(
        port,
        "POST",
        host,
        "/api/v1/auth/token/",
        body,
        {"Content-Type": "application/json"},
    )
    if status != 200:
        raise SystemExit(f"token for {host} answered {status}: {data[:300]!r}")
    return json.loads(data)["access"]


def staff_session(port: int, host: str, email: str, password: str) -> str:
    """Sign in through the staff sign-in page, as a browser does; the Cookie header value."""
    status, cookies, page = _http(port, "GET", host, "/account/sign-in/")
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if status != 200 or match is None or "csrftoken" not in cookies:
        raise SystemExit(f"sign-in page of {host} answered {status}")
    form = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": match.group(1).decode(),
            "email": email,
            "password": password,
        }
    ).encode()
    status, more, _ = _http(
        port,
        "POST",
        host,
        "/account/sign-in/",
        form,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken']}",
        },
    )
    if status != 302 or "sessionid" not in more:
        raise SystemExit(f"signing in on {host} answered {status}")
    return f"csrftoken={cookies['csrftoken']}; sessionid={more['sessionid']}"


# --- wrk ----------------------------------------------------------------------------


def ensure_wrk() -> str:
    """Debian's wrk; installed with apt-get when missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit(
            "wrk is missing: run `sudo apt-get install -y wrk` and try again."
        )
    print(
        "wrk is missing; installing Debian's package: apt-get install -y wrk",
        flush=True,
    )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return shutil.which("wrk") or "wrk"


def wrk(
    port: int, lines: list[tuple[str, str, str]], connections: int, seconds: float
) -> dict:
    """Drive 127.0.0.1:`port` with one wrk thread; figures in ms and requests/s."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
        f.writelines(f"{host}\t{path}\t{header}\n" for host, path, header in lines)
    try:
        out = subprocess.run(
            [
                ensure_wrk(),
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                str(LUA),
                f"http://127.0.0.1:{port}",
            ],
            env={**os.environ, "WRK_REQUESTS": f.name},
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    finally:
        os.unlink(f.name)
    match = re.search(r"^WRK_JSON (.*)$", out.stdout, re.MULTILINE)
    if match is None:
        raise SystemExit(f"wrk gave no figures:\n{out.stdout}\n{out.stderr}")
    raw = json.loads(match.group(1))
    return {
        "p50": raw["p50_us"] / 1000,
        "p95": raw["p95_us"] / 1000,
        "p99": raw["p99_us"] / 1000,
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "requests": raw["requests"],
        "errors": raw["non2xx"] + raw["socket_errors"] + raw["timeouts"],
        "first_bad": raw["first_bad"],
    }


# --- PostgreSQL connections held by a process tree ------------------------------------


_monitor: dict[str, psycopg.Connection] = {}


def _client_ports(pids: set[int], pg_port: int = 5432) -> list[int]:
    """Local ports of the established PostgreSQL connections `pids` hold."""
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( dport = :{pg_port} )"],
        capture_output=True,
        text=True,
    ).stdout
    ports = []
    for line in out.splitlines():
        owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            ports.append(int(line.split()[2].rsplit(":", 1)[1]))
    return ports


def _monitor_connection(dsn: str) -> psycopg.Connection:
    if dsn not in _monitor:
        _monitor[dsn] = psycopg.connect(
            dsn, autocommit=True, application_name="bench-http"
        )
    return _monitor[dsn]


def backend_pids(dsn: str, pids: set[int]) -> set[int]:
    """The PostgreSQL backend processes serving the connections `pids` hold."""
    rows = (
        _monitor_connection(dsn)
        .execute(
            "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)"
            " AND backend_type = 'client backend'",
            (_client_ports(pids),),
        )
        .fetchall()
    )
    return {row[0] for row in rows}


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: set[int]) -> float:
    """User + system CPU time the processes `pids` have used so far (live ones)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


def pg_connections(dsn: str, pids: set[int], pg_port: int = 5432) -> tuple[int, int]:
    """(backends in pg_stat_activity whose client is one of `pids`, all client backends).

    The query runs on one connection opened at the first call and kept, so a
    server that exhausts PostgreSQL's clients is still measured.
    """
    ports = _client_ports(pids, pg_port)
    ours, total = (
        _monitor_connection(dsn)
        .execute(
            "SELECT count(*) FILTER (WHERE client_port = ANY(%s)), count(*)"
            " FROM pg_stat_activity WHERE backend_type = 'client backend'"
            " AND pid <> pg_backend_pid()",
            (ports,),
        )
        .fetchone()
    )
    return ours, total
