"""Schedule rules an outside probe found broken: who may change the waitlist, role
refusals that come before any state check, and a reschedule into the same slot.

Billing staff read the schedule but never change it, and a refused role learns
nothing about the visit or entry it aimed at: the answer is the role's 403, never
a 409 (or 400) that would tell the state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from clinic.actors import SYSTEM
from clinic.models import Appointment, AppointmentEvent, WaitlistEntry
from clinic.services import (
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_confirm,
    appointment_no_show,
    appointment_reschedule,
    waitlist_add,
    waitlist_book,
    waitlist_remove,
)
from clinic.tests.api_support import client_for
from clinic.tests.factories import RoomFactory, member
from clinic.tests.page_support import within
from clinic.tests.schedule_support import (
    at,
    book,
    book_today,
    html_of,
    refreshed,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
    tomorrow,
)
from conftest import PASSWORD, host_of
from portal.errors import ApplicationError
from portal.models import Role, User
from portal.services import membership_grant, user_create

APPOINTMENTS = "/api/v1/appointments/"
ROLE_REFUSED = "role does not allow"


@pytest.fixture
def billing(clinic) -> User:
    """A member of alpha's billing staff: reads the schedule, changes none of it."""
    user = user_create(email="ledger@alpha.test", password=PASSWORD)
    membership_grant(user=user, clinic=clinic, role=Role.BILLING)
    return user


@pytest.fixture
def billing_client(clinic, billing) -> Client:
    client = Client(HTTP_HOST=host_of(clinic))
    client.force_login(billing)
    return client


def events_of(s, appointment: Appointment) -> list[tuple[str, str]]:
    with within(s.clinic):
        return list(
            AppointmentEvent.objects.filter(appointment=appointment)
            .order_by("at", "id")
            .values_list("kind", "to_status")
        )


def waiting_entry(s) -> WaitlistEntry:
    with within(s.clinic):
        return waitlist_add(
            patient=s.alan, appointment_type=s.visit, actor=member(s.user)
        )


def cancelled_visit(s) -> Appointment:
    appointment = book(s, at(tomorrow(), 10))
    with within(s.clinic):
        return appointment_cancel(
            appointment=appointment, actor=member(s.user), reason="Travel"
        )


def completed_visit(s) -> Appointment:
    appointment = book_today(s)
    with within(s.clinic):
        appointment_check_in(appointment=appointment, actor=member(s.user))
        return appointment_complete(appointment=appointment, actor=member(s.user))


# Every lifecycle service, called with the given actor; the reschedule aims at a
# time that would be free, so only the role or the state can refuse it.
MOVES: dict[str, Callable[..., Appointment]] = {
    "confirm": lambda a, by: appointment_confirm(appointment=a, actor=member(by)),
    "check_in": lambda a, by: appointment_check_in(appointment=a, actor=member(by)),
    "complete": lambda a, by: appointment_complete(appointment=a, actor=member(by)),
    "cancel": lambda a, by: appointment_cancel(
        appointment=a, actor=member(by), reason="Again"
    ),
    "cancel_without_reason": lambda a, by: appointment_cancel(
        appointment=a, actor=member(by), reason=""
    ),
    "no_show": lambda a, by: appointment_no_show(appointment=a, actor=member(by)),
    "reschedule": lambda a, by: appointment_reschedule(
        appointment=a, start=at(tomorrow(), 15), actor=member(by)
    ),
    "reschedule_into_its_own_slot": lambda a, by: appointment_reschedule(
        appointment=a, start=a.start, actor=member(by)
    ),
}


def refused_for_the_role(s, move: str, appointment: Appointment, by: User) -> None:
    before = (refreshed(s, appointment).status, events_of(s, appointment))
    with within(s.clinic), pytest.raises(ApplicationError) as exc:
        MOVES[move](appointment, by)
    assert exc.value.status == 403, exc.value.message
    assert ROLE_REFUSED in exc.value.message
    assert "current_status" not in exc.value.extra
    assert (refreshed(s, appointment).status, events_of(s, appointment)) == before


# --- 1. Billing staff do not change the waitlist -------------------------------------


def test_billing_staff_cannot_add_a_patient_to_the_waitlist(sched, billing):
    with within(sched.clinic), pytest.raises(ApplicationError) as exc:
        waitlist_add(
            patient=sched.alan, appointment_type=sched.visit, actor=member(billing)
        )
    assert exc.value.status == 403 and ROLE_REFUSED in exc.value.message
    with within(sched.clinic):
        assert not WaitlistEntry.objects.exists()


def test_billing_staff_are_refused_for_the_role_before_their_entry_is_checked(
    sched, billing
):
    # An entry against every rule still answers with the role, not the field errors.
    with within(sched.clinic), pytest.raises(ApplicationError) as exc:
        waitlist_add(
            patient=sched.alan,
            appointment_type=sched.visit,
            weekdays=[9],
            earliest_time=time(12),
            latest_time=time(9),
            actor=member(billing),
        )
    assert exc.value.status == 403


def test_billing_staff_cannot_remove_a_waitlist_entry(sched, billing):
    entry = waiting_entry(sched)
    with within(sched.clinic), pytest.raises(ApplicationError) as exc:
        waitlist_remove(entry=entry, actor=member(billing))
    assert exc.value.status == 403 and ROLE_REFUSED in exc.value.message
    with within(sched.clinic):
        assert WaitlistEntry.objects.get(pk=entry.pk).status == "waiting"


def test_the_front_desk_and_the_system_still_add_and_remove_entries(sched):
    with within(sched.clinic):
        by_desk = waitlist_add(
            patient=sched.alan, appointment_type=sched.visit, actor=member(sched.user)
        )
        by_system = waitlist_add(
            patient=sched.grace, appointment_type=sched.visit, actor=SYSTEM
        )
        waitlist_remove(entry=by_desk, actor=member(sched.user))
        waitlist_remove(entry=by_system, actor=SYSTEM)
        statuses = set(WaitlistEntry.objects.values_list("status", flat=True))
    assert statuses == {"removed"}


def test_a_billing_post_to_the_waitlist_page_is_refused_and_writes_nothing(
    billing_client, sched
):
    response = billing_client.post(
        "/waitlist/",
        {"patient": sched.alan.pk, "appointment_type": sched.visit.pk, "provider": ""},
    )
    assert response.status_code == 403
    with within(sched.clinic):
        assert not WaitlistEntry.objects.exists()


def test_billing_cannot_remove_an_entry_from_the_waitlist_page(billing_client, sched):
    entry = waiting_entry(sched)
    response = billing_client.post(f"/waitlist/{entry.pk}/remove/")
    assert response.status_code == 403
    with within(sched.clinic):
        assert WaitlistEntry.objects.get(pk=entry.pk).status == "waiting"


def test_billing_staff_see_the_waitlist_without_its_controls(
    billing_client, staff_client, sched
):
    entry = waiting_entry(sched)
    appointment = book(sched, at(tomorrow(), 10))
    with within(sched.clinic):
        appointment_cancel(
            appointment=appointment, actor=member(sched.user), reason="Travel"
        )
    controls = ['id="add-heading"', f"/waitlist/{entry.pk}/remove/", "/book/"]

    shown = html_of(billing_client.get("/waitlist/"))

    assert "Turing, Alan" in shown
    assert [c for c in controls if c in shown] == []
    assert all(c in html_of(staff_client.get("/waitlist/")) for c in controls)


# --- 2. The role is refused before any state is looked at ----------------------------


@pytest.mark.parametrize("move", list(MOVES))
def test_billing_staff_get_the_role_refusal_for_a_cancelled_visit(sched, billing, move):
    refused_for_the_role(sched, move, cancelled_visit(sched), billing)


@pytest.mark.parametrize("move", list(MOVES))
def test_billing_staff_get_the_role_refusal_for_a_completed_visit(sched, billing, move):
    refused_for_the_role(sched, move, completed_visit(sched), billing)


@pytest.mark.parametrize("move", ["check_in", "no_show"])
def test_billing_staff_get_the_role_refusal_for_a_visit_not_yet_due(
    sched, billing, move
):
    # Tomorrow's visit: too early to check in or to miss, which the role must not learn.
    refused_for_the_role(sched, move, book(sched, at(tomorrow(), 10)), billing)


def test_allowed_roles_still_learn_the_state_that_refuses_them(sched):
    appointment = cancelled_visit(sched)
    with within(sched.clinic), pytest.raises(ApplicationError) as exc:
        appointment_confirm(appointment=appointment, actor=member(sched.user))
    assert exc.value.status == 409 and exc.value.extra["current_status"] == "cancelled"


def test_billing_staff_get_the_role_refusal_for_a_closed_waitlist_entry(sched, billing):
    entry = waiting_entry(sched)
    with within(sched.clinic):
        waitlist_remove(entry=entry, actor=member(sched.user))
    for service in (
        lambda: waitlist_remove(entry=entry, actor=member(billing)),
        lambda: waitlist_book(
            entry=entry,
            provider=sched.able,
            start=at(tomorrow(), 10),
            actor=member(billing),
        ),
    ):
        with within(sched.clinic), pytest.raises(ApplicationError) as exc:
            service()
        assert exc.value.status == 403 and ROLE_REFUSED in exc.value.message


def test_a_billing_token_cancelling_a_cancelled_visit_gets_403_not_409(
    clinic, billing, sched
):
    appointment = cancelled_visit(sched)
    api = client_for(billing, clinic)

    response = api.post(
        f"{APPOINTMENTS}{appointment.pk}/cancel/", {"reason": "Again"}, format="json"
    )

    assert response.status_code == 403
    assert ROLE_REFUSED in response.json()["detail"]
    assert "current_status" not in response.json()


@pytest.mark.parametrize(
    "name, data",
    [
        ("confirm", {}),
        ("cancel", {}),
        ("complete", {}),
        ("check-in", {}),
        ("no-show", {}),
        ("reschedule", {"start": at(tomorrow(), 15).isoformat()}),
    ],
)
def test_a_billing_token_gets_403_for_every_move_on_a_closed_visit(
    clinic, billing, sched, name, data
):
    appointment = cancelled_visit(sched)
    before = events_of(sched, appointment)
    api = client_for(billing, clinic)

    response = api.post(f"{APPOINTMENTS}{appointment.pk}/{name}/", data, format="json")

    assert response.status_code == 403, response.json()
    assert set(response.json()) == {"detail"}
    assert events_of(sched, appointment) == before


def test_a_billing_token_checking_in_tomorrows_visit_gets_403(clinic, billing, sched):
    appointment = book(sched, at(tomorrow(), 10))
    api = client_for(billing, clinic)
    response = api.post(f"{APPOINTMENTS}{appointment.pk}/check-in/", format="json")
    assert response.status_code == 403 and "current_status" not in response.json()


def test_billing_checking_in_tomorrows_visit_on_the_today_board_gets_403(
    billing_client, sched
):
    appointment = book(sched, at(tomorrow(), 10))
    response = billing_client.post(f"/today/{appointment.pk}/check-in/")
    assert response.status_code == 403
    assert "day of their appointment" not in html_of(response)
    assert refreshed(sched, appointment).status == "scheduled"


def test_billing_confirming_a_cancelled_visit_on_its_panel_gets_403(
    billing_client, sched
):
    appointment = cancelled_visit(sched)
    response = billing_client.post(f"/appointments/{appointment.pk}/confirm/")
    assert response.status_code == 403
    assert "cannot be confirmed" not in html_of(response)


def test_billing_booking_a_closed_entry_from_the_waitlist_page_gets_403(
    billing_client, sched
):
    entry = waiting_entry(sched)
    with within(sched.clinic):
        waitlist_remove(entry=entry, actor=member(sched.user))
    response = billing_client.post(
        f"/waitlist/{entry.pk}/book/",
        {"provider": sched.able.pk, "start": at(tomorrow(), 10).isoformat()},
    )
    assert response.status_code == 403
    assert "no longer waiting" not in html_of(response)


# --- 3. Rescheduling into the slot a visit holds changes nothing ---------------------


@pytest.fixture
def published(monkeypatch) -> list[str]:
    """The live updates the schedule services sent (they go out after commit)."""
    sent: list[str] = []
    monkeypatch.setattr(
        "clinic.services.scheduling.publish_appointment_change",
        lambda appointment, change: sent.append(change),
    )
    return sent


def confirmed_visit(s, **extra) -> Appointment:
    appointment = book(s, at(tomorrow(), 10), **extra)
    with within(s.clinic):
        return appointment_confirm(appointment=appointment, actor=member(s.user))


@pytest.mark.parametrize("same_provider_named", [False, True])
def test_rescheduling_a_visit_into_its_own_slot_is_a_no_op(
    sched, published, same_provider_named
):
    with within(sched.clinic):
        room = RoomFactory(location=sched.location)
    appointment = confirmed_visit(sched, room=room)
    before = refreshed(sched, appointment)
    history = events_of(sched, appointment)
    published.clear()

    with within(sched.clinic):
        returned = appointment_reschedule(
            appointment=appointment,
            start=appointment.start,
            provider=sched.able if same_provider_named else None,
            actor=member(sched.user),
        )

    after = refreshed(sched, appointment)
    assert returned.pk == appointment.pk and returned.status == "confirmed"
    assert (after.status, after.start, after.end, after.provider_id, after.room_id) == (
        "confirmed",
        before.start,
        before.end,
        sched.able.pk,
        room.pk,
    )
    assert after.updated_at == before.updated_at
    assert events_of(sched, appointment) == history
    assert published == []


def test_the_same_time_with_another_provider_is_still_a_move(sched):
    appointment = confirmed_visit(sched)
    with within(sched.clinic):
        moved = appointment_reschedule(
            appointment=appointment,
            start=appointment.start,
            provider=sched.baker,
            actor=member(sched.user),
        )
    assert moved.status == "scheduled" and moved.provider == sched.baker
    assert events_of(sched, appointment)[-1] == ("rescheduled", "scheduled")


def test_a_cancelled_visit_cannot_be_rescheduled_even_into_its_own_slot(sched):
    appointment = cancelled_visit(sched)
    with within(sched.clinic), pytest.raises(ApplicationError) as exc:
        appointment_reschedule(
            appointment=appointment, start=appointment.start, actor=member(sched.user)
        )
    assert exc.value.status == 409


def test_a_visit_under_way_rescheduled_into_its_own_slot_is_left_alone(sched):
    # Its start is past, which would refuse a move; staying put needs no new slot.
    appointment = book_today(sched)
    with within(sched.clinic):
        returned = appointment_reschedule(
            appointment=appointment, start=appointment.start, actor=member(sched.user)
        )
    assert returned.status == "scheduled"
    assert events_of(sched, appointment) == [("booked", "scheduled")]


def test_a_time_without_its_offset_is_refused_even_if_it_reads_like_the_slot(sched):
    appointment = confirmed_visit(sched)
    with within(sched.clinic), pytest.raises(ValidationError) as exc:
        appointment_reschedule(
            appointment=appointment,
            start=appointment.start.replace(tzinfo=None),
            actor=member(sched.user),
        )
    assert "start" in exc.value.message_dict


def test_the_api_answers_a_same_slot_reschedule_with_the_unchanged_visit(api, sched):
    appointment = confirmed_visit(sched)
    history = events_of(sched, appointment)

    response = api.post(
        f"{APPOINTMENTS}{appointment.pk}/reschedule/",
        {"start": appointment.start.isoformat(), "provider": sched.able.pk},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == appointment.pk and body["status"] == "confirmed"
    assert body["start"] == at(tomorrow(), 10).isoformat()
    assert events_of(sched, appointment) == history


def test_the_panel_keeps_a_visit_submitted_at_its_own_time(staff_client, sched):
    appointment = confirmed_visit(sched)
    history = events_of(sched, appointment)
    local = appointment.start.astimezone(at(tomorrow(), 10).tzinfo)
    prefix = f"r{appointment.pk}"

    response = staff_client.post(
        f"/appointments/{appointment.pk}/reschedule/",
        {
            f"{prefix}-date": local.date().isoformat(),
            f"{prefix}-time": local.strftime("%H:%M"),
            f"{prefix}-provider": sched.able.pk,
        },
    )

    assert response.status_code in (200, 302)
    assert refreshed(sched, appointment).status == "confirmed"
    assert events_of(sched, appointment) == history
