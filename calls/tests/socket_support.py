"""Sockets of signed-in staff for the live-update tests (sessions committed, then removed)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from portal.models import User


@pytest.fixture
def session_of(django_db_setup, django_db_blocker):
    created = []
    with django_db_blocker.unblock():

        def make(email: str) -> str:
            user = User.objects.get(email=email)
            store = SessionStore()
            store[SESSION_KEY] = str(user.pk)
            store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            created.append(store)
            return store.session_key

        yield make
        for store in created:
            store.delete()


# The sockets the running scenario opened (run() disconnects them).
_OPENED: ContextVar[list[WebsocketCommunicator] | None] = ContextVar(
    "opened_sockets", default=None
)


def track(communicator: WebsocketCommunicator) -> WebsocketCommunicator:
    """Have run() disconnect this socket when its scenario ends."""
    opened = _OPENED.get()
    if opened is not None:
        opened.append(communicator)
    return communicator


T = TypeVar("T")


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    """asyncio.run(scenario()), then disconnect every socket it opened, pass or
    fail: a failed assertion must not leave a consumer in the clinic's group
    for the tests after it."""

    async def main() -> T:
        opened: list[WebsocketCommunicator] = []
        token = _OPENED.set(opened)
        try:
            return await scenario()
        finally:
            _OPENED.reset(token)
            for communicator in opened:
                with contextlib.suppress(Exception):
                    await communicator.disconnect()

    return asyncio.run(main())


async def connect(host: str, session_key: str) -> WebsocketCommunicator:
    from portal.asgi import application

    headers = [
        (b"host", host.encode()),
        (b"origin", f"http://{host}".encode()),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()),
    ]
    socket = track(WebsocketCommunicator(application, "/ws/events/", headers=headers))
    connected, code = await socket.connect(timeout=5)
    assert connected, code
    hello = await socket.receive_json_from(timeout=5)  # the clinic's seq as it joined
    assert hello["kind"] == "hello", hello
    return socket
