"""Partner API for the schedule: providers, types, slots, booking, lifecycle."""

from __future__ import annotations

import base64
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context
from rest_framework.test import APIClient

from clinic.models import Appointment, AppointmentEvent, AppointmentType, AuditEntry
from clinic.services import appointment_book, appointment_cancel
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    RoomFactory,
    weekday_hours,
)
from portal.api.tokens import clinic_refresh_token
from portal.middleware import ClinicTenantMiddleware
from portal.models import Clinic, Membership

NY = ZoneInfo("America/New_York")
PROVIDERS = "/api/v1/providers/"
TYPES = "/api/v1/appointment-types/"
SLOTS = "/api/v1/slots/"
APPOINTMENTS = "/api/v1/appointments/"
APPOINTMENT_SHAPE = {
    "id",
    "patient",
    "provider",
    "appointment_type",
    "location",
    "room",
    "start",
    "end",
    "status",
    "source",
    "reason",
    "notes",
    "is_overbooked",
    "overbook_reason",
    "cancel_reason",
    "cancelled_at",
    "created_at",
    "updated_at",
}


def day(offset: int = 1) -> date:
    """A clinic date `offset` days from today (tomorrow by default)."""
    return timezone.localdate(timezone=NY) + timedelta(days=offset)


def at(hour: int, minute: int = 0, offset: int = 1) -> datetime:
    return datetime.combine(day(offset), time(hour, minute), tzinfo=NY)


def client_for(user, clinic) -> APIClient:
    client = APIClient(HTTP_HOST=f"{clinic.slug}.localhost")
    access = clinic_refresh_token(
        user=user, schema_name=clinic.schema_name
    ).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def api(clinic, staff_user) -> APIClient:
    return client_for(staff_user, clinic)


@pytest.fixture
def beta_api(other_clinic, other_staff_user) -> APIClient:
    return client_for(other_staff_user, other_clinic)


@pytest.fixture
def sched(in_clinic, staff_user):
    """Two providers working 9-17 daily at one place; a 30-minute visit both offer."""
    location = LocationFactory()
    doc = ProviderFactory(name="Dr. Ann Able")
    nurse = ProviderFactory(name="Dr. Ben Baker", credentials="NP")
    for p in (doc, nurse):
        weekday_hours(p, location)
    visit = AppointmentTypeFactory(name="Follow-up", offered_by=[doc, nurse])
    return SimpleNamespace(
        location=location,
        doc=doc,
        nurse=nurse,
        visit=visit,
        clinic=in_clinic,
        patient=PatientFactory(),
        user=staff_user,
        room=RoomFactory(location=location),
    )


def book(sched, start: datetime, **extra) -> Appointment:
    args = {
        "patient": sched.patient,
        "provider": sched.doc,
        "appointment_type": sched.visit,
        "start": start,
        "booked_by": sched.user,
    }
    with tenant_context(sched.clinic):
        return appointment_book(**{**args, **extra})


def payload(sched, start: datetime, **extra) -> dict:
    return {
        "patient": sched.patient.pk,
        "provider": sched.doc.pk,
        "appointment_type": sched.visit.pk,
        "start": start.isoformat(),
        **extra,
    }


def counts(clinic) -> tuple[int, int]:
    with tenant_context(clinic):
        return Appointment.objects.count(), AppointmentEvent.objects.count()


# --- Providers and appointment types --------------------------------------------------


def test_providers_are_listed_in_name_order_with_the_types_they_offer(api, sched):
    response = api.get(PROVIDERS)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    doc, nurse = body["results"]
    assert doc == {
        "id": sched.doc.pk,
        "name": "Dr. Ann Able",
        "credentials": "MD",
        "specialty": "Family medicine",
        "colour": "#4f46e5",
        "is_active": True,
        "appointment_types": [sched.visit.pk],
    }
    assert nurse["id"] == sched.nurse.pk and nurse["credentials"] == "NP"
    assert api.get(f"{PROVIDERS}{sched.nurse.pk}/").json() == nurse
    assert api.get(f"{PROVIDERS}999999/").status_code == 404


def test_appointment_types_are_listed_with_their_grid_and_providers(api, sched):
    response = api.get(TYPES)

    assert response.status_code == 200
    (visit,) = response.json()["results"]
    assert visit == {
        "id": sched.visit.pk,
        "name": "Follow-up",
        "duration_minutes": 30,
        "slot_interval_minutes": 15,
        "buffer_after_minutes": 0,
        "colour": "#0ea5e9",
        "requires_confirmation": False,
        "is_active": True,
        "providers": sorted([sched.doc.pk, sched.nurse.pk]),
    }
    assert api.get(f"{TYPES}{sched.visit.pk}/").json() == visit


def test_providers_and_types_are_read_only_for_partners(api, sched):
    assert api.post(PROVIDERS, {"name": "Dr. New"}, format="json").status_code == 405
    assert api.delete(f"{TYPES}{sched.visit.pk}/").status_code == 405


def test_without_a_token_the_schedule_is_refused(clinic, sched):
    anonymous = APIClient(HTTP_HOST=f"{clinic.slug}.localhost")
    for url in (PROVIDERS, TYPES, APPOINTMENTS, SLOTS):
        assert anonymous.get(url).status_code == 401


# --- Slots ----------------------------------------------------------------------------


def test_a_providers_slots_carry_the_clinic_offset_and_skip_booked_time(api, sched):
    book(sched, at(10))

    response = api.get(
        f"{PROVIDERS}{sched.doc.pk}/slots/",
        {"start": day(1), "end": day(1), "appointment_type": sched.visit.pk},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["timezone"] == "America/New_York"
    first = body["slots"][0]
    assert first == {
        "start": at(9).isoformat(),
        "end": at(9, 30).isoformat(),
        "provider": sched.doc.pk,
        "location": sched.location.pk,
    }
    assert first["start"][-6:] in ("-05:00", "-04:00")
    starts = [slot["start"] for slot in body["slots"]]
    # 9:00 to 16:30 every 15 minutes, minus what overlaps the 10:00-10:30 visit.
    assert at(10).isoformat() not in starts and at(9, 45).isoformat() not in starts
    assert at(10, 30).isoformat() in starts and starts[-1] == at(16, 30).isoformat()
    assert len(starts) == 31 - 3


def test_slots_of_a_type_cover_every_active_provider_offering_it(api, sched):
    with tenant_context(sched.clinic):
        outsider = ProviderFactory()
        weekday_hours(outsider, sched.location)
        retired = ProviderFactory(is_active=False)
        weekday_hours(retired, sched.location)
        sched.visit.providers.add(retired)

    response = api.get(
        SLOTS, {"start": day(1), "end": day(2), "appointment_type": sched.visit.pk}
    )

    assert response.status_code == 200
    slots = response.json()["slots"]
    assert {slot["provider"] for slot in slots} == {sched.doc.pk, sched.nurse.pk}
    assert len(slots) == 2 * 2 * 31
    assert slots[0]["start"] == slots[1]["start"] == at(9).isoformat()
    assert slots[-1]["start"] == at(16, 30, offset=2).isoformat()


def test_a_provider_who_does_not_offer_the_type_has_no_slots(api, sched):
    with tenant_context(sched.clinic):
        other = AppointmentTypeFactory(offered_by=[sched.nurse])

    response = api.get(
        f"{PROVIDERS}{sched.doc.pk}/slots/",
        {"start": day(1), "end": day(1), "appointment_type": other.pk},
    )

    assert response.status_code == 200
    assert response.json()["slots"] == []


@pytest.mark.parametrize(
    "query, field",
    [
        ({"end": 1}, "start"),
        ({"start": 1}, "end"),
        ({"start": 3, "end": 1}, "end"),
        ({"start": 1, "end": 32}, "end"),
        ({"start": "tomorrow", "end": 1}, "start"),
    ],
)
def test_a_bad_slot_range_is_a_400_naming_the_field(api, sched, query, field):
    params = {k: day(v) if isinstance(v, int) else v for k, v in query.items()}
    params["appointment_type"] = sched.visit.pk

    for url in (SLOTS, f"{PROVIDERS}{sched.doc.pk}/slots/"):
        response = api.get(url, params)
        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        assert field in response.json()


def test_thirty_one_days_of_slots_may_be_asked_for_at_once(api, sched):
    response = api.get(
        SLOTS, {"start": day(1), "end": day(31), "appointment_type": sched.visit.pk}
    )
    assert response.status_code == 200
    assert response.json()["slots"][-1]["start"] == at(16, 30, offset=31).isoformat()


def test_an_unknown_appointment_type_is_a_field_error(api, sched):
    for url in (SLOTS, f"{PROVIDERS}{sched.doc.pk}/slots/"):
        response = api.get(
            url, {"start": day(1), "end": day(1), "appointment_type": 999999}
        )
        assert response.status_code == 400
        assert "appointment_type" in response.json()
        assert (
            "appointment_type" in api.get(url, {"start": day(1), "end": day(1)}).json()
        )


def test_slots_of_an_unknown_provider_are_a_404(api, sched):
    response = api.get(
        f"{PROVIDERS}999999/slots/",
        {"start": day(1), "end": day(1), "appointment_type": sched.visit.pk},
    )
    assert response.status_code == 404


# --- Booking --------------------------------------------------------------------------


def test_a_partner_books_a_free_slot(api, sched, staff_user):
    response = api.post(
        APPOINTMENTS,
        payload(sched, at(10), reason="Knee pain", notes="Prefers Spanish"),
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == APPOINTMENT_SHAPE
    assert body["source"] == "partner_api" and body["status"] == "scheduled"
    assert body["start"] == at(10).isoformat() and body["end"] == at(10, 30).isoformat()
    assert body["location"] == sched.location.pk and body["room"] is None
    assert body["reason"] == "Knee pain" and body["created_at"].endswith("Z")
    assert response["Location"] == f"{APPOINTMENTS}{body['id']}/"
    with tenant_context(sched.clinic):
        appointment = Appointment.objects.get(pk=body["id"])
        assert appointment.booked_by == staff_user
        assert appointment.events.get().by == staff_user
        created = AuditEntry.objects.get(
            content_type__model="appointment",
            object_id=appointment.pk,
            action=AuditEntry.Action.CREATE,
        )
        assert created.actor == staff_user


def test_a_start_given_in_utc_is_the_same_instant(api, sched):
    utc = at(11).astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")
    response = api.post(
        APPOINTMENTS, payload(sched, at(11)) | {"start": utc}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["start"] == at(11).isoformat()


def test_booking_a_taken_time_is_a_409_naming_the_appointment_and_writes_nothing(
    api, sched
):
    first = book(sched, at(10))
    before = counts(sched.clinic)
    with tenant_context(sched.clinic):
        other = PatientFactory()

    response = api.post(
        APPOINTMENTS, payload(sched, at(10, 15), patient=other.pk), format="json"
    )

    assert response.status_code == 409
    body = response.json()
    assert body["conflicts"][0]["id"] == first.pk
    assert body["conflicts"][0]["start"] == at(10).isoformat()
    assert "detail" in body
    assert counts(sched.clinic) == before


@pytest.mark.parametrize(
    "start, field",
    [
        (lambda: at(20), "start"),  # outside working hours
        (lambda: at(10, offset=-1), "start"),  # in the past
        (lambda: at(10, 7), "start"),  # off the 15-minute grid
        (lambda: at(10).replace(tzinfo=None), "start"),  # no offset
    ],
)
def test_a_booking_that_breaks_a_rule_is_a_field_error_and_writes_nothing(
    api, sched, start, field
):
    before = counts(sched.clinic)

    response = api.post(APPOINTMENTS, payload(sched, start()), format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()[field]
    assert counts(sched.clinic) == before


def test_booking_with_unknown_ids_or_missing_fields_is_a_field_error(api, sched):
    response = api.post(
        APPOINTMENTS,
        payload(sched, at(10), patient=999999, provider=999999),
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"patient", "provider"}

    response = api.post(APPOINTMENTS, {"patient": sched.patient.pk}, format="json")
    assert set(response.json()) == {"provider", "appointment_type", "start"}
    assert counts(sched.clinic) == (0, 0)


def test_a_room_at_another_location_is_a_field_error(api, sched):
    with tenant_context(sched.clinic):
        elsewhere = RoomFactory(location=LocationFactory(name="Annex"))
    response = api.post(
        APPOINTMENTS, payload(sched, at(10), room=elsewhere.pk), format="json"
    )
    assert response.status_code == 400 and "room" in response.json()


@pytest.fixture
def overbooking(clinic, staff_user):
    """The clinic allows overbooking; the front desk may overbook."""
    Clinic.objects.filter(pk=clinic.pk).update(allow_overbooking=True)
    ClinicTenantMiddleware.forget()
    yield Membership.objects.filter(user=staff_user, clinic=clinic)
    ClinicTenantMiddleware.forget()


def test_overbooking_needs_the_permission_and_lands_flagged(api, sched, overbooking):
    taken = book(sched, at(10))
    with tenant_context(sched.clinic):
        other = PatientFactory()
    over = payload(
        sched, at(10), patient=other.pk, overbook=True, overbook_reason="urgent"
    )

    refused = api.post(APPOINTMENTS, over, format="json")
    assert refused.status_code == 403
    assert counts(sched.clinic)[0] == 1

    overbooking.update(can_overbook=True)
    response = api.post(APPOINTMENTS, over, format="json")
    assert response.status_code == 201
    assert response.json()["is_overbooked"] is True
    assert response.json()["overbook_reason"] == "urgent"
    assert response.json()["id"] != taken.pk


# --- The lifecycle --------------------------------------------------------------------


def action(api, appointment, name: str, **data):
    return api.post(f"{APPOINTMENTS}{appointment.pk}/{name}/", data, format="json")


def test_confirm_cancel_and_their_history(api, sched, staff_user):
    appointment = book(sched, at(10))

    confirmed = action(api, appointment, "confirm")
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    assert set(confirmed.json()) == APPOINTMENT_SHAPE

    no_reason = action(api, appointment, "cancel")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()

    cancelled = action(api, appointment, "cancel", reason="Feeling better")
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert body["status"] == "cancelled" and body["cancel_reason"] == "Feeling better"
    assert body["cancelled_at"].endswith("Z")

    history = api.get(f"{APPOINTMENTS}{appointment.pk}/").json()["history"]
    assert [(e["kind"], e["from_status"], e["to_status"]) for e in history] == [
        ("booked", "", "scheduled"),
        ("confirmed", "scheduled", "confirmed"),
        ("cancelled", "confirmed", "cancelled"),
    ]
    assert (
        history[-1]["by"] == staff_user.pk and history[-1]["note"] == "Feeling better"
    )
    assert history[-1]["old_start"] == at(10).isoformat()
    assert set(history[0]) == {
        "kind",
        "from_status",
        "to_status",
        "old_start",
        "old_provider",
        "by",
        "at",
        "note",
    }


def test_check_in_complete_and_no_show_on_the_day(api, sched):
    # Today from midnight: the visits have started, so they can be checked in or missed.
    with tenant_context(sched.clinic):
        early, earlier = ProviderFactory(), ProviderFactory()
        for p in (early, earlier):
            weekday_hours(p, sched.location, start=time(0), end=time(1))
            sched.visit.providers.add(p)
    midnight = at(0, offset=0)
    seen = book(sched, midnight, provider=early, now=midnight - timedelta(hours=1))
    missed = book(sched, midnight, provider=earlier, now=midnight - timedelta(hours=1))

    checked_in = action(api, seen, "check-in")
    assert checked_in.status_code == 200 and checked_in.json()["status"] == "checked_in"
    completed = action(api, seen, "complete")
    assert completed.status_code == 200 and completed.json()["status"] == "completed"
    no_show = action(api, missed, "no-show")
    assert no_show.status_code == 200 and no_show.json()["status"] == "no_show"


def test_a_visit_cannot_be_checked_in_or_missed_before_its_day(api, sched):
    appointment = book(sched, at(10))
    for name in ("check-in", "no-show"):
        response = action(api, appointment, name)
        assert response.status_code == 409
        assert response.json()["current_status"] == "scheduled"


@pytest.mark.parametrize(
    "name, data",
    [
        ("confirm", {}),
        ("cancel", {"reason": "Again"}),
        ("complete", {}),
        ("reschedule", {"start": at(14).isoformat()}),
    ],
)
def test_an_illegal_transition_is_a_409_with_the_current_status(api, sched, name, data):
    appointment = book(sched, at(10))
    with tenant_context(sched.clinic):
        appointment_cancel(appointment=appointment, by=sched.user, reason="Moved away")
    before = counts(sched.clinic)

    response = action(api, appointment, name, **data)

    assert response.status_code == 409
    assert response.json()["current_status"] == "cancelled"
    assert counts(sched.clinic) == before


def test_completing_a_scheduled_visit_is_refused(api, sched):
    response = action(api, book(sched, at(10)), "complete")
    assert (
        response.status_code == 409 and response.json()["current_status"] == "scheduled"
    )


def test_reschedule_moves_the_visit_and_keeps_the_old_time(api, sched):
    appointment = book(sched, at(10))
    action(api, appointment, "confirm")

    later = at(14, 15, offset=2).isoformat()
    response = action(
        api, appointment, "reschedule", start=later, provider=sched.nurse.pk
    )

    assert response.status_code == 200
    body = response.json()
    assert body["start"] == at(14, 15, offset=2).isoformat()
    assert body["provider"] == sched.nurse.pk and body["status"] == "scheduled"
    moved = api.get(f"{APPOINTMENTS}{appointment.pk}/").json()["history"][-1]
    assert moved["kind"] == "rescheduled"
    assert (
        moved["old_start"] == at(10).isoformat()
        and moved["old_provider"] == sched.doc.pk
    )


def test_rescheduling_onto_a_taken_time_is_a_409_and_nothing_moves(api, sched):
    first = book(sched, at(10))
    with tenant_context(sched.clinic):
        second = book(sched, at(11), patient=PatientFactory())

    response = action(api, second, "reschedule", start=at(10).isoformat())

    assert response.status_code == 409
    assert [c["id"] for c in response.json()["conflicts"]] == [first.pk]
    with tenant_context(sched.clinic):
        second.refresh_from_db()
        assert second.start == at(11) and second.events.count() == 1


def test_rescheduling_to_a_bad_time_is_a_field_error(api, sched):
    appointment = book(sched, at(10))
    for start in (at(10, 5).isoformat(), "2030-01-01T10:00", "soon"):
        response = action(api, appointment, "reschedule", start=start)
        assert response.status_code == 400 and "start" in response.json()
    assert "start" in action(api, appointment, "reschedule").json()


def test_an_action_on_a_missing_appointment_is_a_json_404(api, sched):
    response = api.post(f"{APPOINTMENTS}999999/confirm/", {}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# --- The list: filters and pages ------------------------------------------------------


@pytest.fixture
def week(sched):
    """Six visits over three days; two at the same time with different providers."""
    with tenant_context(sched.clinic):
        other = PatientFactory()
    visits = {
        "d1_doc_9": book(sched, at(9)),
        "d1_nurse_9": book(sched, at(9), provider=sched.nurse, patient=other),
        "d1_doc_11": book(sched, at(11), patient=other),
        "d2_doc_10": book(sched, at(10, offset=2)),
        "d3_nurse_16": book(sched, at(16, offset=3), provider=sched.nurse),
        "d3_doc_16": book(sched, at(16, offset=3), patient=other),
    }
    with tenant_context(sched.clinic):
        appointment_cancel(appointment=visits["d1_doc_11"], by=sched.user, reason="Flu")
    return SimpleNamespace(other=other, **visits)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_the_list_is_in_start_order_with_ties_broken_by_id(api, sched, week):
    tie = sorted([week.d1_doc_9.pk, week.d1_nurse_9.pk])
    last = sorted([week.d3_nurse_16.pk, week.d3_doc_16.pk])
    assert ids(api.get(APPOINTMENTS)) == [
        *tie,
        week.d1_doc_11.pk,
        week.d2_doc_10.pk,
        *last,
    ]
    row = api.get(APPOINTMENTS).json()["results"][0]
    assert set(row) == APPOINTMENT_SHAPE  # no history on the list


def test_the_list_filters_by_provider_patient_and_status(api, sched, week):
    assert ids(api.get(APPOINTMENTS, {"provider": sched.nurse.pk})) == [
        week.d1_nurse_9.pk,
        week.d3_nurse_16.pk,
    ]
    assert set(ids(api.get(APPOINTMENTS, {"patient": week.other.pk}))) == {
        week.d1_nurse_9.pk,
        week.d1_doc_11.pk,
        week.d3_doc_16.pk,
    }
    assert ids(api.get(APPOINTMENTS, {"status": "cancelled"})) == [week.d1_doc_11.pk]
    both = api.get(
        f"{APPOINTMENTS}?status=cancelled&status=scheduled&provider={sched.doc.pk}"
    )
    assert len(ids(both)) == 4
    assert ids(api.get(APPOINTMENTS, {"provider": 999999})) == []


def test_the_list_filters_by_clinic_dates_and_instants(api, sched, week):
    second_day = ids(api.get(APPOINTMENTS, {"start": day(2), "end": day(2)}))
    assert second_day == [week.d2_doc_10.pk]
    assert len(ids(api.get(APPOINTMENTS, {"start": day(2)}))) == 3
    assert len(ids(api.get(APPOINTMENTS, {"end": day(1)}))) == 3

    after = api.get(APPOINTMENTS, {"start_after": at(11).isoformat()})
    assert ids(after)[0] == week.d1_doc_11.pk and len(ids(after)) == 4
    before = api.get(APPOINTMENTS, {"start_before": at(11).isoformat()})
    assert len(ids(before)) == 2
    # Without an offset, an instant is read on the clinic's clock.
    naive = api.get(
        APPOINTMENTS, {"start_after": at(11).replace(tzinfo=None).isoformat()}
    )
    assert ids(naive) == ids(after)


@pytest.mark.parametrize(
    "query, field",
    [
        ({"status": "lost"}, "status"),
        ({"start": "tomorrow"}, "start"),
        ({"start_after": "soon"}, "start_after"),
        ({"provider": "doc"}, "provider"),
    ],
)
def test_a_bad_list_filter_is_a_400_naming_it(api, sched, query, field):
    response = api.get(APPOINTMENTS, query)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("size, pages", [(1, 6), (2, 3), (3, 2), (4, 2)])
def test_cursor_pages_walk_every_appointment_once_in_order(
    api, sched, week, size, pages
):
    everything = ids(api.get(APPOINTMENTS))
    seen, url, walked = [], f"{APPOINTMENTS}?page_size={size}", 0
    while url:
        response = api.get(url)
        seen += ids(response)
        url = response.json()["next"]
        walked += 1
    # Same-time visits straddle page ends at some sizes: none repeats or drops.
    assert seen == everything and walked == pages


def test_a_previous_link_leads_back(api, sched, week):
    everything = ids(api.get(APPOINTMENTS))

    second = api.get(api.get(APPOINTMENTS + "?page_size=2").json()["next"])
    back = api.get(second.json()["previous"])
    assert ids(back) == everything[:2]


def test_page_size_defaults_to_fifty_and_stops_at_two_hundred(api, sched):
    with tenant_context(sched.clinic):
        for n in range(210):
            start = at(9, offset=1 + n // 16) + timedelta(minutes=30 * (n % 16))
            book(sched, start)
    assert len(ids(api.get(APPOINTMENTS))) == 50
    assert len(ids(api.get(APPOINTMENTS, {"page_size": 500}))) == 200


def forged_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(f"p={position}".encode()).decode()


def test_an_invalid_cursor_is_a_400(api, sched):
    cases = [
        (url, cursor)
        for url in (APPOINTMENTS, PROVIDERS)
        for cursor in ("not-a-cursor", "é", forged_cursor("Ann\x00"))
    ]
    cases.append((APPOINTMENTS, forged_cursor("not-a-time")))
    for url, cursor in cases:
        response = api.get(url, {"cursor": cursor})
        assert response.status_code == 400, (url, cursor)
        assert response.json() == {"cursor": ["Invalid cursor."]}


# --- Audit ----------------------------------------------------------------------------


def test_reading_an_appointment_writes_an_access_entry_for_its_patient(
    api, sched, staff_user
):
    appointment = book(sched, at(10))

    assert api.get(f"{APPOINTMENTS}{appointment.pk}/").status_code == 200

    with tenant_context(sched.clinic):
        entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).get()
    assert (
        entry.patient_ids == [sched.patient.pk] and entry.object_id == sched.patient.pk
    )
    assert entry.additional_data == {"via": "api"}
    assert entry.actor == staff_user


def test_one_list_request_writes_one_compact_access_entry(api, sched, week, staff_user):
    assert api.get(APPOINTMENTS, {"provider": sched.doc.pk}).status_code == 200

    with tenant_context(sched.clinic):
        entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).get()
    assert sorted(entry.patient_ids) == sorted([sched.patient.pk, week.other.pk])
    assert entry.additional_data == {
        "via": "api",
        "filters": {"provider": str(sched.doc.pk)},
    }
    assert entry.actor == staff_user


def test_provider_and_slot_reads_are_not_patient_reads(api, sched):
    api.get(PROVIDERS)
    api.get(SLOTS, {"start": day(1), "end": day(1), "appointment_type": sched.visit.pk})
    with tenant_context(sched.clinic):
        assert not AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).exists()


# --- Clinics stay apart ---------------------------------------------------------------


@pytest.fixture
def beta_schedule(other_clinic, other_staff_user):
    with tenant_context(other_clinic):
        location = LocationFactory()
        provider = ProviderFactory(name="Dr. Beta")
        weekday_hours(provider, location)
        visit = AppointmentTypeFactory(name="Cleaning", offered_by=[provider])
        appointment = appointment_book(
            patient=PatientFactory(),
            provider=provider,
            appointment_type=visit,
            start=at(10),
            booked_by=other_staff_user,
        )
    return SimpleNamespace(provider=provider, visit=visit, appointment=appointment)


def test_an_alpha_token_never_reads_beta_schedules(
    api, beta_api, clinic, beta_schedule
):
    theirs = beta_schedule
    with tenant_context(clinic):
        assert not Appointment.objects.exists()
        assert not AppointmentType.objects.exists()
    on_their_host = APIClient(HTTP_HOST="beta.localhost", **api._credentials)
    slots = {"start": day(1), "end": day(1), "appointment_type": theirs.visit.pk}
    for url in (
        APPOINTMENTS,
        f"{APPOINTMENTS}{theirs.appointment.pk}/",
        PROVIDERS,
        f"{PROVIDERS}{theirs.provider.pk}/",
        SLOTS,
    ):
        assert on_their_host.get(url, slots).status_code == 401

    assert api.get(f"{APPOINTMENTS}{theirs.appointment.pk}/").status_code == 404
    assert api.get(APPOINTMENTS).json()["results"] == []
    assert api.get(f"{PROVIDERS}{theirs.provider.pk}/").status_code == 404
    assert api.get(PROVIDERS).json()["results"] == []
    assert api.get(f"{PROVIDERS}{theirs.provider.pk}/slots/", slots).status_code == 404
    unknown_type = api.get(SLOTS, slots)
    assert unknown_type.status_code == 400 and "appointment_type" in unknown_type.json()

    # Beta's own token still reads them, on beta's host only.
    assert beta_api.get(f"{APPOINTMENTS}{theirs.appointment.pk}/").status_code == 200
    assert len(beta_api.get(SLOTS, slots).json()["slots"]) == 31 - 3


def test_an_alpha_token_never_changes_a_beta_appointment(
    api, other_clinic, beta_schedule
):
    theirs = beta_schedule.appointment
    on_their_host = APIClient(HTTP_HOST="beta.localhost", **api._credentials)
    for name, data in (
        ("confirm", {}),
        ("cancel", {"reason": "x"}),
        ("reschedule", {"start": at(14).isoformat()}),
    ):
        url = f"{APPOINTMENTS}{theirs.pk}/{name}/"
        assert on_their_host.post(url, data, format="json").status_code == 401
        assert api.post(url, data, format="json").status_code == 404
    with tenant_context(other_clinic):
        theirs.refresh_from_db()
        assert theirs.status == "scheduled" and theirs.start == at(10)
        assert theirs.events.count() == 1


def test_a_beta_token_cannot_book_on_alpha(beta_api, sched):
    client = APIClient(HTTP_HOST="alpha.localhost", **beta_api._credentials)

    response = client.post(APPOINTMENTS, payload(sched, at(10)), format="json")

    assert response.status_code == 401
    assert counts(sched.clinic) == (0, 0)
    slots = {"start": day(1), "end": day(1), "appointment_type": sched.visit.pk}
    assert client.get(SLOTS, slots).status_code == 401


def test_a_billing_token_reads_the_schedule_but_cannot_book(clinic):
    from portal.services import membership_grant, user_create

    billing = user_create(email="ledger@alpha.test", password="a-long-test-password-1")
    membership_grant(user=billing, clinic=clinic, role="billing")
    client = APIClient(HTTP_HOST="alpha.localhost")
    token = client.post(
        "/api/v1/auth/token/",
        {"email": billing.email, "password": "a-long-test-password-1"},
        format="json",
    ).json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/appointments/").status_code == 200
    with schema_context(clinic.schema_name):
        location = LocationFactory()
        provider = ProviderFactory()
        weekday_hours(provider, location)
        visit = AppointmentTypeFactory(offered_by=[provider])
        patient = PatientFactory()
    start = (datetime.now(ZoneInfo("America/New_York")) + timedelta(days=2)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    response = client.post(
        "/api/v1/appointments/",
        {"patient": patient.pk, "provider": provider.pk, "appointment_type": visit.pk, "start": start.isoformat()},
        format="json",
    )
    assert response.status_code == 403
    with schema_context(clinic.schema_name):
        assert not Appointment.objects.filter(provider=provider).exists()
