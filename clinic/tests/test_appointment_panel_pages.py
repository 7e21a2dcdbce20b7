"""Schedule pages: the appointment panel, its moves and its history."""

from __future__ import annotations

from clinic.actors import SYSTEM
from clinic.models import Appointment, AppointmentEvent, AuditEntry, WaitlistEntry
from clinic.services import appointment_cancel, waitlist_add
from clinic.tests.factories import member
from clinic.tests.page_support import within
from clinic.tests.schedule_support import (
    HX,
    at,
    book,
    book_today,
    html_of,
    refreshed,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
    tomorrow,
)


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
            patient=sched.alan,
            appointment_type=sched.visit,
            provider=sched.able,
            actor=SYSTEM,
        )
        appointment_cancel(appointment=appt, actor=member(staff_user), reason="Travel")
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
