"""One answer per rule: taken time, the booking notice, the calendars' grid, the
legal moves, the event's time; and the defects the review found (query counts,
multi-valued matching, access entries)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.actors import SYSTEM
from clinic.calendar import day_grid
from clinic.models import Appointment, AppointmentEvent, AuditEntry
from clinic.selectors import freed_slots, slots_for_provider, waitlist_matches
from clinic.selectors.availability import time_is_taken
from clinic.services import (
    appointment_allowed_moves,
    appointment_book,
    appointment_cancel,
    appointment_confirm,
    waitlist_add,
)
from clinic.tests.factories import (
    AppointmentTypeFactory,
    PatientFactory,
    member,
)
from clinic.tests.page_support import within
from clinic.tests.schedule_support import (
    HX,
    at,
    book,
    book_today,
    html_of,
    sched_fixture,  # noqa: F401 (the `sched` fixture)
    tomorrow,
)
from portal.errors import ApplicationError
from portal.models import Membership, Role
from portal.services import membership_grant, user_create


@pytest.fixture
def overbooking(sched):
    """Alpha allows overbooking and its front desk may overbook (for this test)."""
    with within(sched.clinic):
        Membership.objects.filter(user=sched.user, clinic=sched.clinic).update(
            can_overbook=True
        )
    sched.clinic.allow_overbooking = True
    sched.clinic.save(update_fields=["allow_overbooking"])
    return sched


def _overbook(s, start, patient):
    with within(s.clinic):
        connection.tenant.allow_overbooking = True
        return appointment_book(
            patient=patient,
            provider=s.able,
            appointment_type=s.visit,
            start=start,
            actor=member(s.user),
            overbook=True,
            overbook_reason=Appointment.OverbookReason.URGENT,
        )


# --- Taken time: one rule, overbooked visits included ---------------------------------


def test_an_overbooked_visit_keeps_its_time_taken_after_the_visit_under_it_is_cancelled(
    overbooking,
):
    s = overbooking
    ten = at(tomorrow(), 10)
    first = book(s, ten)
    extra = _overbook(s, ten, s.alan)
    with within(s.clinic):
        appointment_cancel(appointment=first, actor=member(s.user), reason="Travel")
        # Booking: the time is taken by the overbooked visit.
        with pytest.raises(ApplicationError) as exc:
            appointment_book(
                patient=PatientFactory(),
                provider=s.able,
                appointment_type=s.visit,
                start=ten,
                actor=member(s.user),
            )
        assert exc.value.status == 409
        assert [c["id"] for c in exc.value.extra["conflicts"]] == [extra.pk]
        # Free slots, freed slots and the panel's check agree.
        slots = slots_for_provider(
            provider=s.able,
            appointment_type=s.visit,
            start_date=tomorrow(),
            end_date=tomorrow(),
        )
        assert ten not in {slot.start for slot in slots}
        assert time_is_taken(provider_id=s.able.pk, start=ten, until=first.end)
        assert all(f.start != ten for f in freed_slots())
        # The calendars offer no free time there either.
        (column,) = day_grid(day=tomorrow(), provider_ids=[s.able.pk])["columns"]
        assert f"start={tomorrow().isoformat()}T10:00" not in column["html"]


def test_the_panel_of_the_cancelled_visit_offers_no_waitlist_match_for_taken_time(
    overbooking, staff_client
):
    s = overbooking
    ten = at(tomorrow(), 10)
    first = book(s, ten)
    _overbook(s, ten, s.alan)
    with within(s.clinic):
        waitlist_add(patient=PatientFactory(), appointment_type=s.visit, actor=SYSTEM)
        appointment_cancel(appointment=first, actor=member(s.user), reason="Travel")
    html = html_of(staff_client.get(reverse("appointment-panel", args=[first.pk])))
    assert "Waitlist for this freed slot" not in html


# --- The minimum booking notice ------------------------------------------------------


def test_the_booking_service_refuses_a_start_inside_the_clinics_notice(sched):
    now = at(tomorrow(), 8)
    with within(sched.clinic):
        assert connection.tenant.booking_min_notice_minutes == 60
        with pytest.raises(ValidationError) as exc:
            book(sched, at(tomorrow(), 8, 30), now=now)
        assert "60 minutes ahead" in exc.value.message_dict["start"][0]
    assert book(sched, at(tomorrow(), 9), now=now)


def test_a_partner_cannot_book_inside_the_window_the_slots_api_hides(api, sched):
    # Three days' notice: tomorrow's free time is hidden, and refused when booked.
    sched.clinic.booking_min_notice_minutes = 3 * 24 * 60
    sched.clinic.save(update_fields=["booking_min_notice_minutes"])
    day = tomorrow().isoformat()
    slots = api.get(
        f"/api/v1/providers/{sched.able.pk}/slots/",
        {"appointment_type": sched.visit.pk, "start": day, "end": day},
    )
    assert slots.status_code == 200 and slots.json()["slots"] == []
    response = api.post(
        "/api/v1/appointments/",
        {
            "patient": sched.grace.pk,
            "provider": sched.able.pk,
            "appointment_type": sched.visit.pk,
            "start": at(tomorrow(), 10).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    assert "start" in response.json()
    with within(sched.clinic):
        assert not Appointment.objects.exists()


# --- The calendars' grid -------------------------------------------------------------


def test_calendar_free_time_starts_on_the_visit_types_interval(sched):
    with within(sched.clinic):
        sched.visit.slot_interval_minutes = 20
        sched.visit.duration_minutes = 40
        sched.visit.save()
    book(sched, at(tomorrow(), 9))
    with within(sched.clinic):
        (column,) = day_grid(
            day=tomorrow(), provider_ids=[sched.able.pk], now=at(tomorrow(), 7)
        )["columns"]
    html = str(column["html"])
    # 9:00-9:40 taken; the next start on a 20-minute grid is 9:40 (not 9:45).
    assert f"start={tomorrow().isoformat()}T09:40" in html
    assert f"start={tomorrow().isoformat()}T09:45" not in html
    assert 'data-step="20"' in html


def test_a_stretch_shorter_than_the_shortest_visit_is_not_offered(sched):
    book(sched, at(tomorrow(), 9))  # 9:00-9:30
    book(sched, at(tomorrow(), 9, 45), patient=sched.alan)  # leaves 9:30-9:45
    with within(sched.clinic):
        (column,) = day_grid(
            day=tomorrow(), provider_ids=[sched.able.pk], now=at(tomorrow(), 7)
        )["columns"]
    assert "09:30–09:45" not in str(column["html"])


def test_a_provider_who_offers_no_visit_type_shows_no_free_time(sched):
    with within(sched.clinic):
        sched.visit.providers.remove(sched.baker)
        (column,) = day_grid(
            day=tomorrow(), provider_ids=[sched.baker.pk], now=at(tomorrow(), 7)
        )["columns"]
    assert 'class="free"' not in str(column["html"])


# --- The legal moves -----------------------------------------------------------------


@pytest.fixture
def billing_member(clinic, sched):
    user = user_create(email="ledger@alpha.test", password="a-long-test-password-1")
    return membership_grant(user=user, clinic=clinic, role=Role.BILLING)


def test_the_allowed_moves_come_from_the_services_rules(sched, billing_member):
    visit = book(sched, at(tomorrow(), 10))
    begun = book_today(sched, patient=sched.alan)
    with within(sched.clinic):
        desk = member(sched.user)
        assert appointment_allowed_moves(appointment=visit, actor=desk) == [
            "confirm",
            "cancel",
            "reschedule",
        ]
        assert appointment_allowed_moves(appointment=begun, actor=desk) == [
            "confirm",
            "check_in",
            "no_show",
            "cancel",
            "reschedule",
        ]
        assert appointment_allowed_moves(appointment=visit, actor=billing_member) == []


def test_the_panel_offers_exactly_the_services_moves(
    sched, staff_client, billing_member
):
    visit = book(sched, at(tomorrow(), 10))
    html = html_of(
        staff_client.get(reverse("appointment-panel", args=[visit.pk]), **HX)
    )
    assert "/confirm/" in html and "/check-in/" not in html and "/no-show/" not in html
    assert "Reschedule" in html
    billing_member.user.set_password("a-long-test-password-1")
    staff_client.force_login(billing_member.user)
    html = html_of(
        staff_client.get(reverse("appointment-panel", args=[visit.pk]), **HX)
    )
    assert "/confirm/" not in html and "Reschedule" not in html


# --- The event's time ----------------------------------------------------------------


def test_a_lifecycle_step_is_dated_when_it_happened(sched):
    visit = book(sched, at(tomorrow(), 10), now=at(tomorrow(), 7) - timedelta(days=3))
    when = timezone.now() - timedelta(hours=5)
    with within(sched.clinic):
        confirmed = appointment_confirm(
            appointment=visit, actor=member(sched.user), at=when
        )
        event = confirmed.events.get(kind=AppointmentEvent.Kind.CONFIRMED)
        booked = confirmed.events.get(kind=AppointmentEvent.Kind.BOOKED)
    assert event.at == when
    assert booked.at == at(tomorrow(), 7) - timedelta(days=3)


# --- Query counts that do not grow with the rows -------------------------------------


def _cancel_visits(s, count: int, hour: int) -> None:
    for n in range(count):
        visit = book(s, at(tomorrow(), hour) + timedelta(minutes=30 * n))
        with within(s.clinic):
            appointment_cancel(appointment=visit, actor=member(s.user), reason="Ill")


def test_freed_slots_cost_one_query_however_many_were_freed(sched):
    _cancel_visits(sched, 2, 9)
    with within(sched.clinic), CaptureQueriesContext(connection) as few:
        assert len(freed_slots()) == 2
    _cancel_visits(sched, 5, 12)
    with within(sched.clinic), CaptureQueriesContext(connection) as many:
        assert len(freed_slots()) == 7
    assert len(many) == len(few) == 1


def test_the_waitlist_page_costs_the_same_queries_however_many_slots_and_entries(
    sched, staff_client
):
    def waiting(n: int) -> None:
        with within(sched.clinic):
            for _ in range(n):
                waitlist_add(
                    patient=PatientFactory(), appointment_type=sched.visit, actor=SYSTEM
                )

    _cancel_visits(sched, 1, 9)
    waiting(1)
    staff_client.get(reverse("waitlist"))  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert staff_client.get(reverse("waitlist")).status_code == 200
    _cancel_visits(sched, 4, 12)
    waiting(5)
    with CaptureQueriesContext(connection) as many:
        assert staff_client.get(reverse("waitlist")).status_code == 200
    assert len(many) == len(few)


# --- Waitlist matching ---------------------------------------------------------------


def test_a_patient_with_a_cancelled_visit_then_and_a_visit_elsewhere_still_matches(
    sched,
):
    """Both facts are about different visits: neither one rules the slot out."""
    ten, two = at(tomorrow(), 10), at(tomorrow(), 14)
    patient = sched.alan
    own = book(sched, ten, patient=patient)
    book(sched, two, patient=patient, provider=sched.baker)
    with within(sched.clinic):
        appointment_cancel(appointment=own, actor=member(sched.user), reason="Ill")
        entry = waitlist_add(
            patient=patient, appointment_type=sched.visit, actor=SYSTEM
        )
        matches = waitlist_matches(
            provider=sched.able,
            appointment_type=sched.visit,
            start=ten,
            end=own.end,
        )
    assert [m.entry.pk for m in matches] == [entry.pk]


def test_a_patient_already_seen_at_that_time_does_not_match(sched):
    ten = at(tomorrow(), 10)
    book(sched, ten, patient=sched.alan, provider=sched.baker)
    with within(sched.clinic):
        waitlist_add(patient=sched.alan, appointment_type=sched.visit, actor=SYSTEM)
        matches = waitlist_matches(
            provider=sched.able,
            appointment_type=sched.visit,
            start=ten,
            end=ten + timedelta(minutes=30),
        )
    assert matches == []


# --- Access entries ------------------------------------------------------------------


def _access_for(s, via: str) -> list[AuditEntry]:
    with within(s.clinic):
        return list(
            AuditEntry.objects.filter(
                action=AuditEntry.Action.ACCESS, additional_data__via=via
            )
        )


def test_the_waitlist_page_writes_an_access_entry_for_the_patients_it_names(
    sched, staff_client
):
    visit = book(sched, at(tomorrow(), 10))
    with within(sched.clinic):
        waiting = PatientFactory(first_name="Wanda", last_name="Waiting")
        waitlist_add(patient=waiting, appointment_type=sched.visit, actor=SYSTEM)
        appointment_cancel(appointment=visit, actor=member(sched.user), reason="Ill")
    html = html_of(staff_client.get(reverse("waitlist")))
    assert "Waiting" in html
    (entry,) = _access_for(sched, "waitlist")
    assert waiting.pk in entry.patient_ids


def test_the_panels_waitlist_matches_write_an_access_entry(sched, staff_client):
    visit = book(sched, at(tomorrow(), 10))
    with within(sched.clinic):
        waiting = PatientFactory(first_name="Wanda", last_name="Waiting")
        waitlist_add(patient=waiting, appointment_type=sched.visit, actor=SYSTEM)
        appointment_cancel(appointment=visit, actor=member(sched.user), reason="Ill")
    html = html_of(staff_client.get(reverse("appointment-panel", args=[visit.pk])))
    assert "Waiting" in html
    (entry,) = _access_for(sched, "appointment-panel")
    assert entry.patient_ids == [waiting.pk]


# --- Other clinics -------------------------------------------------------------------


def test_set_up_services_refuse_every_role_but_admin(sched, billing_member):
    from clinic.models import Holiday
    from clinic.services import holiday_save

    with within(sched.clinic):
        for actor in (member(sched.user), billing_member):
            with pytest.raises(ApplicationError) as exc:
                holiday_save(
                    holiday=Holiday(date=tomorrow(), name="Closed"), actor=actor
                )
            assert exc.value.status == 403
        admin = Membership.objects.get(
            clinic=sched.clinic, role=Role.ADMIN, user__email="admin@alpha.test"
        )
        assert holiday_save(
            holiday=Holiday(date=tomorrow(), name="Closed"), actor=admin
        )


def test_an_appointment_type_is_checked_by_its_model_rules_in_the_service(sched):
    from clinic.services import appointment_type_save

    with within(sched.clinic):
        admin = Membership.objects.get(clinic=sched.clinic, role=Role.ADMIN)
        with pytest.raises(ValidationError):
            appointment_type_save(
                appointment_type=AppointmentTypeFactory.build(duration_minutes=2),
                actor=admin,
            )


# --- Clinic settings -----------------------------------------------------------------


def test_an_admin_changes_the_clinics_settings_through_the_service(
    clinic, admin_client_alpha, staff_client
):
    url = reverse("clinic-settings")
    assert staff_client.get(url).status_code == 403
    assert staff_client.post(url, {"booking_min_notice_minutes": 0}).status_code == 403
    page = admin_client_alpha.get(url)
    assert page.status_code == 200 and 'value="60"' in html_of(page)
    response = admin_client_alpha.post(
        url,
        {
            "allow_overbooking": "on",
            "booking_min_notice_minutes": 15,
            "password_expiry_days": 90,
        },
    )
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert clinic.allow_overbooking and clinic.booking_min_notice_minutes == 15
    refused = admin_client_alpha.post(
        url, {"booking_min_notice_minutes": -5, "password_expiry_days": 90}
    )
    assert refused.status_code == 400
    clinic.refresh_from_db()
    assert clinic.booking_min_notice_minutes == 15


def test_the_settings_service_refuses_other_roles_and_unknown_settings(sched):
    from clinic.services import clinic_settings_update

    with within(sched.clinic):
        with pytest.raises(ApplicationError) as exc:
            clinic_settings_update(actor=member(sched.user), allow_overbooking=True)
        assert exc.value.status == 403
        admin = Membership.objects.get(clinic=sched.clinic, role=Role.ADMIN)
        with pytest.raises(TypeError):
            clinic_settings_update(actor=admin, timezone="Europe/Paris")
