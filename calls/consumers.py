"""Live updates for staff pages and partners' dashboards, one group per clinic.

`/ws/events/[?since=<seq>]` on a clinic's host. Who may connect, and the close
codes of a refusal, are in portal.channels. Once in, the socket gets
`{"kind": "hello", "seq": n}` (the clinic's latest event as it joined), then
every event after `since` (or after n without it) in seq order, each exactly
once: the buffered ones it missed first, then live ones. When the buffer no
longer reaches back it gets `{"kind": "resync", "seq": n}` instead: the page
fetches everything again and carries on from n.

The channel layer may deliver events of two publishing processes out of order,
or drop one (a full queue): an event whose seq skips ahead makes the consumer
read the missing ones from the buffer first; later copies are ignored. How
many were filled, and how many of those arrived late anyway (the rest were
dropped), is added to the clinic's counters when the socket closes
(portal.live.gap_counts).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from portal import live
from portal.channels import (
    NOT_AUTHENTICATED,
    TOKEN_PROTOCOL,
    offered_token,
    socket_access,
)

REJOIN_SECONDS = 3600  # well inside the layer's group_expiry
_in_thread = sync_to_async(thread_sensitive=False)


def _since(scope: dict) -> int | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("since")
    if values and values[-1].isdigit() and len(values[-1]) < 19:
        return int(values[-1])
    return None


class ClinicEventsConsumer(AsyncJsonWebsocketConsumer):
    """Streams one clinic's events, in order and without gaps, to whom may see them."""

    group: str | None = None

    async def connect(self) -> None:
        subprotocol = TOKEN_PROTOCOL if offered_token(self.scope) is not None else None
        access = await socket_access(self.scope)
        if access.refused:
            await self.accept(subprotocol)
            await self.close(code=access.refused)
            return
        self.schema = self.scope["clinic"].schema_name
        self.filled: set[int] = set()  # filled from the buffer, not yet seen live
        self.filled_total = self.late = 0
        since = _since(self.scope)
        start = (
            since if since is not None else await _in_thread(live.last_seq)(self.schema)
        )
        # Joined before reading the buffer: nothing published from here on is lost.
        self.group = live.clinic_group(self.schema)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.joined = time.monotonic()
        await self.accept(subprotocol)
        missed = await _in_thread(live.events_after)(self.schema, start)
        if missed is None:
            self.last = await _in_thread(live.last_seq)(self.schema)
            await self.send_json({"kind": "resync", "seq": self.last})
        else:
            self.last = start
            await self.send_json({"kind": "hello", "seq": start})
            for event in missed:
                await self._deliver(event)
        if access.expires_at is not None:
            self.expiry = asyncio.create_task(self._close_at(access.expires_at))

    async def disconnect(self, code: int) -> None:
        expiry = getattr(self, "expiry", None)
        if expiry is not None:
            expiry.cancel()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            if self.filled_total:
                await _in_thread(live.gap_counts_add)(
                    self.schema, self.filled_total, self.late
                )

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        # Pages ping every half minute; an open socket rejoins its group hourly.
        if self.group and time.monotonic() - self.joined > REJOIN_SECONDS:
            await self.channel_layer.group_add(self.group, self.channel_name)
            self.joined = time.monotonic()

    async def clinic_event(self, message: dict) -> None:
        event = message["payload"]
        seq = event.get("seq")
        if not isinstance(seq, int):
            return
        if seq <= self.last:
            if seq in self.filled:  # came the long way round: reordered, not lost
                self.filled.discard(seq)
                self.late += 1
            return
        if seq > self.last + 1:
            missing = await _in_thread(live.events_after)(
                self.schema, self.last, seq - 1
            )
            if missing is None:
                await self.send_json({"kind": "resync", "seq": seq - 1})
                self.last = seq - 1
            else:
                if len(self.filled) > 10_000:  # never came: stop waiting for them
                    self.filled.clear()
                self.filled_total += len(missing)
                for earlier in missing:
                    self.filled.add(earlier["seq"])
                    await self._deliver(earlier)
        await self._deliver(event)

    async def _deliver(self, event: dict) -> None:
        await self.send_json(event)
        self.last = event["seq"]

    async def _close_at(self, when: datetime) -> None:
        """A token socket ends with its token; the partner reconnects with a new one."""
        await asyncio.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()))
        await self.close(code=NOT_AUTHENTICATED)
