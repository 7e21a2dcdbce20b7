"""Live-updates benchmark: status callbacks to every open socket of one clinic.

Run from the repository root with the services up (``make bench-live``):

    .venv/bin/python bench/live.py [--callbacks 1000] [--rate 10] [--clients 200,1000]
                                   [--idle 2000] [--hold 30] [--client-procs 2]

It starts the web server exactly as `make run` does (the Makefile's `start web`
line) on a free port in 8350-8399, provisions the clinic `bench-live` (reused
from run to run) with one text per callback, and takes an API access token of
the clinic (sockets offer it as the `portal-token` subprotocol, as a partner's
dashboard would). First the server's memory (RSS of all its processes) before
and after opening --idle idle sockets, held for --hold seconds, then one event
sent to all of them. Then 200 callbacks with one socket, to weigh the
webhook's own server CPU. Then, for each client count: that many sockets are opened
from --client-procs processes (asyncio and `websockets`), --callbacks signed
status callbacks are posted to the webhook at --rate per second (from 8
threads), and every socket's events are checked:

- latency from the moment a callback's request is sent to the moment each
  socket receives its event (p50, p95, max, over every socket and event);
- events lost per socket (every seq the clinic numbered during the run must
  arrive, once: must be 0), duplicates and out-of-order arrivals;
- what the consumers had to repair (portal.live.gap_counts): events the
  channel layer delivered out of order or dropped, filled from the buffer;
- the server's CPU per delivery, the webhook's own taken out: a figure that
  other load on the machine inflates far less than latency.

Budget: p95 <= 100 ms and 0 lost at 200 clients. Any loss, an idle socket
closed, or p95 over budget at the first client count, exits 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402

PORT = next(
    p
    for p in range(8350, 8400)
    if socket.socket().connect_ex(("127.0.0.1", p)) != 0  # nothing listens there
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_DOMAIN", "localhost")
os.environ["PORTAL_PUBLIC_URL"] = f"http://localhost:{PORT}"  # what callbacks sign

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from bench._common import pct  # noqa: E402
from bench._http import Server, _http, api_token, web_command  # noqa: E402
from bench._live_clients import Clients, server_cpu_seconds, server_rss_kb  # noqa: E402
from bench._live_seed import EMAIL, PASSWORD, SLUG, ensure_clinic, reset  # noqa: E402
from portal import live  # noqa: E402
from portal.links import clinic_url  # noqa: E402

BUDGET_P95_MS = 100.0


# ============================================================================
# The callback under test: Twilio's call status callback. Each target is a call
# session that is dialing; its callback ("in-progress", SequenceNumber 2) moves
# it forward once, and the webhook publishes one {"kind": "call", "id": ...}.
# ============================================================================
CALLBACK_PATH = "/twilio/voice/status/"
KEY_PATH = ["id"]  # where an event names its target


def callback(target: dict) -> tuple[str, dict[str, str], object]:
    """(path, form parameters, the key its event carries) of one status callback."""
    params = {
        "CallSid": target["sid"],
        "CallStatus": "in-progress",
        "SequenceNumber": "2",
        "To": target["to"],
        "AccountSid": settings.TWILIO_ACCOUNT_SID,
    }
    return f"{CALLBACK_PATH}?session={target['key']}", params, target["key"]


# ============================================================================


def signed_post(clinic, path: str, params: dict[str, str]) -> int:
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        clinic_url(clinic, path), params
    )
    status, _, _ = _http(
        PORT,
        "POST",
        f"{clinic.slug}.localhost:{PORT}",
        path,
        urllib.parse.urlencode(params).encode(),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    return status


def post_callbacks(
    clinic, targets: list[dict], rate: float, answers: list[float] | None = None
) -> tuple[dict, list[int]]:
    """Post one callback per target at `rate` per second; {key: send time}, statuses
    (and each answer's time in ms, into `answers`)."""
    t0: dict = {}
    statuses: list[int] = []
    answers = [] if answers is None else answers
    lock = threading.Lock()
    todo = iter(enumerate(targets))
    start = time.time() + 0.2

    def worker() -> None:
        while True:
            with lock:
                item = next(todo, None)
            if item is None:
                return
            i, target = item
            path, params, key = callback(target)
            time.sleep(max(0.0, start + i / rate - time.time()))
            sent = time.time()
            status = signed_post(clinic, path, params)
            answered = time.time()
            with lock:
                t0[key] = sent
                statuses.append(status)
                answers.append((answered - sent) * 1000)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return t0, statuses


def wait_for_quiet(schema: str, expected_top: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while live.last_seq(schema) < expected_top and time.monotonic() < deadline:
        time.sleep(0.2)
    return live.last_seq(schema)


def fanout_round(
    clinic, token, count, args, server: Server, callbacks: int | None = None
) -> dict:
    targets = reset(clinic, callbacks or args.callbacks)
    live.gap_counts_reset(clinic.schema_name)
    clients = Clients(
        clinic.slug, PORT, token, count, args.client_procs, args.compression, KEY_PATH
    )
    opened = sum(r["opened"] for r in clients.ready)
    before = live.last_seq(clinic.schema_name)
    started = time.monotonic()
    cpu_before = server_cpu_seconds(server)
    answers: list[float] = []
    t0, statuses = post_callbacks(clinic, targets, args.rate, answers)
    posting = time.monotonic() - started
    top = wait_for_quiet(clinic.schema_name, before + len(targets))
    waited = clients.wait_reached(top, opened, args.settle)
    cpu = server_cpu_seconds(server) - cpu_before
    results = clients.ask("collect", t0, before, top, KEY_PATH)
    clients.close()
    time.sleep(1)  # the consumers add their repair counts as they close
    latencies = [ms for r in results for ms in r["latencies"]]
    lost = [n for r in results for n in r["lost"]]
    row = {
        "clients": count,
        "opened": opened,
        "refused": sorted({c for r in clients.ready for c in r["refused"]}),
        "callbacks": len(targets),
        "answers_not_204": sum(1 for s in statuses if s != 204),
        "events_numbered": top - before,
        "posting_seconds": round(posting, 1),
        "drain_seconds_after_last_answer": round(waited, 1),
        "callback_answer_p50_ms": round(statistics.median(answers), 1),
        "callback_answer_p95_ms": round(pct(answers, 95), 1),
        "deliveries": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(pct(latencies, 95), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "server_cpu_seconds": round(cpu, 1),
        "server_cpu_ms_per_1000_deliveries": round(
            cpu * 1e6 / max(len(latencies), 1), 1
        ),
        "lost_total": sum(lost),
        "clients_with_loss": sum(1 for n in lost if n),
        "duplicates": sum(r["duplicates"] for r in results),
        "out_of_order": sum(r["out_of_order"] for r in results),
        "closed_early": sum(r["closed"] for r in results),
        "repairs": live.gap_counts(clinic.schema_name),
    }
    print(
        f"{count:>5} clients  {row['callbacks']} callbacks at {args.rate:g}/s "
        f"({row['answers_not_204']} not 204, {row['events_numbered']} events, "
        f"all delivered {row['drain_seconds_after_last_answer']} s after the last): "
        f"p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms  max {row['max_ms']} ms  "
        f"lost {row['lost_total']} ({row['clients_with_loss']} clients)  "
        f"webhook answered p50 {row['callback_answer_p50_ms']} "
        f"p95 {row['callback_answer_p95_ms']} ms  "
        f"dups {row['duplicates']}  repaired {row['repairs']}  server CPU "
        f"{row['server_cpu_seconds']} s ({row['server_cpu_ms_per_1000_deliveries']} ms "
        "per 1,000 deliveries)",
        flush=True,
    )
    return row


def idle_round(clinic, token, server, args) -> dict:
    rss_before = server_rss_kb(server)
    clients = Clients(
        clinic.slug,
        PORT,
        token,
        args.idle,
        args.client_procs,
        args.compression,
        KEY_PATH,
    )
    opened = sum(r["opened"] for r in clients.ready)
    time.sleep(2)
    rss_after = server_rss_kb(server)
    time.sleep(args.hold)
    still_open = sum(clients.ask("open"))
    before = live.last_seq(clinic.schema_name)
    targets = reset(clinic, 1)
    t0, statuses = post_callbacks(clinic, targets, 1)
    top = wait_for_quiet(clinic.schema_name, before + 1)
    clients.wait_reached(top, opened, args.settle)
    results = clients.ask("collect", t0, before, top, KEY_PATH)
    clients.close()
    got = sum(1 for r in results for n in r["lost"] if n == 0)
    row = {
        "idle_sockets": args.idle,
        "opened": opened,
        "still_open_after_hold": still_open,
        "hold_seconds": args.hold,
        "received_final_event": got,
        "rss_before_mb": round(rss_before / 1024, 1),
        "rss_after_mb": round(rss_after / 1024, 1),
        "kb_per_socket": round((rss_after - rss_before) / max(opened, 1), 1),
    }
    print(
        f"{args.idle} idle sockets: {opened} opened, {still_open} still open after "
        f"{args.hold:g} s, {got} got the final event; server RSS "
        f"{row['rss_before_mb']} -> {row['rss_after_mb']} MB "
        f"({row['kb_per_socket']} KB per socket)",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callbacks", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10, help="callbacks per second")
    parser.add_argument("--clients", default="200,1000", help="client counts, in order")
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument(
        "--hold", type=float, default=30, help="seconds the idle sockets are held"
    )
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument(
        "--no-compression",
        dest="compression",
        action="store_const",
        const=None,
        default="deflate",
        help="clients do not offer permessage-deflate (browsers do)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=120,
        help="seconds the last events may take to reach every socket",
    )
    args = parser.parse_args()

    clinic = ensure_clinic()
    server = Server("portal", web_command(PORT), PORT, {})
    rows, ok = [], True
    try:
        server.wait_ready()
        token = api_token(PORT, f"{clinic.slug}.localhost:{PORT}", EMAIL, PASSWORD)
        print(
            f"server: {web_command(PORT)}  (clinic {SLUG}, {os.cpu_count()} cores)",
            flush=True,
        )
        if args.idle:  # first, so the memory per socket is a fresh server's
            idle = idle_round(clinic, token, server, args)
            rows.append(idle)
            ok &= idle["still_open_after_hold"] == args.idle
        # The webhook's own CPU, with one socket: the fan-out's is the rest.
        calibration = fanout_round(clinic, token, 1, args, server, callbacks=200)
        per_callback = calibration["server_cpu_seconds"] / calibration["callbacks"]
        rows.append({"calibration": calibration, "cpu_ms_per_callback": per_callback})
        print(f"webhook alone: {per_callback * 1000:.1f} ms server CPU per callback")
        for n, count in enumerate(int(c) for c in args.clients.split(",") if c):
            row = fanout_round(clinic, token, count, args, server)
            fanout_cpu = row["server_cpu_seconds"] - per_callback * row["callbacks"]
            row["fanout_cpu_us_per_delivery"] = round(
                fanout_cpu * 1e6 / max(row["deliveries"], 1), 1
            )
            print(
                f"      fan-out: {row['fanout_cpu_us_per_delivery']} us server CPU "
                "per delivery (the webhook's CPU taken out)",
                flush=True,
            )
            rows.append(row)
            ok &= row["lost_total"] == 0 and row["answers_not_204"] == 0
            if n == 0 and (row["p95_ms"] is None or row["p95_ms"] > BUDGET_P95_MS):
                ok = False
    finally:
        server.stop()
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "live.json").write_text(json.dumps(rows, indent=2))
    print(f"figures in bench/results/live.json; {'OK' if ok else 'FAILED'}", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
