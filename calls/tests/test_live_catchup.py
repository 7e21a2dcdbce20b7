"""Events reach a socket in seq order, once each; a reconnect catches up on what
it missed, or is told to resync when the buffer no longer reaches back."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from calls.tests.live_socket_support import (
    buffer_only,
    drained,
    opened,
    publish_in,
    socket,
)
from calls.tests.socket_support import run
from portal import live

ALPHA = "alpha.localhost"


def test_events_carry_increasing_sequence_numbers(session_of):
    key = session_of("desk@alpha.test")

    async def scenario():
        page = socket(ALPHA, session_key=key)
        hello = await opened(page)
        for n in range(4):
            await sync_to_async(publish_in)("c_alpha", n)
        events = await drained(page, 4)
        assert [e["seq"] for e in events] == [hello["seq"] + 1 + n for n in range(4)]
        assert [e["n"] for e in events] == [0, 1, 2, 3]
        await page.disconnect()

    run(scenario)


def test_a_reconnect_with_since_replays_exactly_what_was_missed_then_goes_live(
    session_of,
):
    key = session_of("desk@alpha.test")

    async def scenario():
        page = socket(ALPHA, session_key=key)
        await opened(page)
        await sync_to_async(publish_in)("c_alpha", 1)
        (seen,) = await drained(page, 1)
        await page.disconnect()

        for n in (2, 3, 4):  # while the page was away
            await sync_to_async(publish_in)("c_alpha", n)

        again = socket(ALPHA, session_key=key, since=seen["seq"])
        hello = await opened(again)
        assert hello == {"kind": "hello", "seq": seen["seq"]}
        replayed = await drained(again, 3)
        await sync_to_async(publish_in)("c_alpha", 5)
        (live_one,) = await drained(again, 1)
        assert [e["n"] for e in replayed] == [2, 3, 4]
        assert [e["seq"] for e in [*replayed, live_one]] == [
            seen["seq"] + i for i in (1, 2, 3, 4)
        ]
        assert await again.receive_nothing(timeout=0.3)  # no duplicates
        await again.disconnect()

    run(scenario)


def test_a_reconnect_older_than_the_buffer_is_told_to_resync(session_of, settings):
    settings.LIVE_BUFFER_EVENTS = 3
    key = session_of("desk@alpha.test")

    async def scenario():
        page = socket(ALPHA, session_key=key)
        hello = await opened(page)
        await page.disconnect()
        for n in range(5):
            await sync_to_async(publish_in)("c_alpha", n)

        again = socket(ALPHA, session_key=key, since=hello["seq"])
        resync = await opened(again)
        assert resync == {"kind": "resync", "seq": hello["seq"] + 5}
        await sync_to_async(publish_in)("c_alpha", 5)
        (event,) = await drained(again, 1)
        assert event["seq"] == hello["seq"] + 6
        await again.disconnect()

    run(scenario)


def test_a_since_ahead_of_the_clinic_is_told_to_resync(session_of):
    key = session_of("desk@alpha.test")

    async def scenario():
        top = await sync_to_async(live.last_seq)("c_alpha")
        page = socket(ALPHA, session_key=key, since=top + 1000)
        assert await opened(page) == {"kind": "resync", "seq": top}
        await page.disconnect()

    run(scenario)


def test_a_message_the_layer_dropped_is_filled_from_the_buffer_and_counted(session_of):
    key = session_of("desk@alpha.test")

    async def scenario():
        await sync_to_async(live.gap_counts_reset)("c_alpha")
        page = socket(ALPHA, session_key=key)
        hello = await opened(page)
        await sync_to_async(buffer_only)("c_alpha", 1)  # never reaches the group
        await sync_to_async(publish_in)("c_alpha", 2)
        events = await drained(page, 2)
        assert [(e["seq"], e["n"]) for e in events] == [
            (hello["seq"] + 1, 1),
            (hello["seq"] + 2, 2),
        ]
        await page.disconnect()
        counts = await sync_to_async(live.gap_counts)("c_alpha")
        assert counts == {"filled": 1, "late": 0, "dropped": 1}

    run(scenario)


def test_sockets_of_one_process_share_one_group_member(session_of):
    from channels.layers import get_channel_layer

    key = session_of("desk@alpha.test")
    group = get_channel_layer()._group_key(live.clinic_group("c_alpha"))

    async def members() -> int:
        return await get_channel_layer().connection(0).zcard(group)

    async def scenario():
        before = await members()
        pages = [socket(ALPHA, session_key=key) for _ in range(3)]
        hellos = [await opened(page) for page in pages]
        assert await members() == before + 1
        await sync_to_async(publish_in)("c_alpha", 1)
        for page, hello in zip(pages, hellos, strict=True):
            (event,) = await drained(page, 1)
            assert event["seq"] == hello["seq"] + 1
        for page in pages:
            await page.disconnect()
        assert await members() == before

    run(scenario)


def test_a_live_gap_older_than_the_buffer_is_told_to_resync(session_of, settings):
    settings.LIVE_BUFFER_EVENTS = 3
    key = session_of("desk@alpha.test")

    async def scenario():
        page = socket(ALPHA, session_key=key)
        hello = await opened(page)
        for n in range(5):  # dropped by the layer, and partly out of the buffer
            await sync_to_async(buffer_only)("c_alpha", n)
        await sync_to_async(publish_in)("c_alpha", 5)
        resync, event = await drained(page, 2)
        assert resync == {"kind": "resync", "seq": hello["seq"] + 5}
        assert (event["seq"], event["n"]) == (hello["seq"] + 6, 5)
        await page.disconnect()

    run(scenario)
