"""Live updates for staff pages and partners' dashboards, one group per clinic.

`/ws/events/[?since=<seq>]` on a clinic's host. Who may connect, and the close
codes of a refusal, are in portal.channels. Once in, the socket gets
`{"kind": "hello", "seq": n}` (the clinic's latest event as it joined, or
`since`), then every event after n in seq order, each exactly once: the
buffered ones it missed first, then live ones. When the buffer no longer
reaches back it gets `{"kind": "resync", "seq": n}` instead: the page fetches
everything again and carries on from n.

Events come from the process's hub (portal.live_hub: one channel-layer member
per process and clinic), already encoded. The layer may deliver two
publishers' events out of order, or drop one: an event whose seq skips ahead
is held back for a moment (REORDER_WAIT_SECONDS) while the missing ones may
still come, then they are read from the buffer and sent first; later copies
are ignored. How many were filled, and how many of those arrived late anyway
(the rest were dropped), is added to the clinic's counters when the socket
closes (portal.live.gap_counts). A socket that falls more than MAX_PENDING
events behind is closed with 1013 and reconnects with `since`.

A "notification" event (a member's unread count) reaches only that member's
sockets; the others skip its seq, which the page's client takes in its stride.
"""

from __future__ import annotations

import asyncio
import json
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
from portal.live_hub import hub

REORDER_WAIT_SECONDS = 0.25  # before a gap is filled from the buffer
MAX_PENDING = 1000  # events held for one socket before it is told to reconnect
TRY_AGAIN_LATER = 1013
_in_thread = sync_to_async(thread_sensitive=False)


def _since(scope: dict) -> int | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("since")
    if values and values[-1].isdigit() and len(values[-1]) < 19:
        return int(values[-1])
    return None


class ClinicEventsConsumer(AsyncJsonWebsocketConsumer):
    """Streams one clinic's events, in order and without gaps, to whom may see them."""

    # No channel of its own per socket: events come through the process's hub.
    channel_layer_alias = "no-channel-per-socket"
    schema: str | None = None

    async def connect(self) -> None:
        subprotocol = TOKEN_PROTOCOL if offered_token(self.scope) is not None else None
        access = await socket_access(self.scope)
        if access.refused:
            await self.accept(subprotocol)
            await self.close(code=access.refused)
            return
        schema = self.scope["clinic"].schema_name
        self.membership_id = access.membership_id
        self.filled: set[int] = set()  # filled from the buffer, not yet seen live
        self.filled_total = self.late = 0
        self.pending: dict[int, str] = {}  # seq -> text, not sent yet
        self.lock = asyncio.Lock()
        self.ready = self.flushing = False
        self.waiter: asyncio.Task | None = None
        since = _since(self.scope)
        self.last = (
            since if since is not None else await _in_thread(live.last_seq)(schema)
        )
        # Joined before reading the buffer: nothing published from here on is lost.
        await hub().join(schema, self)
        self.schema = schema
        await self.accept(subprotocol)
        async with self.lock:
            missed = await _in_thread(live.events_after)(schema, self.last)
            if missed is None:
                self.last = await _in_thread(live.last_seq)(schema)
                await self.send_json({"kind": "resync", "seq": self.last})
            else:
                await self.send_json({"kind": "hello", "seq": self.last})
                for event in missed:
                    await self._deliver(event)
            self.ready = True
            await self._deliver_pending()
        if access.expires_at is not None:
            self.expiry = asyncio.create_task(self._close_at(access.expires_at))

    async def disconnect(self, code: int) -> None:
        for task in (getattr(self, "expiry", None), getattr(self, "waiter", None)):
            if task is not None:
                task.cancel()
        if self.schema:
            await hub().leave(self.schema, self)
            if self.filled_total:
                await _in_thread(live.gap_counts_add)(
                    self.schema, self.filled_total, self.late
                )

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        """Pages ping every half minute (keeps proxies from closing the socket)."""

    def offer(self, message: dict) -> None:
        """From the hub: an event of this clinic (sent from a task of its own)."""
        seq = message["seq"]
        if seq <= self.last:
            if seq in self.filled:  # came the long way round: reordered
                self.filled.discard(seq)
                self.late += 1
            return
        self.pending[seq] = message["text"]
        if len(self.pending) > MAX_PENDING:
            self.pending.clear()
            asyncio.create_task(self.close(code=TRY_AGAIN_LATER))
        elif self.ready and not self.flushing:
            self.flushing = True
            asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        try:
            async with self.lock:
                await self._deliver_pending()
        finally:
            self.flushing = False

    async def _deliver_pending(self) -> None:
        """Send what follows on from the last seq sent; wait for any gap."""
        while self.pending:
            while self.last + 1 in self.pending:
                self.last += 1
                text = self.pending.pop(self.last)
                if self._for_me(text):
                    await self.send(text_data=text)
            stale = [seq for seq in self.pending if seq <= self.last]
            for seq in stale:  # came while the gap was being filled from the buffer
                del self.pending[seq]
                if seq in self.filled:
                    self.filled.discard(seq)
                    self.late += 1
            if not stale:
                break
        if self.pending and self.waiter is None:
            self.waiter = asyncio.create_task(self._fill_gap())

    async def _fill_gap(self) -> None:
        """An event skipped ahead: wait a moment for the missing ones (two
        publishers' events crossing), then read what is still missing from the
        buffer, so one late message does not cost every socket a Redis read."""
        while self.pending:
            await asyncio.sleep(REORDER_WAIT_SECONDS)
            async with self.lock:
                if self.pending and min(self.pending) > self.last + 1:
                    await self._fill(min(self.pending) - 1)
                self.waiter = None  # _deliver_pending starts another if needed
                await self._deliver_pending()
                if self.waiter is not None:
                    return

    async def _fill(self, upto: int) -> None:
        missing = await _in_thread(live.events_after)(self.schema, self.last, upto)
        if missing is None:
            await self.send_json({"kind": "resync", "seq": upto})
            self.last = upto
            return
        if len(self.filled) > 10_000:  # never came: stop waiting for them
            self.filled.clear()
        self.filled_total += len(missing)
        for event in missing:
            self.filled.add(event["seq"])
            await self._deliver(event)

    async def _deliver(self, event: dict) -> None:
        if (
            event.get("kind") != "notification"
            or event.get("member") == self.membership_id
        ):
            await self.send_json(event)
        self.last = event["seq"]

    def _for_me(self, text: str) -> bool:
        """Every event but another member's notification count."""
        if '"kind":"notification"' not in text:
            return True
        return json.loads(text).get("member") == self.membership_id

    async def _close_at(self, when: datetime) -> None:
        """A token socket ends with its token; the partner reconnects with a new one."""
        await asyncio.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()))
        await self.close(code=NOT_AUTHENTICATED)
