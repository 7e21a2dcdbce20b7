"""Notifications, live: after commit, the member's own sockets get their id and
unread count, nothing else; another member's socket and another clinic's get
nothing; a rolled-back send publishes nothing.

The consumer reads the session on its own connection, so the writes here are
committed (and removed again at the end).
"""

from __future__ import annotations

import asyncio

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from calls.tests.socket_support import connect, session_of  # noqa: F401
from clinic.models import Notification
from clinic.services.notifications import notification_mark_all_read, notification_send
from portal.models import Clinic, Membership


@pytest.fixture
def alpha_desk(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        clinic = Clinic.objects.get(slug="alpha")
        desk = Membership.objects.get(user__email="desk@alpha.test", clinic=clinic)
        admin = Membership.objects.get(user__email="admin@alpha.test", clinic=clinic)
        yield clinic, desk, admin
        with schema_context("c_alpha"):
            Notification.objects.all().delete()
        connection.set_schema_to_public()


def _in_alpha(clinic, work):
    connection.set_tenant(clinic)
    try:
        return work()
    finally:
        connection.set_schema_to_public()


def test_a_notification_reaches_the_socket_as_a_member_id_and_a_count(
    alpha_desk,
    session_of,  # noqa: F811 (the fixture)
):
    clinic, desk, _admin = alpha_desk
    alpha_key = session_of("desk@alpha.test")
    colleague_key = session_of("admin@alpha.test")
    beta_key = session_of("desk@beta.test")

    def send(title: str) -> None:
        with transaction.atomic():
            notification_send(
                membership_ids=[desk.pk],
                kind="patient_text",
                title=title,
                url="/messages/",
            )

    async def scenario():
        alpha = await connect("alpha.localhost", alpha_key)
        colleague = await connect("alpha.localhost", colleague_key)
        beta = await connect("beta.localhost", beta_key)
        try:
            await asyncio.to_thread(_in_alpha, clinic, lambda: send("Private words"))
            event = await alpha.receive_json_from(timeout=5)
            assert isinstance(event.pop("seq"), int)
            before = event["unread"] - 1  # what earlier tests left unread, if any
            assert event == {
                "kind": "notification",
                "member": desk.pk,
                "unread": before + 1,
            }
            await asyncio.to_thread(_in_alpha, clinic, lambda: send("More"))
            assert (await alpha.receive_json_from(timeout=5))["unread"] == before + 2
            await asyncio.to_thread(
                _in_alpha, clinic, lambda: notification_mark_all_read(member=desk)
            )
            assert (await alpha.receive_json_from(timeout=5))["unread"] == 0
            assert await colleague.receive_nothing(timeout=0.5)  # not theirs
            assert await beta.receive_nothing(timeout=0.5)
        finally:
            await alpha.disconnect()
            await colleague.disconnect()
            await beta.disconnect()

    asyncio.run(scenario())


def test_a_rolled_back_send_publishes_nothing(alpha_desk, session_of):  # noqa: F811
    clinic, desk, _ = alpha_desk
    key = session_of("desk@alpha.test")

    def rolled_back() -> None:
        try:
            with transaction.atomic():
                notification_send(
                    membership_ids=[desk.pk], kind="patient_text", title="x"
                )
                raise RuntimeError("undo")
        except RuntimeError:
            pass

    async def scenario():
        socket = await connect("alpha.localhost", key)
        await asyncio.to_thread(_in_alpha, clinic, rolled_back)
        assert await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()

    asyncio.run(scenario())
    assert _in_alpha(clinic, lambda: Notification.objects.count()) == 0
