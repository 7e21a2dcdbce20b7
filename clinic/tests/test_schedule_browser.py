"""End to end in a browser: book from the week view, see it live, check a patient in.

A uvicorn server runs against the test database (clinic.tests.browser_support).
The test commits a small clinic's week in "alpha" (providers, visit types,
patients, a schedule with every status, a waitlist) outside any test
transaction, and deletes exactly what it made at the end. The visit to check in
is made directly for earlier today, so the test holds whatever the time of day.
Set BROWSER_SCREENSHOTS=<dir> to keep screenshots of the pages.
"""

from __future__ import annotations

import re
from datetime import datetime, time

from django.db import connection

from clinic.tests.browser_support import (
    browser_marks,
    csp_violations,
    launch,
    server,  # noqa: F401 (a fixture)
    shot,
    sign_in,
)
from clinic.tests.factories import member
from clinic.tests.schedule_browser_support import (
    BOOK_PATIENT,
    LIVE_PATIENT,
    NY,
    PASSWORD,
    arriving_visit,
    clinic_week,  # noqa: F401 (a fixture)
    off_the_loop,
)

pytestmark = browser_marks


def test_book_from_the_week_view_see_it_live_and_check_a_patient_in(
    server,  # noqa: F811 (the fixture)
    clinic_week,  # noqa: F811 (the fixture)
    django_db_blocker,
):
    from django_tenants.utils import schema_context
    from playwright.sync_api import expect, sync_playwright

    from clinic.models import Appointment
    from clinic.services import appointment_book

    week = clinic_week
    user, tomorrow = week["user"], week["tomorrow"]
    maya = week["providers"][0]
    column = sorted(week["providers"], key=lambda p: (p.name, p.pk)).index(maya)
    columns = len(week["providers"])
    wolfenden = week["patients"][BOOK_PATIENT]
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            blocked = csp_violations(page)
            page.set_default_timeout(10_000)
            sign_in(page, server, user.email, PASSWORD)
            expect(
                page.get_by_role("link", name="Schedule", exact=True)
            ).to_be_visible()

            # The week of tomorrow: every visit of tomorrow is still to come.
            page.goto(f"{server}/schedule/week/?date={tomorrow.isoformat()}")
            expect(page.locator(".wg-prov")).to_have_count(columns)
            cell = page.locator(".wg-cell").nth(tomorrow.weekday() * columns + column)
            free = cell.locator("a.free", has_text="13:00–14:30")
            expect(free).to_be_visible()
            page.wait_for_timeout(300)  # let the live-updates socket connect
            shot(page, "schedule_week", full_page=False)

            # Click the free time: the booking form opens beside the calendar.
            free.click()
            drawer = page.locator("#drawer")
            expect(drawer.get_by_role("heading", level=2)).to_contain_text(
                "Dr. Maya Patel"
            )
            expect(drawer.get_by_label("Time")).to_have_value("13:00")
            drawer.locator("input[type=search]").press_sequentially(
                "wolfendn", delay=30
            )
            choice = drawer.locator("label.choice", has_text="Wolfenden, Quintessa")
            expect(choice).to_be_visible()
            choice.click()
            drawer.get_by_label("Visit type").select_option(label="Follow-up")
            drawer.get_by_label("Reason for visit").fill(
                "Review of home blood pressure readings"
            )
            shot(page, "booking_form", full_page=False)
            drawer.get_by_role("button", name="Book appointment").click()
            expect(drawer).to_contain_text("Appointment booked.")
            expect(drawer.get_by_role("heading", level=2)).to_have_text(
                "Quintessa Wolfenden"
            )
            shot(page, "appointment_panel_booked", full_page=False)
            # The calendar refreshed itself.
            cell = page.locator(".wg-cell").nth(tomorrow.weekday() * columns + column)
            expect(cell.locator("a.appt", has_text="Wolfenden, Q.")).to_contain_text(
                "13:00"
            )
            expect(cell.locator("a.free", has_text="13:30–14:30")).to_be_visible()

            # A taken time is refused (409) in the form, naming the visit in the way.
            cell.locator("a.free", has_text="13:30–14:30").click()
            expect(drawer.get_by_label("Time")).to_have_value("13:30")
            drawer.locator("input[type=search]").press_sequentially(
                "pemberton", delay=20
            )
            drawer.locator("label.choice", has_text="Pemberton, Ivo").click()
            drawer.get_by_label("Time").fill("13:00")
            drawer.get_by_role("button", name="Book appointment").click()
            expect(drawer.get_by_role("alert")).to_contain_text(
                "conflicts with another"
            )
            expect(drawer.get_by_role("alert")).to_contain_text("Wolfenden, Quintessa")
            expect(drawer.locator("label.choice.is-picked")).to_contain_text(
                "Pemberton"
            )
            shot(page, "booking_conflict", full_page=False)
            page.keyboard.press("Escape")

            # A colleague books elsewhere: the open calendar shows it without a reload.
            def colleague_books():
                with (
                    django_db_blocker.unblock(),
                    schema_context(week["clinic"].schema_name),
                ):
                    connection.set_tenant(week["clinic"])
                    appointment_book(
                        patient=week["patients"][LIVE_PATIENT],
                        provider=maya,
                        appointment_type=week["types"][1],
                        start=datetime.combine(tomorrow, time(14), tzinfo=NY),
                        actor=member(None),
                    )

            off_the_loop(colleague_books)
            expect(cell.locator("a.appt", has_text="Pemberton, I.")).to_contain_text(
                "14:00", timeout=8000
            )
            page.keyboard.press("Escape")
            expect(drawer).to_be_empty()

            # The day view: a click in free time books the time under the pointer.
            page.goto(f"{server}/schedule/day/?date={tomorrow.isoformat()}")
            gap = (
                page.locator(".dg-col")
                .nth(column)
                .locator("a.free", has_text="13:30–14:00")
            )
            gap.click(position={"x": 30, "y": 1.6 * 15 + 4})
            expect(drawer.get_by_label("Time")).to_have_value("13:45")
            page.keyboard.press("Escape")
            page.goto(f"{server}/schedule/day/?date={week['today'].isoformat()}")
            expect(page.locator(".dg-col")).to_have_count(columns)
            shot(page, "schedule_day", full_page=False)
            booked = page.locator(".dg-col").nth(column).locator("a.appt").first
            booked.click()
            expect(
                drawer.locator(".panel-section h3", has_text="History")
            ).to_be_visible()
            shot(page, "appointment_panel", full_page=False)

            # Today: the arriving patient is checked in from the list.
            arriving = off_the_loop(lambda: arriving_visit(week, django_db_blocker))
            page.goto(server + "/today/")
            row = page.locator("tr", has_text="Ashdown, Bartholomew")
            expect(row).to_contain_text("Confirmed")
            page.get_by_role("button", name="Check in Bartholomew Ashdown").click()
            expect(page.locator("#today-board")).to_contain_text(
                "Bartholomew Ashdown is checked in."
            )
            expect(page.locator("tr", has_text="Ashdown, Bartholomew")).to_contain_text(
                "Checked in"
            )
            shot(page, "today", full_page=False)

            # The patient's record lists the visit; its link opens it as a page.
            page.goto(f"{server}/patients/{wolfenden.pk}/")
            upcoming = page.locator("tbody.upcoming")
            expect(upcoming).to_contain_text("Dr. Maya Patel")
            shot(page, "patient_detail")
            upcoming.get_by_role("link").first.click()
            expect(page.get_by_role("heading", level=2)).to_have_text(
                "Quintessa Wolfenden"
            )
            expect(page.locator("#drawer")).to_contain_text("13:00–13:30")
            shot(page, "appointment_page")

            page.goto(server + "/waitlist/")
            expect(page.get_by_role("heading", name="Freed slots")).to_be_visible()
            shot(page, "waitlist")
            assert blocked == []  # every page passed its Content-Security-Policy
        finally:
            browser.close()

    with django_db_blocker.unblock(), schema_context(week["clinic"].schema_name):
        booked = Appointment.objects.get(patient=wolfenden)
        assert booked.provider_id == maya.pk and booked.booked_by_id == user.pk
        assert booked.start == datetime.combine(tomorrow, time(13), tzinfo=NY)
        assert booked.reason == "Review of home blood pressure readings"
        assert Appointment.objects.get(pk=arriving.pk).status == "checked_in"
    assert re.match(r"http://alpha\.localhost:\d+", server)
