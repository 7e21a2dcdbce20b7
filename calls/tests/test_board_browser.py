"""In Chromium: the call board stays open while calls run through the worker and the
simulator; statuses change, durations run, the transcript grows, and the hang-up button
ends a call, all without a reload."""

from __future__ import annotations

import re

from calls.models import CallSession
from calls.services.voice_dial import call_request
from calls.tests.support import at, days_ahead, policy
from calls.tests.test_browser_inbox import PASSWORD, desk_user  # noqa: F401 (fixture)
from calls.tests.live_support import wait_until
from calls.tests.voice_support import (  # noqa: F401 (voice_committed: a fixture)
    callee,
    sim_get,
    voice_committed,
    voice_schedule,
)
from clinic.services import appointment_book
from clinic.tests.browser_support import browser_marks, csp_violations, launch, shot
from portal.models import Membership

pytestmark = browser_marks


def test_the_board_shows_a_call_change_and_its_transcript_grow_without_reload(
    live, voice_committed, desk_user
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
    desk = Membership.objects.select_related("user").get(user=desk_user)
    visits = [
        appointment_book(
            patient=p,
            provider=doc,
            appointment_type=visit_type,
            start=at(days_ahead(2), 9 + n),
            booked_by=None,
        )
        for n, p in enumerate((patient, quiet))
    ]

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

            session = call_request(
                actor=desk, patient=patient, appointment=visits[0], purpose="confirmation"
            )
            row = page.locator(f"#call-{session.pk}")
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
            expect(recent.locator(f"#call-{session.pk} [data-call-status]")).to_have_text(
                "Completed"
            )
            expect(recent.locator(f"#call-{session.pk}")).to_contain_text("Confirmed")

            # A second call: staff hang it up from the board.
            other = call_request(
                actor=desk, patient=quiet, appointment=visits[1], purpose="confirmation"
            )
            live_row = page.locator(f"#calls-active #call-{other.pk}")
            expect(live_row.locator("[data-call-status]")).to_have_text("In Progress")
            live_row.get_by_role("button", name="Hang up").click()
            expect(
                page.locator(f"#calls-recent #call-{other.pk} [data-call-status]")
            ).to_have_text("Terminated")
            shot(page, "call_board_done")
            assert blocked == []
        finally:
            browser.close()

    session.refresh_from_db()
    assert (session.status, session.outcome) == ("completed", "confirmed")
    other = CallSession.objects.get(pk=other.pk)
    assert other.status == "terminated"
    assert other.started_by_label and other.sid
    wait_until(
        lambda: sim_get(live.sim, "/_sim/voice")["calls"][other.sid]["status"]
        == "completed",
        timeout=20,
        what="the carrier to end the hung-up call",
    )
