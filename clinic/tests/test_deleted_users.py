"""Clinic rows name public users without a database constraint (users live in
another schema and are deactivated, not deleted). Should a user row ever be
deleted anyway, the clinic's rows and pages still work."""

from __future__ import annotations

from django.urls import reverse

from clinic.models import Appointment, AppointmentEvent
from clinic.services import appointment_book, appointment_cancel
from clinic.tests.factories import member
from clinic.tests.page_support import within
from clinic.tests.schedule_support import (
    at,
    html_of,
    sched_fixture,  # noqa: F401 (the `sched` fixture)
    tomorrow,
)
from portal.models import Role, User
from portal.services import membership_grant, user_create


def test_a_deleted_user_leaves_the_visits_they_booked_and_cancelled_readable(
    sched, staff_client
):
    temp = user_create(email="temp@alpha.test", password="a-long-test-password-1")
    membership_grant(user=temp, clinic=sched.clinic, role=Role.FRONT_DESK)
    with within(sched.clinic):
        visit = appointment_book(
            patient=sched.grace,
            provider=sched.able,
            appointment_type=sched.visit,
            start=at(tomorrow(), 10),
            actor=member(temp),
        )
        appointment_cancel(appointment=visit, actor=member(temp), reason="Moved")
    gone = temp.pk
    User.objects.filter(pk=gone).delete()  # memberships go with it (CASCADE)

    with within(sched.clinic):
        visit = Appointment.objects.get(pk=visit.pk)
        assert visit.booked_by_id == gone and visit.cancelled_by_id == gone
        assert set(
            AppointmentEvent.objects.filter(appointment=visit).values_list(
                "by_id", flat=True
            )
        ) == {gone}
    panel = staff_client.get(reverse("appointment-panel", args=[visit.pk]))
    assert panel.status_code == 200
    assert "Moved" in html_of(panel)
    api_detail = staff_client.get(reverse("waitlist"))
    assert api_detail.status_code == 200
