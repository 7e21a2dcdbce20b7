"""Who may open a clinic's events socket, and the close code everyone else gets.

Every refused socket is accepted and closed at once with its code (so browsers
can read it), and receives none of alpha's events.
"""

from __future__ import annotations

from datetime import timedelta

from asgiref.sync import sync_to_async

from calls.tests.live_socket_support import (
    access_token,
    opened,
    publish_in,
    refused_with,
    socket,
)
from calls.tests.socket_support import run
from portal.channels import TOKEN_PROTOCOL
from portal.models import User

ALPHA = "alpha.localhost"


def _refused_and_deaf(make_socket) -> int:
    async def scenario():
        refused = make_socket()
        code = await refused_with(refused)
        await sync_to_async(publish_in)("c_alpha", 1, secret="alpha-only")
        assert await refused.receive_nothing(timeout=0.3)
        return code

    return run(scenario)


def test_a_member_with_a_session_gets_the_clinics_events(session_of):
    key = session_of("desk@alpha.test")

    async def scenario():
        alpha = socket(ALPHA, session_key=key)
        hello = await opened(alpha)
        await sync_to_async(publish_in)("c_alpha", 7)
        event = await alpha.receive_json_from(timeout=5)
        assert event == {"kind": "ping", "n": 7, "seq": hello["seq"] + 1}
        await alpha.disconnect()

    run(scenario)


def test_a_partner_token_of_the_clinic_needs_no_origin_and_gets_the_events(session_of):
    token = access_token("desk@alpha.test", "c_alpha")

    async def scenario():
        partner = socket(ALPHA, token=token, origin=None)
        connected, subprotocol = await partner.connect(timeout=5)
        assert (connected, subprotocol) == (True, TOKEN_PROTOCOL)
        hello = await partner.receive_json_from(timeout=5)
        await sync_to_async(publish_in)("c_alpha", 8)
        event = await partner.receive_json_from(timeout=5)
        assert event == {"kind": "ping", "n": 8, "seq": hello["seq"] + 1}
        await partner.disconnect()

    run(scenario)


def test_a_token_socket_ignores_the_session_cookie_it_comes_with(session_of):
    key = session_of("desk@alpha.test")
    code = _refused_and_deaf(lambda: socket(ALPHA, session_key=key, token="not.a.jwt"))
    assert code == 4401


def test_an_anonymous_socket_is_closed_4401(session_of):
    assert _refused_and_deaf(lambda: socket(ALPHA)) == 4401


def test_a_member_of_clinic_b_is_closed_4403(session_of):
    key = session_of("desk@beta.test")
    assert _refused_and_deaf(lambda: socket(ALPHA, session_key=key)) == 4403


def test_clinic_bs_token_is_closed_4403(session_of):
    token = access_token("desk@beta.test", "c_beta")
    assert _refused_and_deaf(lambda: socket(ALPHA, token=token, origin=None)) == 4403


def test_a_token_naming_alpha_for_a_user_who_is_not_a_member_is_closed_4403(
    session_of,
):
    token = access_token("desk@beta.test", "c_alpha")
    assert _refused_and_deaf(lambda: socket(ALPHA, token=token, origin=None)) == 4403


def test_an_expired_token_is_closed_4401(session_of):
    token = access_token("desk@alpha.test", "c_alpha", lifetime=-timedelta(minutes=1))
    assert _refused_and_deaf(lambda: socket(ALPHA, token=token, origin=None)) == 4401


def test_a_forged_token_and_an_empty_one_are_closed_4401(session_of):
    token = access_token("desk@alpha.test", "c_alpha")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert _refused_and_deaf(lambda: socket(ALPHA, token=forged, origin=None)) == 4401
    assert _refused_and_deaf(lambda: socket(ALPHA, token="", origin=None)) == 4401


def test_a_deactivated_users_token_is_closed_4403(session_of):
    token = access_token("desk@alpha.test", "c_alpha")
    User.objects.filter(email="desk@alpha.test").update(is_active=False)
    try:
        code = _refused_and_deaf(lambda: socket(ALPHA, token=token, origin=None))
    finally:
        User.objects.filter(email="desk@alpha.test").update(is_active=True)
    assert code == 4403


def test_a_members_session_from_another_origin_is_closed_4403(session_of):
    key = session_of("desk@alpha.test")
    for origin in ("http://beta.localhost", "https://evil.test", None):
        code = _refused_and_deaf(
            lambda o=origin: socket(ALPHA, session_key=key, origin=o)
        )
        assert code == 4403, origin


def test_an_unknown_host_is_closed_4404(session_of):
    key = session_of("desk@alpha.test")
    code = _refused_and_deaf(lambda: socket("nowhere.localhost", session_key=key))
    assert code == 4404


def test_clinic_bs_member_on_b_gets_nothing_of_alphas_events(session_of):
    key = session_of("desk@beta.test")

    async def scenario():
        beta = socket("beta.localhost", session_key=key)
        await opened(beta)
        await sync_to_async(publish_in)("c_alpha", 9, secret="alpha-only")
        assert await beta.receive_nothing(timeout=0.5)
        await beta.disconnect()

    run(scenario)


def test_a_token_socket_is_closed_4401_when_its_token_expires(session_of):
    token = access_token("desk@alpha.test", "c_alpha", lifetime=timedelta(seconds=1))

    async def scenario():
        partner = socket(ALPHA, token=token, origin=None)
        await opened(partner)
        closing = await partner.receive_output(timeout=10)
        assert closing == {"type": "websocket.close", "code": 4401}

    run(scenario)
