"""One channel-layer member per server process and clinic, fanning out to sockets.

channels-redis costs every member of a group several tasks and futures per
message (its receive machinery), which a clinic's board of hundreds of sockets
pays hundreds of times per event. Here each server process joins a clinic's
group once, on a channel of its own, as long as it holds a socket of that
clinic; the hub's one reader hands each event (already encoded) to the local
sockets, which send it as it is. The channel layer's capacity and expiry then
bound the events waiting for a process, not for each socket, and a message it
drops shows as a gap in seq that the consumer fills from the buffer and counts.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Protocol

from channels.layers import get_channel_layer

from portal.live import clinic_group

logger = logging.getLogger(__name__)
REJOIN_SECONDS = 3600  # well inside the layer's group_expiry


class Member(Protocol):
    def offer(self, message: dict) -> None: ...


class Hub:
    """The sockets of one event loop (one server process), by clinic."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.members: dict[str, set[Member]] = {}
        self.lock = asyncio.Lock()
        self.tasks: list[asyncio.Task] = []

    async def join(self, schema: str, member: Member) -> None:
        """From now on `member` is offered the clinic's events."""
        async with self.lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel(prefix="live-hub")
                self.tasks = [
                    asyncio.create_task(self._read()),
                    asyncio.create_task(self._rejoin()),
                ]
            if schema not in self.members:
                await self.layer.group_add(clinic_group(schema), self.channel)
                self.members[schema] = set()
            self.members[schema].add(member)

    async def leave(self, schema: str, member: Member) -> None:
        async with self.lock:
            members = self.members.get(schema)
            if members is None:
                return
            members.discard(member)
            if not members:
                del self.members[schema]
                await self.layer.group_discard(clinic_group(schema), self.channel)

    async def _read(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis trouble: retry, sockets stay
                logger.warning("live hub cannot read: %s", type(exc).__name__)
                await asyncio.sleep(1)
                continue
            for member in tuple(self.members.get(message.get("schema"), ())):
                member.offer(message)

    async def _rejoin(self) -> None:
        while True:
            await asyncio.sleep(REJOIN_SECONDS)
            async with self.lock:
                for schema in self.members:
                    await self.layer.group_add(clinic_group(schema), self.channel)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = (
    weakref.WeakKeyDictionary()
)


def hub() -> Hub:
    """The hub of the running event loop."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found
