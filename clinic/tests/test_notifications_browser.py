"""In Chromium: the navigation's notification count rises without a reload when a task
is assigned to the signed-in member, and does not move for another member's news.

A uvicorn server runs against the test database (clinic.tests.browser_support),
so what it must see is committed; the test removes what it made at the end.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import pytest
from django.db import connection, transaction
from django.db.models import Q

from clinic.tests import browser_support
from clinic.tests.browser_support import (
    browser_marks,
    csp_violations,
    launch,
    server,  # noqa: F401 (a fixture)
    shot,
)

PASSWORD = "browser-test-password-1"
pytestmark = browser_marks
_ports = iter(range(8450, 8500))


@pytest.fixture(autouse=True)
def _own_ports(monkeypatch):
    """This engineer's port range (8450-8499) for the server the test starts."""
    monkeypatch.setattr(browser_support, "free_port", lambda: next(_ports))


@pytest.fixture
def people(django_db_setup, django_db_blocker):
    from django_tenants.utils import schema_context

    from portal.models import Clinic, Role
    from portal.services import membership_grant, user_create

    tag = uuid4().hex[:8]
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        alpha = Clinic.objects.get(slug="alpha")
        me = user_create(
            email=f"notif-{tag}@alpha.test", password=PASSWORD, full_name="Robin"
        )
        other = user_create(email=f"other-{tag}@alpha.test", password=PASSWORD)
        mine = membership_grant(user=me, clinic=alpha, role=Role.FRONT_DESK)
        theirs = membership_grant(user=other, clinic=alpha, role=Role.FRONT_DESK)
    try:
        yield {
            "clinic": alpha,
            "me": me,
            "mine": mine,
            "theirs": theirs,
            "other": other,
            "tag": tag,
        }
    finally:
        with django_db_blocker.unblock():
            from django.contrib.sessions.models import Session

            from clinic.models import AuditEntry, Notification, Task
            from portal.models import SecurityEvent

            connection.set_schema_to_public()
            with schema_context(alpha.schema_name):
                Notification.objects.filter(member_id__in=[mine.pk, theirs.pk]).delete()
                tasks = Task.objects.filter(title__startswith=f"Browser {tag}")
                AuditEntry.objects.filter(
                    Q(actor__in=[me, other])
                    | Q(
                        object_pk__in=[
                            str(pk) for pk in tasks.values_list("pk", flat=True)
                        ]
                    )
                ).delete()
                tasks.delete()
            for session in Session.objects.all():
                if session.get_decoded().get("_auth_user_id") in (
                    str(me.pk),
                    str(other.pk),
                ):
                    session.delete()
            SecurityEvent.objects.filter(Q(user__in=[me, other])).delete()
            with schema_context(alpha.schema_name):
                me.delete()
                other.delete()


def _assign(alpha, *, to, title: str) -> None:
    """Assign a task, committed, from a thread of its own.

    Playwright's sync API runs an event loop in the test's thread, where Django
    refuses database work.
    """
    from calls.actors import SystemActor
    from clinic.services.tasks import task_create

    def work() -> None:
        connection.set_tenant(alpha)
        try:
            with transaction.atomic():
                task_create(actor=SystemActor("browser test"), title=title, assignee=to)
        finally:
            connection.set_schema_to_public()
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(work).result()


def test_the_unread_count_rises_live_for_its_member_only(
    server,  # noqa: F811 (the fixture)
    people,
    django_db_blocker,
):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            blocked = csp_violations(page)
            page.set_default_timeout(10_000)
            page.goto(server + "/account/sign-in/")
            page.get_by_label("Email").fill(people["me"].email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(server + "/")
            badge = page.locator("#nav-notif")
            expect(badge).to_be_hidden()
            expect(page.locator("html[data-notifications-live=on]")).to_have_count(1)

            with django_db_blocker.unblock():
                _assign(
                    people["clinic"],
                    to=people["theirs"],
                    title=f"Browser {people['tag']} other",
                )
            page.wait_for_timeout(1000)
            expect(badge).to_be_hidden()  # another member's news: no change here

            with django_db_blocker.unblock():
                _assign(
                    people["clinic"],
                    to=people["mine"],
                    title=f"Browser {people['tag']} mine",
                )
            expect(badge).to_have_text("1")
            expect(badge).to_be_visible()
            shot(page, "notification_badge_live")

            page.goto(server + "/notifications/")
            page.get_by_role("button", name="Mark all read").click()
            expect(page.locator("#nav-notif")).to_be_hidden()
            assert blocked == []
        finally:
            browser.close()
