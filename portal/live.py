"""Live updates: the clinic's group and the one publisher every app calls.

An event is a small dict, `{"kind": "appointment" | "message" | "call" | ...,
"seq": n, ...}`, with ids and statuses only: pages fetch what they show with
their own access checks. `publish()` sends it once the surrounding transaction
commits, so a rolled-back write never lights up a screen.

Each clinic has, in Redis:

- `<prefix>:live:<schema>:seq`, a counter: every event gets the next number,
  so numbers increase without gaps per clinic;
- `<prefix>:live:<schema>:log`, a stream of the last `LIVE_BUFFER_EVENTS`
  events whose entry ids are `<seq>-0`: a socket that reconnects with
  `?since=<seq>` is sent what it missed from here (calls.consumers).

Numbering and buffering happen in one Lua script, so the stream is in seq
order even when several processes publish at once. The event, encoded once,
then goes to the clinic's channel-layer group, whose members are the server
processes' hubs (portal.live_hub), not each socket. A publish that fails
after the write committed (Redis down, a full group) is logged without PHI and
counted in `stats`, never raised: the write happened, and the page catches up
on its next reconnect.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Coroutine
from typing import Any

import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection, transaction

logger = logging.getLogger(__name__)

#: Per-process counts: "published", "failed" (tests and benchmarks read them).
stats: Counter[str] = Counter()

_NUMBER_AND_BUFFER = """
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], seq .. '-0', 'e', ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return seq
"""

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def clinic_group(schema_name: str) -> str:
    """The channel-layer group of one clinic's open pages."""
    return f"clinic.{schema_name}.events"


def seq_key(schema_name: str) -> str:
    return f"{settings.LIVE_KEY_PREFIX}:live:{schema_name}:seq"


def log_key(schema_name: str) -> str:
    return f"{settings.LIVE_KEY_PREFIX}:live:{schema_name}:log"


def redis_url() -> str:
    """The Redis of the channel layer: the buffer lives next to the groups."""
    host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    return host if isinstance(host, str) else host["address"]


def client() -> redis.Redis:
    """A (thread-safe, pooled) Redis client with short timeouts: a Redis that is
    down costs a publish about a second, not a hung request."""
    url = redis_url()
    with _clients_lock:
        found = _clients.get(url)
        if found is None:
            found = _clients[url] = redis.Redis.from_url(
                url,
                socket_connect_timeout=settings.LIVE_REDIS_TIMEOUT_SECONDS,
                socket_timeout=settings.LIVE_REDIS_TIMEOUT_SECONDS,
                decode_responses=True,
            )
        return found


def _forget_clients(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CHANNEL_LAYERS", "LIVE_REDIS_TIMEOUT_SECONDS"):
        with _clients_lock:
            _clients.clear()


setting_changed.connect(_forget_clients)


class _PublisherLoop:
    """One event loop per process, on a thread of its own, for group sends.

    async_to_sync from a request thread would start a new loop for every event,
    and channels-redis keeps its connections per loop: a new Redis connection
    per event. This loop keeps them. Recreated in a forked child (Celery).
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        threading.Thread(
            target=self.loop.run_forever, name="live-publisher", daemon=True
        ).start()


_loop: _PublisherLoop | None = None


def _on_publisher_loop(coroutine: Coroutine) -> None:
    """Run `coroutine` on the publisher loop and wait for it (bounded)."""
    global _loop
    with _clients_lock:
        if _loop is None or _loop.pid != os.getpid():
            _loop = _PublisherLoop()
        loop = _loop.loop
    future = asyncio.run_coroutine_threadsafe(coroutine, loop)
    try:
        future.result(timeout=settings.LIVE_REDIS_TIMEOUT_SECONDS * 5)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise


def publish(kind: str, payload: dict, *, schema_name: str | None = None) -> None:
    """Send `{"kind": kind, **payload}` to the clinic's open pages after commit.

    The clinic is the current schema unless `schema_name` names it (tasks and
    webhooks that left the request's schema).
    """
    schema = schema_name or connection.schema_name
    body = json.dumps({"kind": kind, **payload}, separators=(",", ":"))
    transaction.on_commit(lambda: send_now(schema, body, kind=kind))


def send_now(schema_name: str, body: str, *, kind: str = "") -> int | None:
    """Number, buffer and broadcast one event now; its seq, or None when it failed."""
    try:
        seq = int(
            client().eval(
                _NUMBER_AND_BUFFER,
                2,
                seq_key(schema_name),
                log_key(schema_name),
                body,
                settings.LIVE_BUFFER_EVENTS,
                settings.LIVE_BUFFER_SECONDS,
            )
        )
        layer = get_channel_layer()
        if layer is not None:
            # Encoded once here, not once per socket.
            message = {
                "type": "clinic.event",
                "schema": schema_name,
                "seq": seq,
                "text": with_seq(body, seq),
            }
            _on_publisher_loop(layer.group_send(clinic_group(schema_name), message))
    except Exception as exc:  # noqa: BLE001 - any broker trouble; the write stands
        stats["failed"] += 1
        # The kind and the error's class only: no payload, no patient.
        logger.warning(
            "live update of kind %s not published in %s: %s (%d failed so far)",
            kind or "?",
            schema_name,
            type(exc).__name__,
            stats["failed"],
        )
        return None
    stats["published"] += 1
    return seq


def with_seq(body: str, seq: int) -> str:
    """The event's JSON text with its seq (`body` is a JSON object without one)."""
    return f'{body[:-1]},"seq":{seq}}}' if body != "{}" else f'{{"seq":{seq}}}'


# --- Reading the buffer (the consumer's catch-up) ------------------------------------


def last_seq(schema_name: str) -> int:
    """The seq of the clinic's latest event (0 before the first)."""
    return int(client().get(seq_key(schema_name)) or 0)


def events_after(
    schema_name: str, since: int, upto: int | None = None
) -> list[dict] | None:
    """The buffered events with since < seq <= upto (all newer ones without upto),
    in order; None when the buffer no longer reaches back to since + 1."""
    top = last_seq(schema_name)
    end = top if upto is None else min(upto, top)
    if since > top:
        return None  # numbering restarted (Redis lost its data): start over
    if since >= end:
        return []
    entries = client().xrange(log_key(schema_name), f"{since + 1}-0", f"{end}-0")
    events = [
        {**json.loads(fields["e"]), "seq": int(eid.split("-")[0])}
        for eid, fields in entries
    ]
    if len(events) != end - since or events[0]["seq"] != since + 1:
        return None
    return events


# --- What the consumers had to repair -----------------------------------------------


def gaps_key(schema_name: str) -> str:
    return f"{settings.LIVE_KEY_PREFIX}:live:{schema_name}:gaps"


def gap_counts_add(schema_name: str, filled: int, late: int) -> None:
    """Add a closed socket's repairs: events read from the buffer because the
    layer had not delivered them in order (`filled`), and those of them that
    arrived later anyway (`late`); the difference is what the layer dropped."""
    try:
        pipe = client().pipeline()
        pipe.hincrby(gaps_key(schema_name), "filled", filled)
        pipe.hincrby(gaps_key(schema_name), "late", late)
        pipe.execute()
    except redis.RedisError as exc:
        logger.warning(
            "live gap counts of %s not stored: %s", schema_name, type(exc).__name__
        )


def gap_counts(schema_name: str) -> dict[str, int]:
    """{"filled", "late", "dropped"} summed over the clinic's closed sockets."""
    raw = client().hgetall(gaps_key(schema_name))
    filled, late = int(raw.get("filled", 0)), int(raw.get("late", 0))
    return {"filled": filled, "late": late, "dropped": filled - late}


def gap_counts_reset(schema_name: str) -> None:
    client().delete(gaps_key(schema_name))
