"""Call events reach clinic A's board only: B's member socket and anonymous ones get nothing.

Events carry ids, statuses and times, and a turn's text; never a name or a phone.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from calls.models import CallSession
from calls.tests.socket_support import connect, run
from calls.tests.voice_support import voice_schedule
from calls.voice.events import publish_call, publish_turn


def _change_a_call(made) -> tuple[int, int]:
    from django.db import connection

    from portal.models import Clinic

    # This runs in another thread, with a connection of its own: enter alpha there.
    connection.set_tenant(Clinic.objects.get(slug="alpha"))
    _, _, (patient,) = voice_schedule(made)
    with transaction.atomic():
        session = CallSession.objects.create(
            patient=patient,
            purpose="recall",
            direction="outbound",
            status="dialing",
            to_number=patient.phone,
            placed_at=timezone.now(),
        )
        publish_call(session, "dialing")
        turn = session.turns.create(
            step=1,
            speaker="portal",
            kind="prompt",
            text="Hello there",
            at=timezone.now(),
        )
        publish_turn(turn)
    return session.pk, turn.pk


def test_only_clinic_as_members_receive_its_call_events(voice_committed, session_of):
    alpha_key = session_of("desk@alpha.test")
    beta_key = session_of("desk@beta.test")

    async def scenario():
        mine = await connect("alpha.localhost", alpha_key)
        theirs = await connect("beta.localhost", beta_key)
        call_id, turn_id = await sync_to_async(_change_a_call)(voice_committed)
        call = await mine.receive_json_from(timeout=5)
        turn = await mine.receive_json_from(timeout=5)
        assert (call["kind"], call["id"], call["status"]) == (
            "call",
            call_id,
            "dialing",
        )
        assert (turn["kind"], turn["id"], turn["call"]) == (
            "call.turn",
            turn_id,
            call_id,
        )
        assert turn["text"] == "Hello there"
        flat = repr(call)
        assert "Caller0" not in flat and "+1617" not in flat
        assert await theirs.receive_nothing(timeout=1)
        await mine.disconnect()
        await theirs.disconnect()

    run(scenario)
