"""WebSocket clients of bench/live.py: one process holds many sockets (asyncio and
the `websockets` package that uvicorn brings), records when each event
arrives, and answers the driver's commands over a pipe.

No Django here. `Clients` (the driver's side) starts the processes; the
server's memory and CPU are read from /proc. Commands (tuples) from the driver,
each answered once:

- ("collect", t0, lo, hi, key_path): per-socket loss and duplicates for seqs in
  (lo, hi], and latencies (arrival minus the callback's send time, t0 maps an
  event's key to it), in ms.
- ("reached", seq): how many sockets have received an event numbered seq or
  later.
- ("open",): how many sockets are still open.
- ("close",): close every socket and stop.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect


@dataclass
class Socket:
    ws: Any = None
    events: list[tuple[int, float, Any]] = field(default_factory=list)  # seq, at, key
    hello: int | None = None
    closed: bool = False
    refused: int | None = None


def _key(event: dict, path: list) -> Any:
    value: Any = event
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return None
    return value


async def _read(sock: Socket, path: list) -> None:
    try:
        async for raw in sock.ws:
            at = time.time()
            event = json.loads(raw)
            seq = event.get("seq")
            if event.get("kind") in ("hello", "resync"):
                sock.hello = seq
                continue
            sock.events.append((seq, at, _key(event, path)))
    except Exception:  # noqa: BLE001 - a dropped socket is counted, not raised
        pass
    finally:
        sock.closed = True
        code = getattr(sock.ws, "close_code", None)
        if code and code >= 4000:
            sock.refused = code


async def _open(spec: dict, sock: Socket, gate: asyncio.Semaphore) -> None:
    async with gate:
        for attempt in range(5):
            try:
                sock.ws = await connect(
                    f"ws://{spec['host']}/ws/events/",
                    host="127.0.0.1",
                    port=spec["port"],
                    subprotocols=["portal-token", spec["token"]],
                    ping_interval=None,
                    proxy=None,
                    compression=spec.get("compression", "deflate"),
                    open_timeout=60,
                    max_queue=None,
                )
                return
            except OSError:
                await asyncio.sleep(0.5 * (attempt + 1))


def _collect(sockets: list[Socket], t0: dict, lo: int, hi: int) -> dict:
    expected = hi - lo
    lost, dups, latencies, out_of_order = [], 0, [], 0
    for sock in sockets:
        seen: set[int] = set()
        previous = 0
        for seq, at, key in sock.events:
            if seq is None or not lo < seq <= hi:
                continue
            if seq in seen:
                dups += 1
                continue
            if seq < previous:
                out_of_order += 1
            previous = seq
            seen.add(seq)
            sent = t0.get(key)
            if sent is not None:
                latencies.append((at - sent) * 1000)
        lost.append(expected - len(seen))
        sock.events.clear()
    return {
        "lost": lost,
        "duplicates": dups,
        "out_of_order": out_of_order,
        "latencies": latencies,
        "closed": sum(s.closed for s in sockets),
        "refused": sorted({s.refused for s in sockets if s.refused}),
    }


async def _main(spec: dict, pipe) -> None:
    loop = asyncio.get_running_loop()
    sockets = [Socket() for _ in range(spec["count"])]
    gate = asyncio.Semaphore(spec.get("parallel", 25))
    await asyncio.gather(*(_open(spec, s, gate) for s in sockets))
    readers = [asyncio.create_task(_read(s, spec["key_path"])) for s in sockets if s.ws]
    # Every socket's hello (or refusal) before saying we are ready.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all(s.hello is not None or s.closed or s.ws is None for s in sockets):
            break
        await asyncio.sleep(0.05)
    pipe.send(
        {
            "opened": sum(1 for s in sockets if s.ws and not s.closed),
            "failed": sum(1 for s in sockets if s.ws is None),
            "refused": sorted({s.refused for s in sockets if s.refused}),
        }
    )
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command[0] == "collect":
            _, t0, lo, hi, _path = command
            pipe.send(_collect(sockets, t0, lo, hi))
        elif command[0] == "reached":
            top = command[1]
            pipe.send(
                sum(1 for s in sockets if s.ws and s.events and s.events[-1][0] >= top)
            )
        elif command[0] == "open":
            pipe.send(sum(1 for s in sockets if s.ws and not s.closed))
        elif command[0] == "close":
            await asyncio.gather(
                *(s.ws.close() for s in sockets if s.ws), return_exceptions=True
            )
            for task in readers:
                task.cancel()
            pipe.send("closed")
            return


def run(spec: dict, pipe) -> None:
    """Process entry point (a multiprocessing child)."""
    asyncio.run(_main(spec, pipe))


# --- The driver's side -----------------------------------------------------------


def server_rss_kb(server) -> int:
    total = 0
    for pid in server.pids():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def server_cpu_seconds(server) -> float:
    """User and system CPU time of the server's processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in server.pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


class Clients:
    """`count` sockets spread over `procs` processes."""

    def __init__(
        self,
        slug: str,
        port: int,
        token: str,
        count: int,
        procs: int,
        compression: str | None,
        key_path: list,
    ) -> None:
        # fork: the children use no Django; spawn would run this module again.
        ctx = multiprocessing.get_context("fork")
        self.pipes, self.procs = [], []
        for n in range(procs):
            share = count // procs + (1 if n < count % procs else 0)
            mine, theirs = ctx.Pipe()
            spec = {
                "host": f"{slug}.localhost:{port}",
                "port": port,
                "token": token,
                "count": share,
                "key_path": key_path,
                "compression": compression,
            }
            proc = ctx.Process(target=run, args=(spec, theirs), daemon=True)
            proc.start()
            self.pipes.append(mine)
            self.procs.append(proc)
        self.ready = [pipe.recv() for pipe in self.pipes]

    def ask(self, *command) -> list:
        for pipe in self.pipes:
            pipe.send(command)
        return [pipe.recv() for pipe in self.pipes]

    def wait_reached(self, top: int, sockets: int, timeout: float) -> float:
        """Until every socket has the event numbered `top` (at most `timeout`
        seconds); the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if sum(self.ask("reached", top)) >= sockets:
                break
            time.sleep(0.25)
        return time.monotonic() - started

    def close(self) -> None:
        self.ask("close")
        for proc in self.procs:
            proc.join(timeout=30)
