"""Schedule pages: calendars, booking, the appointment panel, today, waitlist, admin."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from clinic.models import Appointment, AppointmentEvent, AuditEntry, WaitlistEntry
from clinic.services import (
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    waitlist_add,
)
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    weekday_hours,
)
from conftest import host_of
from portal.middleware import ClinicTenantMiddleware
from portal.models import Membership

NY = ZoneInfo("America/New_York")
HX = {"HTTP_HX_REQUEST": "true"}


@contextmanager
def within(clinic):
    """Run ORM code in a clinic's schema (a request leaves the connection anywhere)."""
    connection.set_tenant(clinic)
    try:
        yield
    finally:
        connection.set_schema_to_public()


def today() -> date:
    return datetime.now(NY).date()


def tomorrow() -> date:
    return today() + timedelta(days=1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NY)


@pytest.fixture
def sched(clinic, staff_user):
    """Two providers working 9-17 every day, a visit type both offer, two patients."""
    with within(clinic):
        location = LocationFactory()
        able = ProviderFactory(name="Dr. Ada Able", specialty="Family medicine")
        baker = ProviderFactory(name="Dr. Ben Baker", specialty="Cardiology")
        for provider in (able, baker):
            weekday_hours(provider, location)
        visit = AppointmentTypeFactory(
            name="Check-up",
            duration_minutes=30,
            colour="#0ea5e9",
            offered_by=[able, baker],
        )
        grace = PatientFactory(first_name="Grace", last_name="Hopper")
        alan = PatientFactory(first_name="Alan", last_name="Turing")
    return SimpleNamespace(
        clinic=clinic,
        location=location,
        able=able,
        baker=baker,
        visit=visit,
        grace=grace,
        alan=alan,
        user=staff_user,
    )


def book(
    s, start: datetime, *, patient=None, provider=None, now=None, **extra
) -> Appointment:
    with within(s.clinic):
        return appointment_book(
            patient=patient or s.grace,
            provider=provider or s.able,
            appointment_type=s.visit,
            start=start,
            booked_by=s.user,
            now=now,
            **extra,
        )


def book_today(s, *, patient=None, provider=None) -> Appointment:
    """A visit from midnight today (clinic clock): begun, whenever the test runs."""
    with within(s.clinic):
        early = ProviderFactory(name="Dr. Early Bird") if provider is None else provider
        weekday_hours(early, s.location, start=time(0), end=time(23, 45))
        s.visit.providers.add(early)
    start = at(today(), 0, 0)
    return book(
        s, start, patient=patient, provider=early, now=start - timedelta(hours=1)
    )


def refreshed(s, appointment: Appointment) -> Appointment:
    with within(s.clinic):
        return Appointment.objects.get(pk=appointment.pk)


def html_of(response) -> str:
    return response.content.decode()


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


# --- Who gets in ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/schedule/day/",
        "/schedule/week/",
        "/schedule/book/?provider=1",
        "/schedule/patients/?q=hop",
        "/appointments/1/",
        "/today/",
        "/waitlist/",
    ],
)
def test_schedule_pages_need_sign_in(anon_client, path):
    response = anon_client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/?next=")


@pytest.mark.parametrize(
    "path",
    [
        "/schedule/book/",
        "/appointments/1/confirm/",
        "/today/1/check-in/",
        "/waitlist/",
        "/waitlist/1/remove/",
        "/waitlist/1/book/",
    ],
)
def test_schedule_writes_need_sign_in(anon_client, path):
    response = anon_client.post(path, {"provider": "1"})
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/?next=")


def test_a_user_of_beta_is_refused_on_alphas_schedule_pages(sched, other_staff_user):
    appt = book(sched, at(tomorrow(), 10))
    for path in (
        "/schedule/day/",
        "/schedule/week/",
        "/today/",
        "/waitlist/",
        f"/appointments/{appt.pk}/",
    ):
        client = Client(HTTP_HOST=host_of(sched.clinic))
        client.force_login(other_staff_user)
        response = client.get(path, {"date": tomorrow().isoformat()})
        assert response.status_code == 403, path
        assert "Hopper" not in html_of(response)


def test_alphas_appointment_ids_are_404_on_betas_host(
    sched, other_clinic, other_staff_user
):
    appt = book(sched, at(tomorrow(), 10))
    client = Client(HTTP_HOST=host_of(other_clinic))
    client.force_login(other_staff_user)
    assert client.get(f"/appointments/{appt.pk}/").status_code == 404
    for action in ("confirm", "cancel", "no-show", "reschedule"):
        assert (
            client.post(
                f"/appointments/{appt.pk}/{action}/", {"reason": "x"}
            ).status_code
            == 404
        )
    assert client.post(f"/today/{appt.pk}/check-in/").status_code == 404
    assert client.get("/schedule/book/", {"provider": sched.able.pk}).status_code == 404
    html = html_of(client.get("/schedule/day/", {"date": tomorrow().isoformat()}))
    assert "Hopper" not in html and "Dr. Ada Able" not in html
    assert refreshed(sched, appt).status == Appointment.Status.SCHEDULED


# --- Calendars ------------------------------------------------------------------------


def _day_columns(html: str) -> dict[str, str]:
    """Each provider column of the day view, by provider name."""
    columns = {}
    for chunk in html.split('<div class="dg-col"')[1:]:
        name = re.search(r'aria-label="([^"]+)"', chunk).group(1)
        columns[name] = chunk
    return columns


def test_day_view_places_visits_in_their_providers_column_in_clinic_time(
    staff_client, sched
):
    start = at(tomorrow(), 10)  # 10:00 New York is 14:00 or 15:00 UTC
    appt = book(sched, start)
    other = book(
        sched, at(tomorrow(), 13, 30), patient=sched.alan, provider=sched.baker
    )
    response = staff_client.get("/schedule/day/", {"date": tomorrow().isoformat()})
    assert response.status_code == 200
    columns = _day_columns(html_of(response))
    assert set(columns) == {"Dr. Ada Able", "Dr. Ben Baker"}
    able, baker = columns["Dr. Ada Able"], columns["Dr. Ben Baker"]
    assert f'href="/appointments/{appt.pk}/"' in able and "Hopper, G." in able
    assert f'href="/appointments/{other.pk}/"' not in able
    assert f'href="/appointments/{other.pk}/"' in baker and "13:30–14:00" in baker
    assert "10:00–10:30" in able
    utc_hour = start.astimezone(ZoneInfo("UTC")).strftime("%H:%M")
    assert f"{utc_hour}–" not in able
    # Placed by minutes from the first hour shown (8:00): 10:00 is 120 minutes down.
    assert re.search(
        rf'href="/appointments/{appt.pk}/"[^>]*style="--s: 120; --d: 30;', able
    )
    # Free time around the visit opens the booking form for that provider and time.
    assert (
        f"/schedule/book/?provider={sched.able.pk}&amp;start={tomorrow().isoformat()}T09:00"
        in able
    )
    assert f"start={tomorrow().isoformat()}T10:30" in able


def test_day_view_marks_statuses_and_overbookings(
    staff_client, sched, clinic, staff_user
):
    cancelled = book(sched, at(tomorrow(), 9))
    with within(clinic):
        appointment_cancel(appointment=cancelled, by=staff_user, reason="Travel")
    clinic.allow_overbooking = True
    clinic.save(update_fields=["allow_overbooking"])
    Membership.objects.filter(user=staff_user, clinic=clinic).update(can_overbook=True)
    ClinicTenantMiddleware.forget()
    try:
        kept = book(sched, at(tomorrow(), 11), patient=sched.alan)
        with within(clinic):
            extra = appointment_book(
                patient=sched.grace,
                provider=sched.able,
                appointment_type=sched.visit,
                start=at(tomorrow(), 11),
                booked_by=staff_user,
                overbook=True,
                overbook_reason="urgent",
            )
        html = html_of(
            staff_client.get("/schedule/day/", {"date": tomorrow().isoformat()})
        )
    finally:
        ClinicTenantMiddleware.forget()
    assert re.search(
        rf'class="appt t\d+ st-cancelled" href="/appointments/{cancelled.pk}/"', html
    )
    assert re.search(
        rf'class="appt t\d+ st-scheduled ob" href="/appointments/{extra.pk}/"', html
    )
    assert 'class="ob-badge">OB<' in html
    # Overlapping visits sit side by side.
    assert re.search(rf'/appointments/{kept.pk}/"[^>]*--lane: 0; --lanes: 2', html)
    assert re.search(rf'/appointments/{extra.pk}/"[^>]*--lane: 1; --lanes: 2', html)


def test_overlapping_visits_share_lanes_and_a_freed_lane_is_reused():
    from clinic.calendar.day import _lanes

    hour = 3600
    visits = [[10 * hour, 11 * hour, 0, 1], [10 * hour, 10 * hour + 1800, 0, 1]]
    visits += [[10 * hour + 1800, 11 * hour, 0, 1], [12 * hour, 13 * hour, 0, 1]]
    _lanes(visits)
    assert [(v[2], v[3]) for v in visits] == [(0, 2), (1, 2), (1, 2), (0, 1)]


def test_calendars_mark_now_and_offer_free_time_from_the_next_step(sched):
    from clinic.calendar import day_grid, week_grid

    now = at(tomorrow(), 10, 7)
    with within(sched.clinic):
        day = day_grid(day=tomorrow(), provider_ids=[sched.able.pk], now=now)
        week = week_grid(day=tomorrow(), provider_ids=[sched.able.pk], now=now)
    (column,) = day["columns"]
    assert '<div class="now-line" style="--s: 127"' in column["html"]
    assert f"start={tomorrow().isoformat()}T10:15" in column["html"]
    assert f"start={tomorrow().isoformat()}T09:00" not in column["html"]
    (today_row,) = [row for row in week["rows"] if row["is_today"]]
    assert ">10:15–17:00<" in today_row["cells"]


def _week_cells(html: str) -> list[str]:
    return html.split('<div class="wg-cell')[1:]


def test_week_view_starts_on_monday_and_puts_visits_in_day_rows_and_provider_columns(
    staff_client, sched
):
    day = tomorrow() + timedelta(
        days=7
    )  # a whole week ahead: every day is in the future
    monday = day - timedelta(days=day.weekday())
    wednesday = monday + timedelta(days=2)
    appt = book(sched, at(wednesday, 16, 30), provider=sched.baker)
    response = staff_client.get("/schedule/week/", {"date": day.isoformat()})
    assert response.status_code == 200
    html = html_of(response)
    assert f"Week of {monday:%B} {monday.day}" in html
    cells = _week_cells(html)
    assert len(cells) == 7 * 2
    index = [i for i, cell in enumerate(cells) if f"/appointments/{appt.pk}/" in cell]
    assert index == [2 * 2 + 1]  # Wednesday's row, Dr. Baker's column
    assert '<span class="t">16:30</span> Hopper, G.' in cells[index[0]]
    assert f"/appointments/{appt.pk}/" not in html.split("wg-day")[0]


def test_week_view_filters_providers(staff_client, sched):
    appt = book(sched, at(tomorrow(), 10))
    response = staff_client.get(
        "/schedule/week/", {"date": tomorrow().isoformat(), "provider": sched.baker.pk}
    )
    html = html_of(response)
    assert len(_week_cells(html)) == 7
    assert f"/appointments/{appt.pk}/" not in html
    assert "Dr. Ben Baker" in html


def test_week_view_costs_the_same_queries_however_many_visits(staff_client, sched):
    day = tomorrow() + timedelta(days=7)
    monday = day - timedelta(days=day.weekday())
    book(sched, at(monday, 9))
    # The first access entry of a process looks up (and caches) a content type.
    staff_client.get("/schedule/week/", {"date": day.isoformat()})
    with CaptureQueriesContext(connection) as few:
        staff_client.get("/schedule/week/", {"date": day.isoformat()})
    with within(sched.clinic):
        patients = [PatientFactory() for _ in range(12)]
    for i, patient in enumerate(patients):
        book(
            sched,
            at(monday + timedelta(days=i % 7), 10 + i // 7),
            patient=patient,
            provider=sched.baker if i % 2 else sched.able,
        )
    with CaptureQueriesContext(connection) as many:
        html = html_of(staff_client.get("/schedule/week/", {"date": day.isoformat()}))
    assert html.count('class="appt ') == 13
    assert len(many) == len(few)


def access_entries(s) -> list[AuditEntry]:
    """The access entries the staff user's requests wrote, oldest first."""
    with within(s.clinic):
        return list(
            AuditEntry.objects.filter(
                actor=s.user, action=AuditEntry.Action.ACCESS
            ).order_by("id")
        )


def test_week_view_writes_one_access_entry_naming_the_patients_shown(
    staff_client, sched
):
    day = tomorrow() + timedelta(days=7)
    monday = day - timedelta(days=day.weekday())
    book(sched, at(monday, 9))
    book(sched, at(monday + timedelta(days=2), 11))  # Grace again: named once
    book(
        sched,
        at(monday + timedelta(days=3), 10),
        patient=sched.alan,
        provider=sched.baker,
    )
    with within(sched.clinic):
        elsewhere = PatientFactory(first_name="Ada", last_name="Lovelace")
    book(sched, at(monday + timedelta(days=7), 9), patient=elsewhere)  # next week
    staff_client.get("/schedule/week/", {"date": day.isoformat()})
    (entry,) = access_entries(sched)
    assert sorted(entry.patient_ids) == sorted([sched.grace.pk, sched.alan.pk])
    assert entry.object_repr == "Schedule (2 shown)" and entry.query == ""
    assert entry.additional_data == {
        "via": "schedule-week",
        "filters": {"date": day.isoformat()},
    }
    # The grid's refresh is a read too, and names only whom it shows.
    staff_client.get(
        "/schedule/week/",
        {"date": day.isoformat(), "provider": sched.baker.pk},
        HTTP_HX_TARGET="calendar",
        **HX,
    )
    refresh = access_entries(sched)[-1]
    assert refresh.patient_ids == [sched.alan.pk]
    assert refresh.additional_data["filters"] == {
        "date": day.isoformat(),
        "provider": [sched.baker.pk],
    }


def test_day_view_writes_one_access_entry_naming_the_patients_shown(
    staff_client, sched
):
    book(sched, at(tomorrow(), 9))
    book(sched, at(tomorrow(), 10), patient=sched.alan, provider=sched.baker)
    with within(sched.clinic):
        later = PatientFactory(first_name="Ada", last_name="Lovelace")
        booking_for = PatientFactory(first_name="Mary", last_name="Jackson")
    book(sched, at(tomorrow() + timedelta(days=1), 9), patient=later)
    staff_client.get(
        "/schedule/day/",
        {
            "date": tomorrow().isoformat(),
            "provider": sched.able.pk,
            "patient": booking_for.pk,
        },
    )
    (entry,) = access_entries(sched)
    # Dr. Able's visit, and the patient the toolbar says is being booked for.
    assert entry.patient_ids == [sched.grace.pk, booking_for.pk]
    assert entry.object_repr == "Schedule (2 shown)"
    assert entry.additional_data == {
        "via": "schedule-day",
        "filters": {"date": tomorrow().isoformat(), "provider": [sched.able.pk]},
    }


def test_an_empty_calendar_still_writes_its_access_entry(staff_client, sched):
    staff_client.get("/schedule/day/", {"date": "2030-03-13"})
    (entry,) = access_entries(sched)
    assert entry.patient_ids == [] and entry.object_repr == "Schedule (0 shown)"


def test_week_view_names_every_patient_shown_in_the_same_number_of_queries(
    staff_client, sched
):
    day = tomorrow() + timedelta(days=7)
    monday = day - timedelta(days=day.weekday())
    book(sched, at(monday, 9))
    staff_client.get("/schedule/week/", {"date": day.isoformat()})  # warm caches
    with CaptureQueriesContext(connection) as few:
        staff_client.get("/schedule/week/", {"date": day.isoformat()})
    with within(sched.clinic):
        patients = [PatientFactory() for _ in range(20)]
    for i, patient in enumerate(patients):
        book(
            sched,
            at(monday + timedelta(days=i % 7), 10 + i // 7),
            patient=patient,
            provider=sched.baker if i % 2 else sched.able,
        )
    with CaptureQueriesContext(connection) as many:
        html = html_of(staff_client.get("/schedule/week/", {"date": day.isoformat()}))
    assert html.count('class="appt ') == 21
    assert len(many) == len(few)
    entry = access_entries(sched)[-1]
    assert sorted(entry.patient_ids) == sorted(
        [sched.grace.pk] + [p.pk for p in patients]
    )


def test_calendar_refresh_returns_only_the_grid(staff_client, sched):
    book(sched, at(tomorrow(), 10))
    for path in ("/schedule/day/", "/schedule/week/"):
        response = staff_client.get(
            path, {"date": tomorrow().isoformat()}, HTTP_HX_TARGET="calendar", **HX
        )
        html = html_of(response)
        assert html.strip().startswith('<div id="calendar"') and "<html" not in html
        assert "Hopper, G." in html


def test_date_navigation_keeps_the_filters(staff_client, sched):
    day = date(2030, 3, 13)
    html = html_of(
        staff_client.get(
            "/schedule/day/", {"date": day.isoformat(), "provider": sched.able.pk}
        )
    )
    assert f"?date=2030-03-12&amp;provider={sched.able.pk}" in html
    assert f"?date=2030-03-14&amp;provider={sched.able.pk}" in html
    assert f"/schedule/week/?date=2030-03-13&amp;provider={sched.able.pk}" in html
    week = html_of(staff_client.get("/schedule/week/", {"date": day.isoformat()}))
    assert "?date=2030-03-06" in week and "?date=2030-03-20" in week
    assert "Week of March 11 – March 17, 2030" in week


def test_a_bad_date_shows_today(staff_client, sched):
    response = staff_client.get("/schedule/day/", {"date": "not-a-date"})
    assert response.status_code == 200
    assert today().strftime("%B") in html_of(response)


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
    ClinicTenantMiddleware.forget()
    try:
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
    finally:
        ClinicTenantMiddleware.forget()
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


# --- The appointment panel ------------------------------------------------------------


def test_panel_shows_the_visit_its_history_and_only_the_legal_moves(
    staff_client, sched, staff_user
):
    appt = book(sched, at(tomorrow(), 10))
    response = staff_client.get(f"/appointments/{appt.pk}/", **HX)
    assert response.status_code == 200
    html = html_of(response)
    assert "<html" not in html
    assert f'href="/patients/{sched.grace.pk}/"' in html and "Grace Hopper" in html
    assert "Check-up" in html and "Dr. Ada Able" in html and "10:00–10:30" in html
    assert "badge-st-scheduled" in html and "Booked" in html
    for move in ("confirm", "cancel", "reschedule"):
        assert f"/appointments/{appt.pk}/{move}/" in html
    for move in ("check-in", "complete", "no-show"):
        assert f"/appointments/{appt.pk}/{move}/" not in html
    with within(sched.clinic):
        entry = AuditEntry.objects.filter(
            actor=staff_user, object_id=sched.grace.pk
        ).get()
    assert entry.action == AuditEntry.Action.ACCESS and entry.additional_data == {
        "via": "page"
    }


def test_panel_opens_as_a_page_without_javascript(staff_client, sched):
    appt = book(sched, at(tomorrow(), 10))
    html = html_of(staff_client.get(f"/appointments/{appt.pk}/"))
    assert "<html" in html and 'id="drawer"' in html and "Grace Hopper" in html


def _post(client, appt, action, data=None):
    return client.post(f"/appointments/{appt.pk}/{action}/", data or {}, **HX)


def test_confirm_then_cancel_from_the_panel(staff_client, sched):
    appt = book(sched, at(tomorrow(), 10))
    response = _post(staff_client, appt, "confirm")
    assert (
        response.status_code == 200 and response["HX-Trigger"] == "appointments-changed"
    )
    assert "badge-st-confirmed" in html_of(response)
    assert refreshed(sched, appt).status == "confirmed"
    refused = _post(staff_client, appt, "cancel", {"reason": "  "})
    assert (
        refused.status_code == 400
        and "Say why the appointment is cancelled." in html_of(refused)
    )
    assert refreshed(sched, appt).status == "confirmed"
    response = _post(
        staff_client, appt, "cancel", {"reason": "Patient asked to cancel"}
    )
    assert response.status_code == 200 and "Appointment cancelled." in html_of(response)
    appt = refreshed(sched, appt)
    assert (
        appt.status == "cancelled" and appt.cancel_reason == "Patient asked to cancel"
    )


def test_check_in_complete_and_no_show_from_the_panel(staff_client, sched):
    first = book_today(sched)
    html = html_of(staff_client.get(f"/appointments/{first.pk}/", **HX))
    assert (
        f"/appointments/{first.pk}/check-in/" in html
        and f"/appointments/{first.pk}/no-show/" in html
    )
    assert _post(staff_client, first, "check-in").status_code == 200
    assert refreshed(sched, first).status == "checked_in"
    response = _post(staff_client, first, "complete")
    assert response.status_code == 200 and refreshed(sched, first).status == "completed"
    assert f"/appointments/{first.pk}/complete/" not in html_of(response)
    assert "badge-st-completed" in html_of(response)
    second = book_today(sched, patient=sched.alan, provider=None)
    assert _post(staff_client, second, "no-show").status_code == 200
    assert refreshed(sched, second).status == "no_show"


def test_reschedule_from_the_panel_moves_the_visit_and_keeps_the_old_time(
    staff_client, sched
):
    appt = book(sched, at(tomorrow(), 10))
    prefix = f"r{appt.pk}"
    bad = _post(
        staff_client,
        appt,
        "reschedule",
        {
            f"{prefix}-date": tomorrow().isoformat(),
            f"{prefix}-time": "06:00",
            f"{prefix}-provider": sched.baker.pk,
        },
    )
    assert bad.status_code == 400 and "not available" in html_of(bad)
    assert refreshed(sched, appt).start == at(tomorrow(), 10)
    response = _post(
        staff_client,
        appt,
        "reschedule",
        {
            f"{prefix}-date": tomorrow().isoformat(),
            f"{prefix}-time": "14:00",
            f"{prefix}-provider": sched.baker.pk,
        },
    )
    assert response.status_code == 200 and "Appointment moved." in html_of(response)
    moved = refreshed(sched, appt)
    assert moved.start == at(tomorrow(), 14) and moved.provider_id == sched.baker.pk
    assert "Was " in html_of(response) and "with Dr. Ada Able" in html_of(response)


def test_reschedule_into_a_taken_time_is_a_conflict_shown_in_the_panel(
    staff_client, sched
):
    appt = book(sched, at(tomorrow(), 10))
    book(sched, at(tomorrow(), 14), patient=sched.alan, provider=sched.baker)
    prefix = f"r{appt.pk}"
    response = _post(
        staff_client,
        appt,
        "reschedule",
        {
            f"{prefix}-date": tomorrow().isoformat(),
            f"{prefix}-time": "14:00",
            f"{prefix}-provider": sched.baker.pk,
        },
    )
    assert response.status_code == 409
    assert "conflicts with another appointment" in html_of(
        response
    ) and "Turing, Alan" in html_of(response)
    assert refreshed(sched, appt).provider_id == sched.able.pk


def test_an_illegal_move_is_refused_with_409_and_shown_in_the_panel(
    staff_client, sched
):
    appt = book(sched, at(tomorrow(), 10))
    response = _post(staff_client, appt, "complete")
    assert response.status_code == 409
    assert "A scheduled appointment cannot be completed." in html_of(response)
    early = _post(staff_client, appt, "check-in")
    assert early.status_code == 409 and "day of their appointment" in html_of(early)
    too_soon = _post(staff_client, appt, "no-show")
    assert too_soon.status_code == 409
    assert refreshed(sched, appt).status == "scheduled"
    assert _post(staff_client, appt, "teleport").status_code == 404


def test_panel_actions_without_javascript_redirect_back_to_the_appointment(
    staff_client, sched
):
    appt = book(sched, at(tomorrow(), 10))
    response = staff_client.post(f"/appointments/{appt.pk}/confirm/")
    assert response.status_code == 302
    assert response["Location"] == f"/appointments/{appt.pk}/"
    assert "Confirm: done." in html_of(staff_client.get(response["Location"]))


def test_panel_actions_are_posts(staff_client, sched):
    appt = book(sched, at(tomorrow(), 10))
    assert staff_client.get(f"/appointments/{appt.pk}/confirm/").status_code == 405
    assert refreshed(sched, appt).status == "scheduled"


def test_a_cancelled_visits_panel_lists_the_waitlist_for_the_freed_slot(
    staff_client, sched, staff_user
):
    appt = book(sched, at(tomorrow(), 10))
    with within(sched.clinic):
        entry = waitlist_add(
            patient=sched.alan, appointment_type=sched.visit, provider=sched.able
        )
        appointment_cancel(appointment=appt, by=staff_user, reason="Travel")
    html = html_of(staff_client.get(f"/appointments/{appt.pk}/", **HX))
    assert "Waitlist for this freed slot" in html and "Turing, Alan" in html
    assert "Asked for this provider" in html
    response = staff_client.post(
        f"/waitlist/{entry.pk}/book/",
        {"provider": sched.able.pk, "start": appt.start.isoformat(), "panel": appt.pk},
        **HX,
    )
    assert response.status_code == 200 and "Booked from the waitlist." in html_of(
        response
    )
    with within(sched.clinic):
        booked = Appointment.objects.get(patient=sched.alan)
        assert WaitlistEntry.objects.get(pk=entry.pk).status == "booked"
    assert booked.start == appt.start and booked.provider_id == sched.able.pk


# --- Today ----------------------------------------------------------------------------


def test_today_lists_arrivals_in_order_with_counts(staff_client, sched):
    first = book_today(sched)
    second = book_today(sched, patient=sched.alan)
    with within(sched.clinic):
        appointment_check_in(appointment=second, by=sched.user)
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
        anyone = waitlist_add(patient=sched.alan, appointment_type=sched.visit)
        keen = waitlist_add(
            patient=PatientFactory(first_name="Ida", last_name="Keen"),
            appointment_type=sched.visit,
            provider=sched.able,
        )
        waitlist_add(
            patient=PatientFactory(first_name="Otto", last_name="Other"),
            appointment_type=sched.visit,
            provider=sched.baker,
        )
        appointment_cancel(appointment=appt, by=staff_user, reason="Travel")
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


# --- Patient detail -------------------------------------------------------------------


def test_patient_detail_lists_upcoming_and_past_appointments_with_a_book_link(
    staff_client, sched
):
    yesterday = today() - timedelta(days=1)
    past = book(sched, at(yesterday, 11), now=at(yesterday, 8))
    upcoming = book(sched, at(tomorrow(), 10))
    book(sched, at(tomorrow(), 11), patient=sched.alan)
    html = html_of(staff_client.get(f"/patients/{sched.grace.pk}/"))
    upcoming_part = html.split('class="upcoming"')[1].split('class="past"')[0]
    past_part = html.split('class="past"')[1]
    assert (
        f"/appointments/{upcoming.pk}/" in upcoming_part
        and f"/appointments/{past.pk}/" in past_part
    )
    assert html.count("/appointments/") == 2
    assert f'href="/schedule/day/?patient={sched.grace.pk}"' in html
    booking = html_of(
        staff_client.get(
            "/schedule/day/",
            {"patient": sched.grace.pk, "date": tomorrow().isoformat()},
        )
    )
    assert "Booking for <strong>Grace Hopper</strong>" in booking
    assert f"&amp;patient={sched.grace.pk}" in booking


# --- Admin ----------------------------------------------------------------------------

SCHEDULE_ADMIN = [
    "location",
    "room",
    "provider",
    "appointmenttype",
    "availabilityexception",
    "holiday",
]


def test_admin_pages_for_the_schedule_load_for_alphas_admin(
    admin_client_alpha, sched, admin_user
):
    appt = book(sched, at(tomorrow(), 10))
    with within(sched.clinic):
        entry = waitlist_add(patient=sched.alan, appointment_type=sched.visit)
    index = html_of(admin_client_alpha.get("/admin/"))
    for label in (
        "Providers",
        "Appointment types",
        "Holidays",
        "Appointments",
        "Waitlist entrys",
        "Locations",
    ):
        assert label.lower()[:10] in index.lower(), label
    for model in SCHEDULE_ADMIN:
        assert admin_client_alpha.get(f"/admin/clinic/{model}/").status_code == 200, (
            model
        )
        assert (
            admin_client_alpha.get(f"/admin/clinic/{model}/add/").status_code == 200
        ), model
    provider_page = html_of(
        admin_client_alpha.get(f"/admin/clinic/provider/{sched.able.pk}/change/")
    )
    assert (
        "Weekly hours" in provider_page
        and 'name="blocks-TOTAL_FORMS" value="7"' in provider_page
    )
    listing = html_of(admin_client_alpha.get("/admin/clinic/appointment/"))
    assert "Hopper" in listing
    assert admin_client_alpha.get("/admin/clinic/appointment/add/").status_code == 403
    detail = admin_client_alpha.get(f"/admin/clinic/appointment/{appt.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in html_of(detail)
    with within(sched.clinic):
        assert AuditEntry.objects.filter(
            actor=admin_user, object_id=sched.grace.pk, additional_data__via="admin"
        ).exists()
    assert admin_client_alpha.get("/admin/clinic/waitlistentry/").status_code == 200
    response = admin_client_alpha.post(
        "/admin/clinic/waitlistentry/",
        {"action": "remove_selected", "_selected_action": [entry.pk]},
    )
    assert response.status_code == 302
    with within(sched.clinic):
        assert WaitlistEntry.objects.get(pk=entry.pk).status == "removed"


def test_admin_adds_a_provider_with_weekly_hours(admin_client_alpha, sched):
    data = {
        "name": "Dr. New",
        "credentials": "DO",
        "specialty": "",
        "colour": "#123456",
        "is_active": "on",
        "blocks-TOTAL_FORMS": "1",
        "blocks-INITIAL_FORMS": "0",
        "blocks-MIN_NUM_FORMS": "0",
        "blocks-MAX_NUM_FORMS": "1000",
        "blocks-0-weekday": "1",
        "blocks-0-start_time": "08:00",
        "blocks-0-end_time": "12:00",
        "blocks-0-location": sched.location.pk,
        "blocks-0-valid_from": "",
        "blocks-0-valid_until": "",
        "_save": "Save",
    }
    response = admin_client_alpha.post("/admin/clinic/provider/add/", data)
    assert response.status_code == 302, html_of(response)[:2000]
    with within(sched.clinic):
        from clinic.models import Provider

        provider = Provider.objects.get(name="Dr. New")
        assert list(provider.blocks.values_list("weekday", "start_time")) == [
            (1, time(8))
        ]


@pytest.mark.parametrize("model", SCHEDULE_ADMIN + ["appointment", "waitlistentry"])
def test_admin_pages_for_the_schedule_refuse_front_desk(staff_client, sched, model):
    response = staff_client.get(f"/admin/clinic/{model}/", follow=True)
    assert response.status_code == 403


def test_history_of_every_move_is_kept(staff_client, sched):
    appt = book(sched, at(tomorrow(), 10))
    _post(staff_client, appt, "confirm")
    _post(staff_client, appt, "cancel", {"reason": "Travel"})
    with within(sched.clinic):
        kinds = list(
            AppointmentEvent.objects.filter(appointment=appt).values_list(
                "kind", flat=True
            )
        )
    assert kinds == ["booked", "confirmed", "cancelled"]
    html = html_of(staff_client.get(f"/appointments/{appt.pk}/", **HX))
    assert (
        html.index("ev-booked")
        < html.index("ev-confirmed")
        < html.index("ev-cancelled")
    )
    assert "Travel" in html
