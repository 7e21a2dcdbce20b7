"""Sockets on the clinic's events endpoint for the live-update tests.

The consumer runs in this process on the real channel layer (Redis); what it
reads (sessions, memberships) must be committed, so the fixtures of
calls.tests.socket_support commit and remove what they make.
"""

from __future__ import annotations

from datetime import timedelta

from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_context
from rest_framework_simplejwt.tokens import AccessToken

from calls.tests.socket_support import track
from portal import live
from portal.api.authentication import CLINIC_CLAIM
from portal.channels import TOKEN_PROTOCOL
from portal.models import User


def access_token(email: str, schema: str, lifetime: timedelta | None = None) -> str:
    """An API access token as /api/v1/auth/token/ issues it (no database row)."""
    token = AccessToken.for_user(User.objects.get(email=email))
    token[CLINIC_CLAIM] = schema
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    return str(token)


def socket(
    host: str,
    *,
    session_key: str | None = None,
    token: str | None = None,
    origin: str | None = "same",
    since: int | None = None,
) -> WebsocketCommunicator:
    from portal.asgi import application

    headers = [(b"host", host.encode())]
    if origin == "same":
        headers.append((b"origin", f"http://{host}".encode()))
    elif origin is not None:
        headers.append((b"origin", origin.encode()))
    if session_key:
        cookie = f"{settings.SESSION_COOKIE_NAME}={session_key}"
        headers.append((b"cookie", cookie.encode()))
    path = "/ws/events/" + (f"?since={since}" if since is not None else "")
    subprotocols = [TOKEN_PROTOCOL, token] if token is not None else None
    return track(WebsocketCommunicator(application, path, headers, subprotocols))


async def opened(communicator: WebsocketCommunicator) -> dict:
    """Connect; the first message (hello or resync). Fails if refused."""
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    assert first["kind"] in ("hello", "resync"), first
    return first


async def refused_with(communicator: WebsocketCommunicator) -> int:
    """Connect a socket that must be refused; its close code (it got no event)."""
    connected, _ = await communicator.connect(timeout=5)
    if not connected:
        raise AssertionError("refused during the handshake: browsers would see 1006")
    closing = await communicator.receive_output(timeout=5)
    assert closing["type"] == "websocket.close", closing
    return closing["code"]


def publish_in(schema: str, n: int, **extra) -> None:
    """Commit one event in `schema`'s clinic (sync; call through sync_to_async)."""
    with schema_context(schema), transaction.atomic():
        live.publish("ping", {"n": n, **extra})
    connection.set_schema_to_public()


def buffer_only(schema: str, n: int) -> int:
    """Number and buffer an event without sending it to the group: a dropped message."""
    return int(
        live.client().eval(
            live._NUMBER_AND_BUFFER,
            2,
            live.seq_key(schema),
            live.log_key(schema),
            f'{{"kind":"ping","n":{n}}}',
            settings.LIVE_BUFFER_EVENTS,
            settings.LIVE_BUFFER_SECONDS,
        )
    )


async def drained(communicator: WebsocketCommunicator, count: int) -> list[dict]:
    return [await communicator.receive_json_from(timeout=5) for _ in range(count)]
