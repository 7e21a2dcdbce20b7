"""Hostile input to the staff pages: a 400 page or form error, never a 500.

Dates at the ends of the calendar overflowed Python's date arithmetic, page
numbers and ids past bigint broke PostgreSQL, and digits that are not ASCII
(`²`) passed `str.isdigit()` and then broke `int()`.
"""

from __future__ import annotations

import pytest

from clinic.actors import SYSTEM
from clinic.models import Appointment, Patient, WaitlistEntry
from clinic.services import waitlist_add
from clinic.tests.page_support import (
    intake_fixture,  # noqa: F401  (the `intake` fixture)
    within,
)
from clinic.tests.schedule_support import (
    HX,
    at,
    book,
    html_of,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
    today,
    tomorrow,
)
from portal.limits import DATE_RANGE_MESSAGE, UTC_OFFSET_MESSAGE

FAR_DATES = ["9999-12-31", "0001-01-01"]


def _counts(s) -> tuple[int, int, int]:
    with within(s.clinic):
        return (
            Appointment.objects.count(),
            WaitlistEntry.objects.count(),
            Patient.objects.count(),
        )


# --- Calendars ------------------------------------------------------------------------


@pytest.mark.parametrize("value", FAR_DATES)
@pytest.mark.parametrize("view", ["day", "week"])
def test_a_calendar_date_out_of_range_is_a_400_showing_today(
    staff_client, sched, view, value
):
    response = staff_client.get(f"/schedule/{view}/", {"date": value})

    assert response.status_code == 400
    html = html_of(response)
    assert DATE_RANGE_MESSAGE in html and "Showing today instead." in html
    assert today().strftime("%B") in html


def test_an_htmx_calendar_refresh_out_of_range_is_a_400_grid(staff_client, sched):
    response = staff_client.get(
        "/schedule/week/",
        {"date": "9999-12-31"},
        HTTP_HX_TARGET="calendar",
        **HX,
    )

    assert response.status_code == 400
    assert "<html" not in html_of(response)


@pytest.mark.parametrize("value", ["²", "1e400", "99999999999999999999", "-1"])
def test_odd_ids_in_schedule_queries_are_left_out(staff_client, sched, value):
    for path in ("/schedule/day/", "/schedule/week/"):
        response = staff_client.get(path, {"provider": value, "patient": value})
        assert response.status_code == 200, path
    assert staff_client.get("/waitlist/", {"patient": value}).status_code == 200
    picker = staff_client.get("/schedule/patients/", {"q": "Gr", "patient": value})
    assert picker.status_code == 200
    assert staff_client.get("/schedule/book/", {"provider": value}).status_code == 404


# --- Booking and moving ---------------------------------------------------------------


@pytest.mark.parametrize("value", FAR_DATES)
def test_booking_on_a_date_out_of_range_is_a_form_error(staff_client, sched, value):
    before = _counts(sched)

    response = staff_client.post(
        "/schedule/book/",
        {
            "provider": sched.able.pk,
            "patient": sched.grace.pk,
            "appointment_type": sched.visit.pk,
            "date": value,
            "time": "23:59",
        },
    )

    assert response.status_code == 400
    assert DATE_RANGE_MESSAGE in html_of(response)
    assert _counts(sched) == before


@pytest.mark.parametrize(
    "start",
    ["9999-12-31T23:59:59", "0001-01-01T00:00:00Z", "2030-01-07T10:00:00+16:00"],
)
def test_a_booking_link_with_an_unusable_start_leaves_the_time_empty(
    staff_client, sched, start
):
    response = staff_client.get(
        "/schedule/book/", {"provider": sched.able.pk, "start": start}
    )

    assert response.status_code == 200
    assert 'name="date" value=' not in html_of(response)


@pytest.mark.parametrize("value", FAR_DATES)
def test_rescheduling_to_a_date_out_of_range_is_a_form_error(
    staff_client, sched, value
):
    appointment = book(sched, at(tomorrow(), 10))
    prefix = f"r{appointment.pk}"

    response = staff_client.post(
        f"/appointments/{appointment.pk}/reschedule/",
        {
            f"{prefix}-date": value,
            f"{prefix}-time": "23:59",
            f"{prefix}-provider": sched.able.pk,
        },
    )

    assert response.status_code == 400
    assert DATE_RANGE_MESSAGE in html_of(response)
    with within(sched.clinic):
        assert Appointment.objects.get().start == appointment.start


# --- Waitlist -------------------------------------------------------------------------


@pytest.mark.parametrize("value", FAR_DATES)
def test_waitlist_dates_out_of_range_are_form_errors(staff_client, sched, value):
    before = _counts(sched)

    response = staff_client.post(
        "/waitlist/",
        {
            "patient": sched.grace.pk,
            "appointment_type": sched.visit.pk,
            "earliest_date": value,
            "latest_date": value,
        },
    )

    assert response.status_code == 400
    assert html_of(response).count(DATE_RANGE_MESSAGE) == 2
    assert _counts(sched) == before


@pytest.mark.parametrize(
    "start, message",
    [
        ("9999-12-31T23:59:59-12:00", DATE_RANGE_MESSAGE),
        ("9999-12-31T23:59:59", DATE_RANGE_MESSAGE),
        ("2030-01-07T10:00:00+16:00", UTC_OFFSET_MESSAGE),
    ],
)
def test_booking_from_the_waitlist_refuses_unusable_starts(
    staff_client, sched, start, message
):
    with within(sched.clinic):
        entry = waitlist_add(
            patient=sched.alan, appointment_type=sched.visit, actor=SYSTEM
        )
    before = _counts(sched)

    response = staff_client.post(
        f"/waitlist/{entry.pk}/book/",
        {"provider": sched.able.pk, "start": start, "panel": "²"},
    )

    assert response.status_code == 400
    assert message in html_of(response)
    assert _counts(sched) == before


# --- Patients -------------------------------------------------------------------------


@pytest.mark.parametrize("value", FAR_DATES)
def test_a_date_of_birth_out_of_range_is_a_form_error(staff_client, sched, value):
    before = _counts(sched)

    response = staff_client.post(
        "/patients/new/",
        {
            "first_name": "Ada",
            "last_name": "Old",
            "date_of_birth": value,
            "sex": "unknown",
            "preferred_language": "en",
        },
    )

    assert response.status_code == 400
    assert DATE_RANGE_MESSAGE in html_of(response)
    assert _counts(sched) == before


def test_a_workflow_date_out_of_range_is_a_form_error(staff_client, clinic, intake):
    response = staff_client.post(
        "/patients/new/",
        {
            "first_name": "Ada",
            "last_name": "Old",
            "date_of_birth": "1990-01-01",
            "sex": "unknown",
            "preferred_language": "en",
            "workflow": str(intake.pk),
            "fields.referral_source": "GP",
            "fields.insured": "True",
            "fields.first_visit": "9999-12-31",
        },
    )

    assert response.status_code == 400
    assert DATE_RANGE_MESSAGE in html_of(response)
    with within(clinic):
        assert not Patient.objects.exists()


@pytest.mark.parametrize("value", ["²", "1e400", "99999999999999999999"])
def test_an_odd_workflow_id_on_the_patient_form_is_refused(staff_client, clinic, value):
    fields = staff_client.get("/patients/workflow-fields/", {"workflow": value})
    created = staff_client.post(
        "/patients/new/", {"first_name": "Ada", "workflow": value}
    )

    assert fields.status_code == 200
    assert created.status_code == 400


@pytest.mark.parametrize("page", ["99999999999999999999", "9223372036854775807"])
def test_a_page_number_past_the_last_supported_one_is_a_400(staff_client, clinic, page):
    for query in ({"page": page}, {"q": "ada", "page": page}):
        response = staff_client.get("/patients/", query)
        assert response.status_code == 400, query


# --- Audit trail ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"start": "9999-12-31", "end": "9999-12-31"},
        {"start": "0001-01-01"},
        {"patient": "99999999999999999999"},
        {"page": "99999999999999999999"},
    ],
)
def test_audit_filters_out_of_range_are_a_400_with_field_errors(
    admin_client_alpha, clinic, query
):
    page = admin_client_alpha.get("/audit/", query)
    export = admin_client_alpha.get("/audit/export.csv", query)

    assert page.status_code == 400
    assert export.status_code == 400
    assert export.content.decode().startswith("Invalid filters, nothing exported.")
