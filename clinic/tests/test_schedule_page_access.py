"""Schedule pages: who gets in, and what another clinic's user gets (nothing)."""

from __future__ import annotations

import pytest
from django.test import Client

from clinic.models import Appointment
from clinic.tests.schedule_support import (
    at,
    book,
    html_of,
    refreshed,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
    tomorrow,
)
from conftest import host_of


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
