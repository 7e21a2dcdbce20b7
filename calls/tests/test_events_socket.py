"""The live-events socket admits members of the host's clinic only.

The consumer reads the session from another thread (another DB connection),
so the sessions here are committed and removed again by the test.
"""

import asyncio

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from calls.consumers import clinic_group
from portal.models import User


@pytest.fixture
def live_db(django_db_setup, django_db_blocker):
    """Autocommit access, as the consumer's own thread and connection need."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def session_of(live_db):
    created = []

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


def _socket(host: str, session_key: str | None) -> WebsocketCommunicator:
    from portal.asgi import application

    headers = [(b"host", host.encode()), (b"origin", f"http://{host}".encode())]
    if session_key:
        headers.append(
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode())
        )
    return WebsocketCommunicator(application, "/ws/events/", headers=headers)


async def _connect(host, key):
    socket = _socket(host, key)
    connected, code = await socket.connect(timeout=5)
    return socket, connected, code


def test_a_member_receives_the_clinics_events(session_of):
    key = session_of("desk@alpha.test")

    async def scenario():
        socket, connected, _ = await _connect("alpha.localhost", key)
        assert connected
        await get_channel_layer().group_send(
            clinic_group("c_alpha"),
            {"type": "clinic.event", "payload": {"kind": "ping"}},
        )
        assert await socket.receive_json_from(timeout=5) == {"kind": "ping"}
        await socket.disconnect()

    asyncio.run(scenario())


def test_a_user_of_another_clinic_is_refused(session_of):
    key = session_of("desk@beta.test")

    async def scenario():
        socket, connected, code = await _connect("alpha.localhost", key)
        assert not connected
        assert code == 4403

    asyncio.run(scenario())


def test_an_anonymous_socket_and_an_unknown_host_are_refused(live_db):
    async def scenario():
        _, connected, code = await _connect("alpha.localhost", None)
        assert (connected, code) == (False, 4403)
        _, connected, code = await _connect("nowhere.localhost", None)
        assert (connected, code) == (False, 4404)

    asyncio.run(scenario())
