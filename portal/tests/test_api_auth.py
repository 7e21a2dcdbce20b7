"""Partner API tokens: obtain, refresh, log out, and the clinic they belong to."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from conftest import PASSWORD
from portal.api.tokens import clinic_refresh_token
from portal.models import Membership, SecurityEvent
from portal.signin import BAD_CREDENTIALS, TOO_MANY_ATTEMPTS

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
PATIENTS = "/api/v1/patients/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha() -> APIClient:
    return APIClient(HTTP_HOST="alpha.localhost")


@pytest.fixture
def beta() -> APIClient:
    return APIClient(HTTP_HOST="beta.localhost")


def obtain(
    client: APIClient, email: str = "desk@alpha.test", password: str = PASSWORD, **extra
):
    return client.post(
        TOKEN, {"email": email, "password": password}, format="json", **extra
    )


def bearer(access: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {access}"}


def test_a_member_gets_a_token_pair_that_carries_the_clinic(alpha, clinic, staff_user):
    response = obtain(alpha)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert AccessToken(body["access"])["clinic"] == clinic.schema_name
    assert SecurityEvent.objects.filter(
        kind=SecurityEvent.Kind.TOKEN_ISSUED, user=staff_user, clinic=clinic
    ).exists()


def test_the_access_token_opens_the_patient_list(alpha):
    access = obtain(alpha).json()["access"]

    response = alpha.get(PATIENTS, **bearer(access))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_the_patient_list_without_a_token_is_a_json_401(alpha):
    response = alpha.get(PATIENTS)

    assert response.status_code == 401
    assert "detail" in response.json()
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_password_is_refused_with_a_json_401(alpha, clinic, staff_user):
    response = obtain(alpha, password="not-the-password")

    assert response.status_code == 401
    assert "do not match" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert SecurityEvent.objects.filter(
        kind=SecurityEvent.Kind.SIGN_IN_FAILED, user=staff_user, clinic=clinic
    ).exists()


def test_a_token_request_without_a_password_gets_field_errors(alpha):
    response = alpha.post(TOKEN, {"email": "desk@alpha.test"}, format="json")

    assert response.status_code == 400
    assert "password" in response.json()


def test_a_refresh_gives_a_new_access_token_and_rotates_the_refresh_token(
    alpha, clinic
):
    pair = obtain(alpha).json()

    response = alpha.post(REFRESH, {"refresh": pair["refresh"]}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert AccessToken(body["access"])["clinic"] == clinic.schema_name
    assert body["refresh"] != pair["refresh"]
    assert alpha.get(PATIENTS, **bearer(body["access"])).status_code == 200
    # The refresh token sent was blacklisted by the rotation.
    assert (
        alpha.post(REFRESH, {"refresh": pair["refresh"]}, format="json").status_code
        == 401
    )
    assert (
        alpha.post(REFRESH, {"refresh": body["refresh"]}, format="json").status_code
        == 200
    )


def test_logout_blacklists_the_refresh_token(alpha, clinic, staff_user):
    refresh = obtain(alpha).json()["refresh"]

    response = alpha.post(LOGOUT, {"refresh": refresh}, format="json")

    assert response.status_code == 204
    assert alpha.post(REFRESH, {"refresh": refresh}, format="json").status_code == 401
    assert alpha.post(LOGOUT, {"refresh": refresh}, format="json").status_code == 401
    assert SecurityEvent.objects.filter(
        kind=SecurityEvent.Kind.SIGN_OUT, user=staff_user, clinic=clinic
    ).exists()


def test_a_garbage_refresh_token_is_a_401(alpha):
    response = alpha.post(REFRESH, {"refresh": "not.a.token"}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_an_alpha_access_token_is_refused_on_beta(alpha, beta):
    access = obtain(alpha).json()["access"]

    response = beta.get(PATIENTS, **bearer(access))

    assert response.status_code == 401
    assert "another clinic" in response.json()["detail"]


def test_an_alpha_refresh_token_is_refused_on_beta_and_not_spent_there(alpha, beta):
    refresh = obtain(alpha).json()["refresh"]

    assert beta.post(REFRESH, {"refresh": refresh}, format="json").status_code == 401
    assert beta.post(LOGOUT, {"refresh": refresh}, format="json").status_code == 401
    # Refused on beta, the token still works at home: beta did not blacklist it.
    assert alpha.post(REFRESH, {"refresh": refresh}, format="json").status_code == 200


def test_a_user_of_beta_cannot_get_a_token_on_alpha(alpha, clinic, other_staff_user):
    response = obtain(alpha, email="desk@beta.test")

    assert response.status_code == 401
    assert response.json() == {"detail": BAD_CREDENTIALS}
    event = SecurityEvent.objects.get(clinic=clinic)
    assert (event.kind, event.user, event.email) == (
        SecurityEvent.Kind.SIGN_IN_FAILED,
        None,
        other_staff_user.email,
    )


def test_a_token_minted_for_alpha_by_a_beta_user_is_refused(
    alpha, clinic, other_staff_user
):
    refresh = clinic_refresh_token(
        user=other_staff_user, schema_name=clinic.schema_name
    )

    assert alpha.get(PATIENTS, **bearer(str(refresh.access_token))).status_code == 401
    assert (
        alpha.post(REFRESH, {"refresh": str(refresh)}, format="json").status_code == 401
    )


def test_a_refresh_is_refused_once_the_membership_is_withdrawn(
    alpha, clinic, staff_user
):
    refresh = obtain(alpha).json()["refresh"]
    Membership.objects.filter(user=staff_user, clinic=clinic).update(is_active=False)

    response = alpha.post(REFRESH, {"refresh": refresh}, format="json")

    assert response.status_code == 401


def test_ten_failed_attempts_a_minute_from_one_address_get_429(alpha):
    for n in range(10):  # AUTH_FAILURES_PER_ADDRESS, 10/m
        assert obtain(alpha, email=f"nobody{n}@alpha.test").status_code == 401

    refused = obtain(alpha)  # even the right password

    assert refused.status_code == 429
    assert refused.json()["detail"].startswith(TOO_MANY_ATTEMPTS)
    assert int(refused["Retry-After"]) > 0
    # Another address is not affected.
    assert obtain(alpha, REMOTE_ADDR="10.0.0.9").status_code == 200


def test_successful_token_requests_do_not_count_as_failures(alpha):
    for _ in range(12):
        assert obtain(alpha).status_code == 200


def test_five_wrong_passwords_through_the_api_pause_sign_in_like_a_wrong_password(
    alpha, clinic, staff_user
):
    for _ in range(settings.LOGIN_LOCKOUT_THRESHOLD):
        assert obtain(alpha, password="wrong-password").status_code == 401

    response = obtain(alpha)

    assert response.status_code == 401
    assert response.json() == {"detail": BAD_CREDENTIALS}
    assert SecurityEvent.objects.filter(
        kind=SecurityEvent.Kind.LOCKED_OUT, user=staff_user, clinic=clinic
    ).exists()


def test_the_schema_documents_the_api(alpha):
    response = alpha.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        TOKEN,
        REFRESH,
        LOGOUT,
        PATIENTS,
        "/api/v1/patients/{id}/",
        "/api/v1/patients/bulk/",
    ):
        assert path in paths


def test_the_docs_page_uses_local_swagger_files(alpha):
    response = alpha.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    )
    assert "cdn." not in html and "unpkg" not in html
    bundle = alpha.get(
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    )
    assert bundle.status_code == 200


def test_an_expired_password_gets_no_token_until_it_is_changed(
    alpha, clinic, staff_user
):
    from datetime import timedelta

    from django.utils import timezone

    from portal.models import User

    User.objects.filter(pk=staff_user.pk).update(
        password_changed_at=timezone.now()
        - timedelta(days=clinic.password_expiry_days + 1)
    )
    response = obtain(alpha, staff_user.email)
    assert response.status_code == 403
    assert "expired" in response.json()["detail"]
    assert "access" not in response.json()


def test_a_session_opens_no_door_of_the_partner_api(clinic, other_clinic):
    """The API authenticates by token alone: a signed-in member's session, of
    this clinic or of another, answers 401 and reads no patient."""
    from django.test import Client

    from conftest import host_of
    from portal.models import User

    for user_email, target in (
        ("desk@alpha.test", clinic),
        ("desk@beta.test", clinic),
    ):
        browser = Client(HTTP_HOST=host_of(target))
        browser.force_login(User.objects.get(email=user_email))
        answer = browser.get(PATIENTS)
        assert answer.status_code == 401, (user_email, answer.status_code)
        assert "results" not in answer.json()
