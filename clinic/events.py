"""Live updates to staff pages, sent only once the change is committed."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction

from calls.consumers import clinic_group


def publish(schema_name: str, payload: dict) -> None:
    """Send `payload` to every open staff page of the clinic (after commit)."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(
                clinic_group(schema_name), {"type": "clinic.event", "payload": payload}
            )

    transaction.on_commit(send)


def publish_appointment_change(appointment, change: str) -> None:
    # Ids and times only: pages fetch what they show, with their own access checks.
    publish(
        connection.schema_name,
        {
            "kind": "appointment",
            "change": change,
            "id": appointment.pk,
            "provider": appointment.provider_id,
            "start": appointment.start.isoformat(),
            "status": appointment.status,
        },
    )
