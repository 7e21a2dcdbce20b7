"""Live updates for staff pages, one group per clinic."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from portal.selectors import membership_for


def clinic_group(schema_name: str) -> str:
    return f"clinic.{schema_name}.events"


class ClinicEventsConsumer(AsyncJsonWebsocketConsumer):
    """Streams the clinic's events to a signed-in member of that clinic only."""

    async def connect(self) -> None:
        clinic = self.scope["clinic"]
        user = self.scope.get("user")
        is_member = await database_sync_to_async(
            lambda: membership_for(user=user, clinic=clinic) is not None
        )()
        if not is_member:
            await self.close(code=4403)
            return
        self.group = clinic_group(clinic.schema_name)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def clinic_event(self, event: dict) -> None:
        await self.send_json(event["payload"])
