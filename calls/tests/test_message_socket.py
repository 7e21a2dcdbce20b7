"""Live text updates reach the clinic's own sockets only."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django_tenants.utils import schema_context

from calls.events import publish_messages
from calls.tests.socket_support import connect, run


def _publish_in(schema: str, conversation_id: int) -> None:
    with schema_context(schema), transaction.atomic():
        publish_messages(conversation_ids=[conversation_id], change="received")
    connection.set_schema_to_public()


def test_a_text_event_reaches_this_clinics_socket_and_not_the_other_clinics(session_of):
    alpha_key = session_of("desk@alpha.test")
    beta_key = session_of("desk@beta.test")

    async def scenario():
        alpha = await connect("alpha.localhost", alpha_key)
        beta = await connect("beta.localhost", beta_key)
        await sync_to_async(_publish_in)("c_alpha", 41)
        event = await alpha.receive_json_from(timeout=5)
        assert isinstance(event.pop("seq"), int)
        assert event == {"kind": "message", "change": "received", "conversations": [41]}
        assert await beta.receive_nothing(timeout=0.5)
        await alpha.disconnect()
        await beta.disconnect()

    run(scenario)


def test_a_rolled_back_change_publishes_nothing(session_of):
    key = session_of("desk@alpha.test")

    def rolled_back() -> None:
        with schema_context("c_alpha"):
            with pytest.raises(RuntimeError), transaction.atomic():
                publish_messages(conversation_ids=[7], change="received")
                raise RuntimeError
        connection.set_schema_to_public()

    async def scenario():
        alpha = await connect("alpha.localhost", key)
        await sync_to_async(rolled_back)()
        assert await alpha.receive_nothing(timeout=0.5)
        await alpha.disconnect()

    run(scenario)
