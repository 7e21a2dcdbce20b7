"""In Chromium: a text injected through the simulator appears in the open inbox without a
reload, and a staff reply reaches the simulator (the whole stack: web server, worker, Channels)."""

from __future__ import annotations

import json
from urllib.parse import urlencode
from urllib.request import Request, urlopen
from uuid import uuid4

import pytest
from django.db import connection

from calls.models import Message
from calls.tests.conftest import ALPHA_NUMBER
from calls.tests.live_support import wait_until
from clinic.tests.browser_support import browser_marks, csp_violations, launch, shot

pytestmark = browser_marks
PASSWORD = "browser-test-password-1"


@pytest.fixture
def desk_user(committed, django_db_blocker):
    """A front-desk member of alpha, committed, removed with their sessions afterwards."""
    from django.contrib.sessions.models import Session
    from django.db.models import Q

    from portal.models import Clinic, Role, SecurityEvent
    from portal.services import membership_grant, user_create

    alpha = connection.tenant
    connection.set_schema_to_public()
    user = user_create(
        email=f"texts-{uuid4().hex[:8]}@alpha.test",
        password=PASSWORD,
        full_name="Robin Texter",
    )
    membership_grant(
        user=user, clinic=Clinic.objects.get(slug="alpha"), role=Role.FRONT_DESK
    )
    connection.set_tenant(alpha)
    yield user
    connection.set_schema_to_public()
    for session in Session.objects.all():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
    SecurityEvent.objects.filter(Q(user=user) | Q(email=user.email)).delete()
    connection.set_tenant(alpha)
    user.delete()  # in alpha's schema, so its audit rows there let go of it


def inject(sim, *, sender: str, body: str, url: str) -> dict:
    form = urlencode(
        {"From": sender, "To": ALPHA_NUMBER, "Body": body, "Url": url}
    ).encode()
    with urlopen(
        Request(sim.url + "/_sim/inbound", data=form, method="POST"), timeout=10
    ) as response:
        return json.loads(response.read())


def test_a_text_appears_live_in_the_inbox_and_a_reply_reaches_the_carrier(
    live, committed, desk_user
):
    from playwright.sync_api import expect, sync_playwright

    from calls.tests.support import policy
    from clinic.tests.factories import PatientFactory

    policy(quiet_hours=False)
    grace = PatientFactory(
        first_name="Grace",
        last_name="Hopperlive",
        phone="+16175550321",
        sms_consent=True,
    )
    committed["patients"].append(grace)
    server = live.start_server()
    live.start_worker()
    inbound_url = server + "/twilio/sms/inbound/"

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            blocked = csp_violations(page)
            page.set_default_timeout(15_000)
            page.goto(server + "/account/sign-in/")
            page.get_by_label("Email").fill(desk_user.email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(server + "/")

            page.goto(server + "/messages/")
            expect(page.locator("html[data-messages-live=on]")).to_have_count(
                1
            )  # socket open
            expect(page.locator("#conversations")).to_contain_text("No conversations")

            # A patient texts; the open inbox shows it without a reload.
            first = inject(
                live.sim,
                sender=grace.phone,
                body="Is there parking at the clinic?",
                url=inbound_url,
            )
            assert first["webhook_status"] == 200
            row = page.locator("#conversations").get_by_role(
                "link", name="Hopperlive, Grace"
            )
            expect(row).to_be_visible()
            expect(row).to_contain_text("1 new")
            expect(page.locator("#nav-unread")).to_have_text("1")
            shot(page, "inbox_live_text")

            row.click()
            thread = page.locator("#thread")
            expect(thread).to_contain_text("Is there parking at the clinic?")
            expect(page.locator("#nav-unread")).to_be_hidden()  # read once opened

            # Staff reply: it reaches the carrier, and its delivery shows live.
            page.get_by_label("Message").fill("Yes, free parking behind the building.")
            page.get_by_role("button", name="Send text").click()
            expect(thread).to_contain_text("Yes, free parking behind the building.")
            accepted = wait_until(
                lambda: [
                    a
                    for a in live.sim.accepted_log()
                    if a["body"] == "Yes, free parking behind the building."
                ],
                timeout=30,
                what="the reply to reach the simulator",
            )
            assert (accepted[0]["to"], accepted[0]["from"]) == (
                grace.phone,
                ALPHA_NUMBER,
            )
            expect(thread.locator(".text-outbound .text-status").first).to_have_text(
                "Delivered"
            )

            # Another text while the thread is open lands in it, live; the reply box keeps its draft.
            page.get_by_label("Message").fill("Draft not sent yet")
            inject(
                live.sim,
                sender=grace.phone,
                body="Thanks! See you then.",
                url=inbound_url,
            )
            expect(thread.locator(".text-inbound").first).to_contain_text(
                "Thanks! See you then."
            )
            expect(page.get_by_label("Message")).to_have_value("Draft not sent yet")
            shot(page, "inbox_thread")
            assert blocked == []
        finally:
            browser.close()

    reply = Message.objects.get(
        direction="outbound", body="Yes, free parking behind the building."
    )
    assert (reply.status, reply.sid) == ("delivered", accepted[0]["sid"])
    assert reply.sent_by_id == desk_user.pk
