"""Partner API for the schedule: booking, and moving a visit through its day."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import tenant_context

from clinic.models import Appointment, AuditEntry
from clinic.services import appointment_cancel
from clinic.tests.api_support import (
    APPOINTMENT_SHAPE,
    APPOINTMENTS,
    at,
    book,
    counts,
    payload,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
)
from clinic.tests.factories import (
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    RoomFactory,
    member,
    weekday_hours,
)
from portal.models import Clinic, Membership

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
    yield Membership.objects.filter(user=staff_user, clinic=clinic)


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
        appointment_cancel(
            appointment=appointment, actor=member(sched.user), reason="Moved away"
        )
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
