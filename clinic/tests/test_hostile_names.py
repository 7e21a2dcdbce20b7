"""A patient and a provider with markup in their names, in every calendar and panel:
the pages show the names as text and never as markup."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinic.actors import SYSTEM
from clinic.services import appointment_cancel, waitlist_add
from clinic.tests.factories import PatientFactory, member
from clinic.tests.page_support import within
from clinic.tests.schedule_support import (
    HX,
    at,
    book,
    html_of,
    sched_fixture,  # noqa: F401 (the `sched` fixture)
    tomorrow,
)

PATIENT_FIRST = '<script>alert("first")</script>'
PATIENT_LAST = "O'Hara\"><img src=x onerror=alert(1)>"
PROVIDER = "Dr. <b onmouseover=alert(2)>Evil</b> & Co"
RAW = ("<script>", "<img src=x", "<b onmouseover", 'alert(1)">')


@pytest.fixture
def hostile(sched):
    with within(sched.clinic):
        sched.able.name = PROVIDER
        sched.able.save()
        patient = PatientFactory(first_name=PATIENT_FIRST, last_name=PATIENT_LAST)
        waiting = PatientFactory(first_name=PATIENT_FIRST, last_name=PATIENT_LAST)
    sched.hostile = patient
    sched.waiting = waiting
    return sched


def _assert_safe(html: str) -> None:
    for raw in RAW:
        assert raw not in html, raw
    assert "&lt;script&gt;" in html or "&lt;img" in html or "&lt;b" in html


@pytest.mark.parametrize("view", ["schedule-day", "schedule-week"])
@pytest.mark.parametrize("partial", [False, True])
def test_calendars_show_hostile_names_as_text(staff_client, hostile, view, partial):
    book(hostile, at(tomorrow(), 10), patient=hostile.hostile)
    headers = {**HX, "HTTP_HX_TARGET": "calendar"} if partial else {}
    response = staff_client.get(
        reverse(view), {"date": tomorrow().isoformat()}, **headers
    )
    assert response.status_code == 200
    html = html_of(response)
    _assert_safe(html)
    assert "&lt;b onmouseover=alert(2)&gt;Evil&lt;/b&gt; &amp; Co" in html


@pytest.mark.parametrize("partial", [False, True])
def test_the_panel_shows_hostile_names_as_text(staff_client, hostile, partial):
    visit = book(hostile, at(tomorrow(), 10), patient=hostile.hostile)
    with within(hostile.clinic):
        waitlist_add(
            patient=hostile.waiting, appointment_type=hostile.visit, actor=SYSTEM
        )
        appointment_cancel(
            appointment=visit, actor=member(hostile.user), reason="<i>Ill</i>"
        )
    headers = HX if partial else {}
    html = html_of(
        staff_client.get(reverse("appointment-panel", args=[visit.pk]), **headers)
    )
    _assert_safe(html)
    assert "Waitlist for this freed slot" in html  # the match is named, as text
    assert "<i>Ill</i>" not in html


def test_today_and_the_waitlist_show_hostile_names_as_text(staff_client, hostile):
    with within(hostile.clinic):
        waitlist_add(
            patient=hostile.waiting, appointment_type=hostile.visit, actor=SYSTEM
        )
    _assert_safe(html_of(staff_client.get(reverse("waitlist"))))
    for raw in RAW:
        assert raw not in html_of(staff_client.get(reverse("today")))
