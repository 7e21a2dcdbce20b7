"""Schedule pages: the booking form, the patient picker, booking from a patient."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.models import Appointment, AuditEntry
from clinic.tests.factories import AppointmentTypeFactory
from clinic.tests.page_support import within
from clinic.tests.schedule_support import (
    HX,
    at,
    book,
    html_of,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
    today,
    tomorrow,
)
from portal.models import Membership


def booking_data(s, **overrides) -> dict:
    data = {
        "provider": s.able.pk,
        "patient": s.grace.pk,
        "appointment_type": s.visit.pk,
        "date": tomorrow().isoformat(),
        "time": "10:00",
        "reason": "Blood pressure follow-up",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- Booking --------------------------------------------------------------------------


def test_booking_form_offers_the_providers_types_and_the_time_clicked(
    staff_client, sched
):
    with within(sched.clinic):
        AppointmentTypeFactory(name="Cardiac stress test", offered_by=[sched.baker])
    response = staff_client.get(
        "/schedule/book/",
        {
            "provider": sched.able.pk,
            "start": f"{tomorrow().isoformat()}T10:30",
            "patient": sched.grace.pk,
        },
        **HX,
    )
    assert response.status_code == 200
    html = html_of(response)
    assert "<html" not in html and "Dr. Ada Able" in html
    assert "Check-up" in html and "Cardiac stress test" not in html
    assert f'value="{tomorrow().isoformat()}"' in html and 'value="10:30"' in html
    assert f'name="patient" value="{sched.grace.pk}" checked' in html
    assert 'name="overbook"' not in html


def test_booking_a_free_slot_books_it_and_refreshes_the_calendar(
    staff_client, sched, staff_user
):
    response = staff_client.post("/schedule/book/", booking_data(sched), **HX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "appointments-changed"
    with within(sched.clinic):
        appt = Appointment.objects.get()
    assert appt.start == at(tomorrow(), 10) and appt.provider_id == sched.able.pk
    assert appt.patient_id == sched.grace.pk and appt.booked_by_id == staff_user.pk
    assert appt.reason == "Blood pressure follow-up"
    html = html_of(response)
    assert "Appointment booked." in html and f'data-appointment="{appt.pk}"' in html


def test_booking_without_javascript_redirects_to_the_appointment(staff_client, sched):
    response = staff_client.post("/schedule/book/", booking_data(sched))
    with within(sched.clinic):
        appt = Appointment.objects.get()
    assert (
        response.status_code == 302
        and response["Location"] == f"/appointments/{appt.pk}/"
    )
    page = staff_client.get(response["Location"])
    assert "<html" in html_of(page) and "Appointment booked." in html_of(page)


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"time": "07:00"}, "not available"),
        ({"time": "10:05"}, "every 15 minutes"),
        ({"date": "2001-01-01"}, "in the past"),
        ({"patient": None}, "pick them from the list"),
    ],
)
def test_booking_refused_by_a_rule_shows_it_on_the_form_and_writes_nothing(
    staff_client, sched, overrides, words
):
    response = staff_client.post(
        "/schedule/book/", booking_data(sched, **overrides), **HX
    )
    assert response.status_code == 400
    html = html_of(response)
    assert words in html and "Nothing was booked." in html
    assert f'name="provider" value="{sched.able.pk}"' in html
    with within(sched.clinic):
        assert not Appointment.objects.exists()


def test_booking_an_archived_patient_is_refused(staff_client, sched):
    with within(sched.clinic):
        sched.alan.status = "archived"
        sched.alan.save(update_fields=["status"])
    response = staff_client.post(
        "/schedule/book/", booking_data(sched, patient=sched.alan.pk), **HX
    )
    assert response.status_code == 400 and "archived" in html_of(response)


def test_booking_a_taken_time_is_a_conflict_that_names_the_visit_in_the_way(
    staff_client, sched
):
    taken = book(sched, at(tomorrow(), 10), patient=sched.alan)
    response = staff_client.post(
        "/schedule/book/", booking_data(sched, time="10:15"), **HX
    )
    assert response.status_code == 409
    html = html_of(response)
    assert "conflicts with another appointment" in html
    assert "Turing, Alan" in html and "10:00–10:30" in html
    with within(sched.clinic):
        assert list(Appointment.objects.values_list("pk", flat=True)) == [taken.pk]


def test_overbooking_is_offered_only_to_staff_allowed_to(
    staff_client, sched, clinic, staff_user
):
    taken = book(sched, at(tomorrow(), 10), patient=sched.alan)
    params = {"provider": sched.able.pk, "start": f"{tomorrow().isoformat()}T10:00"}
    assert 'name="overbook"' not in html_of(
        staff_client.get("/schedule/book/", params, **HX)
    )
    # Forged without the permission: refused, nothing written.
    forged = staff_client.post(
        "/schedule/book/",
        booking_data(sched, overbook="on", overbook_reason="urgent"),
        **HX,
    )
    assert forged.status_code in (400, 409)
    clinic.allow_overbooking = True
    clinic.save(update_fields=["allow_overbooking"])
    Membership.objects.filter(user=staff_user, clinic=clinic).update(can_overbook=True)
    assert 'name="overbook"' in html_of(
        staff_client.get("/schedule/book/", params, **HX)
    )
    missing_reason = staff_client.post(
        "/schedule/book/", booking_data(sched, overbook="on"), **HX
    )
    assert missing_reason.status_code == 400
    assert "Choose why this visit is overbooked." in html_of(missing_reason)
    response = staff_client.post(
        "/schedule/book/",
        booking_data(sched, overbook="on", overbook_reason="urgent"),
        **HX,
    )
    assert response.status_code == 200
    with within(clinic):
        extra = Appointment.objects.exclude(pk=taken.pk).get()
    assert extra.is_overbooked and extra.overbook_reason == "urgent"


def test_patient_picker_finds_active_patients_misspelled_and_audits_the_search(
    staff_client, sched, staff_user
):
    response = staff_client.get("/schedule/patients/", {"q": "hoper"}, **HX)
    html = html_of(response)
    assert (
        f'name="patient" value="{sched.grace.pk}"' in html and "Hopper, Grace" in html
    )
    assert "Turing" not in html
    with within(sched.clinic):
        entry = AuditEntry.objects.filter(
            actor=staff_user, action=AuditEntry.Action.ACCESS
        ).get()
    assert entry.patient_ids == [sched.grace.pk] and entry.query == "hoper"
    # A patient already picked stays picked while searching again.
    again = html_of(
        staff_client.get(
            "/schedule/patients/", {"q": "turing", "patient": sched.grace.pk}, **HX
        )
    )
    assert f'value="{sched.grace.pk}" checked' in again and "Turing, Alan" in again
    assert "No active patient matches" in html_of(
        staff_client.get("/schedule/patients/", {"q": "zzzzzz"}, **HX)
    )


# --- Patient detail -------------------------------------------------------------------


def test_patient_detail_lists_upcoming_and_past_appointments_with_a_book_link(
    staff_client, sched
):
    yesterday = today() - timedelta(days=1)
    past = book(sched, at(yesterday, 11), now=at(yesterday, 8))
    upcoming = book(sched, at(tomorrow(), 10))
    alans = book(sched, at(tomorrow(), 11), patient=sched.alan)
    html = html_of(staff_client.get(f"/patients/{sched.grace.pk}/"))
    upcoming_part = html.split('class="upcoming"')[1].split('class="past"')[0]
    past_part = html.split('class="past"')[1]
    assert (
        f"/appointments/{upcoming.pk}/" in upcoming_part
        and f"/appointments/{past.pk}/" in past_part
    )
    assert f"/appointments/{alans.pk}/" not in html  # only her own visits
    assert f'href="/schedule/day/?patient={sched.grace.pk}"' in html
    booking = html_of(
        staff_client.get(
            "/schedule/day/",
            {"patient": sched.grace.pk, "date": tomorrow().isoformat()},
        )
    )
    assert "Booking for <strong>Grace Hopper</strong>" in booking
    assert f"&amp;patient={sched.grace.pk}" in booking
