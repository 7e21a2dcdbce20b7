"""Staff pages: sign-in, who gets in, clinic boundaries, layout and error pages."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from clinic.models import Patient
from clinic.tests.page_support import (
    ada_fixture,  # noqa: F401  (the `ada` fixture)
    intake_fixture,  # noqa: F401  (the `intake` fixture)
    within,
)
from conftest import PASSWORD, host_of
from portal.signin import BAD_CREDENTIALS


def test_sign_in_page_shows_the_form_with_the_clinic_name(anon_client, clinic):
    response = anon_client.get("/account/sign-in/")
    assert response.status_code == 200
    html = response.content.decode()
    assert clinic.name in html
    assert 'name="email"' in html and 'name="password"' in html
    assert 'href="/static/css/portal.css"' in html and "/static/js/htmx.min.js" in html


def test_wrong_password_shows_an_error_and_does_not_sign_in(anon_client, staff_user):
    response = anon_client.post(
        "/account/sign-in/", {"email": staff_user.email, "password": "not-the-password"}
    )
    assert response.status_code == 400
    assert BAD_CREDENTIALS in response.content.decode()
    assert anon_client.get("/patients/").status_code == 302


def test_right_password_signs_in_and_follows_next(anon_client, staff_user):
    response = anon_client.post(
        "/account/sign-in/?next=/patients/",
        {"email": staff_user.email, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/patients/"
    assert anon_client.get("/patients/").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/patients/",
        "/patients/new/",
        "/patients/1/",
        "/patients/1/edit/",
        "/patients/1/archive/",
        "/audit/",
        "/audit/export.csv",
        "/account/security/",
    ],
)
def test_staff_pages_need_sign_in(anon_client, path):
    response = anon_client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/?next=")


def test_a_user_of_beta_is_refused_on_alphas_pages(clinic, other_staff_user, ada):
    client = Client(HTTP_HOST=host_of(clinic))
    client.force_login(other_staff_user)
    response = client.get(f"/patients/{ada.pk}/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "not a member of" in html and clinic.name in html
    assert "Lovelace" not in html
    # The session is left alone (it may be the user's session at beta): every
    # further request here is refused the same way.
    assert client.get("/patients/").status_code == 403


def test_a_user_of_beta_never_sees_alphas_patient_by_id(
    clinic, other_clinic, other_staff_user, ada
):
    client = Client(HTTP_HOST=host_of(other_clinic))
    client.force_login(other_staff_user)
    for path in (
        f"/patients/{ada.pk}/",
        f"/patients/{ada.pk}/edit/",
        f"/patients/{ada.pk}/archive/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Lovelace" not in response.content.decode()
    assert client.post(f"/patients/{ada.pk}/archive/").status_code == 404
    response = client.get("/patients/", {"q": "Lovelace"}, HTTP_HX_REQUEST="true")
    assert "No patients match" in response.content.decode()
    assert f'href="/patients/{ada.pk}/"' not in response.content.decode()
    with within(clinic):
        assert Patient.objects.get(pk=ada.pk).status == Patient.Status.ACTIVE


def test_sign_out_is_a_post(staff_client):
    assert staff_client.get("/account/sign-out/").status_code == 405
    response = staff_client.post("/account/sign-out/")
    assert response.status_code == 302 and response["Location"] == "/account/sign-in/"
    assert staff_client.get("/patients/").status_code == 302


def test_layout_shows_admin_links_only_to_admins(staff_client, admin_client_alpha):
    desk = staff_client.get("/patients/").content.decode()
    admin = admin_client_alpha.get("/patients/").content.decode()
    for link in ('href="/audit/"', 'href="/account/security/"', 'href="/admin/"'):
        assert link not in desk
        assert link in admin
    assert 'action="/account/sign-out/"' in desk and 'method="post"' in desk
    assert "--brand: #1f6feb" in desk


def test_password_reset_pages(
    anon_client,
    staff_user,
    mailoutbox,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    assert anon_client.get("/account/password/reset/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = anon_client.post(
            "/account/password/reset/", {"email": staff_user.email}
        )
    assert response.status_code == 302
    assert anon_client.get(response["Location"]).status_code == 200
    assert len(mailoutbox) == 1
    link = re.search(
        r"http://\S+/account/password/reset/\S+/", mailoutbox[0].body
    ).group(0)
    assert link.startswith("http://alpha.localhost:8000/")  # PORTAL_PUBLIC_URL's
    response = anon_client.get("/account/password/reset/MQ/not-a-token/")
    assert response.status_code == 200
    assert "invalid or has expired" in response.content.decode()


def test_password_change_page_and_security_events_page(
    staff_client, admin_client_alpha
):
    assert staff_client.get("/account/password/change/").status_code == 200
    assert staff_client.get("/account/security/").status_code == 403
    response = admin_client_alpha.get("/account/security/")
    assert response.status_code == 200
    assert "Security events" in response.content.decode()


def test_public_site_has_a_landing_page_linking_the_platform_admin(db):
    client = Client(HTTP_HOST="localhost")
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Clinic practice portal" in html and 'href="/admin/"' in html
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and "Page not found" in missing.content.decode()


def test_server_error_page_stands_alone(rf):
    from portal.errors_views import server_error

    response = server_error(rf.get("/patients/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html and "Traceback" not in html


def test_missing_page_is_a_plain_404(staff_client):
    response = staff_client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_home_is_a_small_dashboard(staff_client, intake):
    response = staff_client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "New patient intake" in html and 'action="/patients/"' in html
