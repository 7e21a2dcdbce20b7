"""Schedule pages: the schedule's models in the clinic's Django admin."""

from __future__ import annotations

from datetime import time

import pytest

from clinic.actors import SYSTEM
from clinic.models import AuditEntry, WaitlistEntry
from clinic.services import waitlist_add
from clinic.tests.page_support import within
from clinic.tests.schedule_support import (
    at,
    book,
    html_of,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
    tomorrow,
)

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
        entry = waitlist_add(
            patient=sched.alan, appointment_type=sched.visit, actor=SYSTEM
        )
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
