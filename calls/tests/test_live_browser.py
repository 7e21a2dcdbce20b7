"""In Chromium: the shared live client (static/js/live.js) gets what it missed while
its socket was down, in order and once, by reconnecting with ?since=."""

from __future__ import annotations

import re

from calls.tests.live_socket_support import publish_in
from clinic.tests.browser_support import (
    browser_marks,
    csp_violations,
    launch,
    server,  # noqa: F401  (the fixture)
    sign_in,
)
from clinic.tests.schedule_browser_support import off_the_loop
from conftest import PASSWORD

pytestmark = browser_marks


def seen_at_least(page, count: int) -> None:
    """Poll the page (wait_for_function would eval a string, which CSP forbids)."""
    for _ in range(150):
        if page.evaluate("() => window.seen.length") >= count:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the page saw {page.evaluate('() => window.seen')}")


def test_a_page_whose_socket_dropped_gets_what_it_missed_in_order_once(
    server,  # noqa: F811 (the fixture)
    django_db_blocker,
):
    from django.contrib.sessions.models import Session
    from playwright.sync_api import expect, sync_playwright

    def publish(n: int) -> None:
        with django_db_blocker.unblock():
            off_the_loop(lambda: publish_in("c_alpha", n))

    opened: list = []
    with django_db_blocker.unblock():
        sessions_before = set(Session.objects.values_list("session_key", flat=True))

    def through(ws) -> None:  # the page's socket, passed on to the real server
        ws.connect_to_server()
        opened.append(ws)

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            blocked = csp_violations(page)
            page.set_default_timeout(15_000)
            page.route_web_socket(re.compile(r"/ws/events/"), through)
            sign_in(page, server, "desk@alpha.test", PASSWORD)
            page.goto(server + "/messages/")
            expect(page.locator("html[data-live=on]")).to_have_count(1)
            first = len(opened)  # the page signed in on had its own socket
            page.evaluate(
                """() => {
                    window.seen = [];
                    PortalLive.on("ping", (e) => window.seen.push(e.n));
                    PortalLive.on("resync", () => window.seen.push("resync"));
                }"""
            )
            publish(1)
            seen_at_least(page, 1)

            opened[-1].close(code=4000, reason="cut by the test")
            expect(page.locator("html[data-live=off]")).to_have_count(1)
            publish(2)
            publish(3)
            expect(page.locator("html[data-live=on]")).to_have_count(1)
            publish(4)
            seen_at_least(page, 4)
            page.wait_for_timeout(300)  # nothing more may come

            assert page.evaluate("window.seen") == [1, 2, 3, 4]
            assert len(opened) == first + 1  # one reconnect
            assert re.search(r"since=\d+", opened[-2].url)  # the rendered page's seq
            assert re.search(r"since=\d+", opened[-1].url)
            assert blocked == []
        finally:
            browser.close()
    with django_db_blocker.unblock():
        Session.objects.exclude(session_key__in=sessions_before).delete()
