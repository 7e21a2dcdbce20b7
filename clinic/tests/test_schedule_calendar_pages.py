"""Schedule pages: the day and week calendars, and the reads they audit."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.services import appointment_book, appointment_cancel
from clinic.tests.factories import PatientFactory, member
from clinic.tests.page_support import within
from clinic.tests.schedule_support import (
    HX,
    access_entries,
    at,
    book,
    html_of,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
    today,
    tomorrow,
)
from portal.models import Membership


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
        appointment_cancel(
            appointment=cancelled, actor=member(staff_user), reason="Travel"
        )
    clinic.allow_overbooking = True
    clinic.save(update_fields=["allow_overbooking"])
    Membership.objects.filter(user=staff_user, clinic=clinic).update(can_overbook=True)
    kept = book(sched, at(tomorrow(), 11), patient=sched.alan)
    with within(clinic):
        extra = appointment_book(
            patient=sched.grace,
            provider=sched.able,
            appointment_type=sched.visit,
            start=at(tomorrow(), 11),
            actor=member(staff_user),
            overbook=True,
            overbook_reason="urgent",
        )
    html = html_of(staff_client.get("/schedule/day/", {"date": tomorrow().isoformat()}))
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


def test_calendars_mark_now_and_offer_free_time_from_the_notice_on_the_grid(sched):
    """Free time starts where a booking could: an hour's notice after 10:07, on
    the check-up's 15-minute grid."""
    from clinic.calendar import day_grid, week_grid

    now = at(tomorrow(), 10, 7)
    with within(sched.clinic):
        day = day_grid(day=tomorrow(), provider_ids=[sched.able.pk], now=now)
        week = week_grid(day=tomorrow(), provider_ids=[sched.able.pk], now=now)
    (column,) = day["columns"]
    assert '<div class="now-line" style="--s: 127"' in column["html"]
    assert f"start={tomorrow().isoformat()}T11:15" in column["html"]
    assert f"start={tomorrow().isoformat()}T10:15" not in column["html"]
    (today_row,) = [row for row in week["rows"] if row["is_today"]]
    assert ">11:15–17:00<" in today_row["cells"]


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
