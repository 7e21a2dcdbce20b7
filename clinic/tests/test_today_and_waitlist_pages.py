"""Schedule pages: the Today board and the waitlist."""

from __future__ import annotations

import re
from datetime import time

from clinic.actors import SYSTEM
from clinic.models import Appointment, WaitlistEntry
from clinic.services import appointment_cancel, appointment_check_in, waitlist_add
from clinic.tests.factories import PatientFactory, ProviderFactory, member
from clinic.tests.page_support import within
from clinic.tests.schedule_support import (
    HX,
    access_entries,
    at,
    book,
    book_today,
    html_of,
    refreshed,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
    today,
    tomorrow,
)

# --- Today ----------------------------------------------------------------------------


def test_today_lists_arrivals_in_order_with_counts(staff_client, sched):
    first = book_today(sched)
    second = book_today(sched, patient=sched.alan)
    with within(sched.clinic):
        appointment_check_in(appointment=second, actor=member(sched.user))
    book(sched, at(tomorrow(), 10))  # not today
    response = staff_client.get("/today/")
    assert response.status_code == 200
    html = html_of(response)
    assert html.index(f"/appointments/{first.pk}/") < html.index(
        f"/appointments/{second.pk}/"
    )
    assert "Hopper, Grace" in html and "Turing, Alan" in html
    assert re.search(r'stat-total"><span class="num">2<', html)
    assert re.search(r'stat-expected"><span class="num">1<', html)
    assert re.search(r'stat-checked_in"><span class="num">1<', html)
    assert (
        f"/today/{first.pk}/check-in/" in html
        and f"/today/{second.pk}/check-in/" not in html
    )


def test_today_writes_one_access_entry_naming_the_patients_shown(staff_client, sched):
    first = book_today(sched)
    book_today(sched, patient=sched.alan)
    book_today(sched)  # Grace twice: named once
    with within(sched.clinic):
        tomorrows = PatientFactory(first_name="Ada", last_name="Lovelace")
    book(sched, at(tomorrow(), 10), patient=tomorrows)
    staff_client.get("/today/")
    (entry,) = access_entries(sched)
    assert entry.patient_ids == [sched.grace.pk, sched.alan.pk]
    assert entry.object_repr == "Today (2 shown)"
    assert entry.additional_data == {
        "via": "today",
        "filters": {"date": today().isoformat()},
    }
    # A check-in answers with the board, which is another read of it.
    staff_client.post(
        f"/today/{first.pk}/check-in/", HTTP_HX_TARGET="today-board", **HX
    )
    assert len(access_entries(sched)) == 2


def test_checking_in_from_today_updates_the_board(staff_client, sched):
    appt = book_today(sched)
    response = staff_client.post(
        f"/today/{appt.pk}/check-in/", HTTP_HX_TARGET="today-board", **HX
    )
    assert response.status_code == 200
    html = html_of(response)
    assert html.strip().startswith('<div id="today-board"')
    assert "Grace Hopper is checked in." in html
    assert re.search(r'stat-checked_in"><span class="num">1<', html)
    assert refreshed(sched, appt).status == "checked_in"
    again = staff_client.post(f"/today/{appt.pk}/check-in/", **HX)
    assert again.status_code == 409 and "cannot be checked in" in html_of(again)


def test_today_board_refreshes_alone_and_checks_in_without_javascript(
    staff_client, sched
):
    appt = book_today(sched)
    board = html_of(staff_client.get("/today/", HTTP_HX_TARGET="today-board", **HX))
    assert board.strip().startswith('<div id="today-board"') and "<html" not in board
    response = staff_client.post(f"/today/{appt.pk}/check-in/")
    assert response.status_code == 302 and response["Location"] == "/today/"
    assert refreshed(sched, appt).status == "checked_in"


def test_checking_in_a_future_visit_from_today_is_refused(staff_client, sched):
    appt = book(sched, at(tomorrow(), 10))
    response = staff_client.post(f"/today/{appt.pk}/check-in/", **HX)
    assert response.status_code == 409 and "day of their appointment" in html_of(
        response
    )
    assert refreshed(sched, appt).status == "scheduled"


# --- Waitlist -------------------------------------------------------------------------


def waitlist_data(s, **overrides) -> dict:
    data = {
        "patient": s.alan.pk,
        "appointment_type": s.visit.pk,
        "provider": "",
        "weekdays": ["0", "2"],
        "earliest_time": "09:00",
        "latest_time": "12:00",
        "earliest_date": "",
        "latest_date": "",
        "notes": "Prefers mornings",
    }
    data.update(overrides)
    return data


def test_adding_to_and_removing_from_the_waitlist(staff_client, sched):
    page = html_of(staff_client.get("/waitlist/", {"patient": sched.alan.pk}))
    assert f'value="{sched.alan.pk}" checked' in page
    response = staff_client.post("/waitlist/", waitlist_data(sched))
    assert response.status_code == 302 and response["Location"] == "/waitlist/"
    with within(sched.clinic):
        entry = WaitlistEntry.objects.get()
    assert (
        entry.patient_id == sched.alan.pk
        and entry.weekdays == [0, 2]
        and entry.provider_id is None
    )
    assert entry.earliest_time == time(9) and entry.notes == "Prefers mornings"
    html = html_of(staff_client.get("/waitlist/"))
    assert "Turing, Alan" in html and "Mon, Wed" in html and "09:00–12:00" in html
    assert staff_client.post(f"/waitlist/{entry.pk}/remove/").status_code == 302
    with within(sched.clinic):
        assert WaitlistEntry.objects.get().status == "removed"
    again = staff_client.post(f"/waitlist/{entry.pk}/remove/")
    assert again.status_code == 409 and "no longer waiting" in html_of(again)
    assert "Nobody is waiting" in html_of(again)


def test_a_waitlist_entry_against_the_rules_is_refused_with_field_errors(
    staff_client, sched
):
    with within(sched.clinic):
        loner = ProviderFactory(name="Dr. Solo")
    response = staff_client.post(
        "/waitlist/", waitlist_data(sched, latest_time="08:00", provider=loner.pk)
    )
    assert response.status_code == 400
    html = html_of(response)
    assert "The latest time must be after the earliest time." in html
    assert "does not offer" in html and "Nothing was added." in html
    with within(sched.clinic):
        assert not WaitlistEntry.objects.exists()


def test_freed_slots_list_the_matching_patients_best_first_and_book_them(
    staff_client, sched, staff_user
):
    appt = book(sched, at(tomorrow(), 10))
    with within(sched.clinic):
        anyone = waitlist_add(
            patient=sched.alan, appointment_type=sched.visit, actor=SYSTEM
        )
        keen = waitlist_add(
            patient=PatientFactory(first_name="Ida", last_name="Keen"),
            appointment_type=sched.visit,
            provider=sched.able,
            actor=SYSTEM,
        )
        waitlist_add(
            patient=PatientFactory(first_name="Otto", last_name="Other"),
            appointment_type=sched.visit,
            provider=sched.baker,
            actor=SYSTEM,
        )
        appointment_cancel(appointment=appt, actor=member(staff_user), reason="Travel")
    html = html_of(staff_client.get("/waitlist/"))
    freed = html.split('id="freed-heading"')[1].split('id="waiting-heading"')[0]
    assert "10:00–10:30" in freed and "Dr. Ada Able" in freed
    assert freed.index("Keen, Ida") < freed.index("Turing, Alan")
    assert "Other, Otto" not in freed
    response = staff_client.post(
        f"/waitlist/{keen.pk}/book/",
        {"provider": sched.able.pk, "start": appt.start.isoformat()},
    )
    assert response.status_code == 302
    with within(sched.clinic):
        booked = Appointment.objects.select_related("patient").exclude(pk=appt.pk).get()
        assert WaitlistEntry.objects.get(pk=keen.pk).status == "booked"
    assert booked.patient.last_name == "Keen" and booked.start == appt.start
    # The slot is taken now: booking the next patient into it is a conflict, shown.
    taken = staff_client.post(
        f"/waitlist/{anyone.pk}/book/",
        {"provider": sched.able.pk, "start": appt.start.isoformat()},
    )
    assert taken.status_code == 409 and "conflicts with another appointment" in html_of(
        taken
    )
    with within(sched.clinic):
        assert WaitlistEntry.objects.get(pk=anyone.pk).status == "waiting"
