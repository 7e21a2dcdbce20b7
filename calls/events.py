"""Live updates of texts to the clinic's staff pages (through portal.live)."""

from __future__ import annotations

from collections.abc import Iterable

from portal.live import publish


def publish_messages(*, conversation_ids: Iterable[int], change: str) -> None:
    """Tell open pages that these conversations changed (after commit)."""
    ids = sorted({i for i in conversation_ids if i})
    if ids:
        publish("message", {"change": change, "conversations": ids[:200]})
