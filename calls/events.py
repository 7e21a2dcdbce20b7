"""Live updates of texts to the clinic's staff pages, sent once the change is committed.

Events carry ids and statuses only; pages fetch what they show with their own
access checks. A publish that fails after the write committed is logged and
counted, never raised: the write happened.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction

from calls.consumers import clinic_group

logger = logging.getLogger(__name__)
failed_publishes = 0


def _send(schema_name: str, payload: dict) -> None:
    global failed_publishes
    try:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(
                clinic_group(schema_name), {"type": "clinic.event", "payload": payload}
            )
    except Exception:  # noqa: BLE001 - any broker trouble; the write stands
        failed_publishes += 1
        logger.warning(
            "live update %s not published (%d so far)",
            payload.get("kind"),
            failed_publishes,
        )


def publish_messages(*, conversation_ids: Iterable[int], change: str) -> None:
    """Tell open pages that these conversations changed (after commit)."""
    ids = sorted({i for i in conversation_ids if i})
    if not ids:
        return
    schema = connection.schema_name
    payload = {"kind": "message", "change": change, "conversations": ids[:200]}
    transaction.on_commit(lambda: _send(schema, payload))
