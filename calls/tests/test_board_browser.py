"""In Chromium: the call board stays open while calls run through the worker and the
simulator; statuses change, durations run, the transcript grows, and the hang-up button
ends a call, all without a reload."""

from __future__ import annotations

import json
import re
from urllib.request import Request, urlopen

from django.db import connection

from calls.models import CallSession
from calls.tests.live_support import wait_until
from calls.tests.support import at, days_ahead, policy
from calls.tests.test_browser_inbox import PASSWORD, desk_user  # noqa: F401 (fixture)
from calls.tests.voice_support import callee, sim_get, voice_schedule
from clinic.services import appointment_book
from clinic.tests.browser_support import browser_marks, csp_violations, launch, shot
from clinic.tests.factories import member
from portal.api.tokens import clinic_refresh_token

pytestmark = browser_marks


def test_the_board_shows_a_call_change_and_its_transcript_grow_without_reload(
    live,
    voice_committed,
    desk_user,  # noqa: F811 (the fixture)
):
    from playwright.sync_api import expect, sync_playwright

    policy(quiet_hours=False)
    doc, visit_type, (patient, quiet) = voice_schedule(voice_committed, patients=2)
    # Slow enough to watch: half a second per step of the carrier.
    live.sim.step_delay = 0.5
    live.sim.answer_after = 0.5
    callee(live.sim, patient.phone, inputs=[None, "1"])
    callee(live.sim, quiet.phone, inputs=[])
    server = live.start_server()
    live.start_worker()
    visits = [
        appointment_book(
            patient=p,
            provider=doc,
            appointment_type=visit_type,
            start=at(days_ahead(2), 9 + n),
            actor=member(None),
        )
        for n, p in enumerate((patient, quiet))
    ]
    # The browser's thread cannot use the ORM: the API places the second call.
    token = clinic_refresh_token(user=desk_user, schema_name=connection.schema_name)
    second_call = Request(
        server.replace("alpha.localhost", "127.0.0.1") + "/api/v1/calls/",
        data=json.dumps({"patient": quiet.pk, "appointment": visits[1].pk}).encode(),
        headers={
            "Authorization": f"Bearer {token.access_token}",
            "Content-Type": "application/json",
            "Host": server.split("//", 1)[1],
        },
        method="POST",
    )

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            blocked = csp_violations(page)
            page.set_default_timeout(30_000)
            page.goto(server + "/account/sign-in/")
            page.get_by_label("Email").fill(desk_user.email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(server + "/")
            page.goto(server + "/calls/")
            expect(page.locator("html[data-calls-live=on]")).to_have_count(1)
            expect(page.locator("#calls-active")).to_contain_text("No calls waiting")

            # The visit's panel has the Call button; it leads back to the board.
            page.goto(server + f"/appointments/{visits[0].pk}/")
            page.get_by_role("button", name="Call to confirm").click()
            expect(page).to_have_url(server + "/calls/")
            expect(page.locator("html[data-calls-live=on]")).to_have_count(1)
            row = page.locator(".call-row", has_text="Voice, Caller0")
            expect(row.locator("[data-call-status]")).to_have_text("In Progress")
            expect(row.locator("[data-call-transcript]")).to_contain_text(
                "You have a visit on"
            )
            expect(row.locator("[data-call-duration]")).to_have_text(
                re.compile(r"^0:\d\d$")
            )
            shot(page, "call_board_live")
            expect(row.locator("[data-call-transcript]")).to_contain_text(
                "Sorry, I did not get that."
            )
            expect(row.locator("[data-call-transcript]")).to_contain_text("Caller: 1")
            expect(row.locator("[data-call-transcript]")).to_contain_text(
                "Your visit is confirmed"
            )
            recent = page.locator("#calls-recent")
            done = recent.locator(".call-row", has_text="Voice, Caller0")
            expect(done.locator("[data-call-status]")).to_have_text("Completed")
            expect(done).to_contain_text("Confirmed")

            # A second call, placed by the API on the partner's side; staff hang it up.
            with urlopen(second_call, timeout=10) as answer:
                other_id = json.loads(answer.read())["id"]
            live_row = page.locator(f"#calls-active #call-{other_id}")
            expect(live_row.locator("[data-call-status]")).to_have_text("In Progress")
            live_row.get_by_role("button", name="Hang up").click()
            expect(
                page.locator(f"#calls-recent #call-{other_id} [data-call-status]")
            ).to_have_text("Terminated")
            shot(page, "call_board_done")
            assert blocked == []
        finally:
            browser.close()

    session = CallSession.objects.get(patient=patient)
    assert (session.status, session.outcome) == ("completed", "confirmed")
    assert session.started_by_id == desk_user.pk
    other = CallSession.objects.get(pk=other_id)
    assert other.status == "terminated"
    assert other.started_by_label and other.sid
    wait_until(
        lambda: (
            sim_get(live.sim, "/_sim/voice")["calls"][other.sid]["status"]
            == "completed"
        ),
        timeout=20,
        what="the carrier to end the hung-up call",
    )
