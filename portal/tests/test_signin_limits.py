"""Lockouts and limits that cannot be turned against users.

Failures count per (email, clinic) and per address; a lock at one clinic
leaves the user's other clinics alone and answers like a wrong password; the
per-address budget is shared by every door of every clinic; the address is
read from X-Forwarded-For only behind a trusted proxy.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client, RequestFactory, override_settings
from rest_framework.test import APIClient

from conftest import PASSWORD
from portal.models import SecurityEvent
from portal.net import client_ip
from portal.services import user_create
from portal.signin import BAD_CREDENTIALS, TOO_MANY_ATTEMPTS

WRONG = "not-the-password-9"


def _sign_in(host: str, email: str, password: str, ip: str = "10.30.0.1", **extra):
    client = Client(HTTP_HOST=host, REMOTE_ADDR=ip, **extra)
    return client.post("/account/sign-in/", {"email": email, "password": password})


def _token(host: str, email: str, password: str, ip: str = "10.30.0.1"):
    return APIClient(HTTP_HOST=host, REMOTE_ADDR=ip).post(
        "/api/v1/auth/token/", {"email": email, "password": password}, format="json"
    )


def test_five_failures_at_another_clinic_do_not_lock_the_user_out_at_home(
    clinic, other_clinic, staff_user
):
    for _ in range(settings.LOGIN_LOCKOUT_THRESHOLD):
        assert _sign_in("beta.localhost", staff_user.email, WRONG).status_code == 400

    assert _sign_in("alpha.localhost", staff_user.email, PASSWORD).status_code == 302
    assert _token("alpha.localhost", staff_user.email, PASSWORD).status_code == 200


def test_a_lock_answers_exactly_like_a_wrong_password(clinic, staff_user):
    for _ in range(settings.LOGIN_LOCKOUT_THRESHOLD):
        _sign_in("alpha.localhost", staff_user.email, WRONG)

    locked = _sign_in("alpha.localhost", staff_user.email, PASSWORD)

    assert locked.status_code == 400
    assert BAD_CREDENTIALS in locked.content.decode()
    assert "locked" not in locked.content.decode().lower()
    assert _token("alpha.localhost", staff_user.email, PASSWORD).json() == {
        "detail": BAD_CREDENTIALS
    }


def test_an_unknown_email_is_locked_just_like_a_real_one(other_clinic, staff_user):
    for email in ("ghost@nowhere.test", staff_user.email):
        for _ in range(settings.LOGIN_LOCKOUT_THRESHOLD):
            _sign_in("beta.localhost", email, WRONG)

    locks = SecurityEvent.objects.filter(
        clinic=other_clinic, kind=SecurityEvent.Kind.LOCKED_OUT
    ).values_list("email", "user_id")
    assert sorted(locks) == sorted(
        [("ghost@nowhere.test", None), (staff_user.email, None)]
    )


def test_the_lock_decays_after_the_cool_off_and_does_not_grow_with_more_failures(
    clinic, staff_user
):
    for _ in range(settings.LOGIN_LOCKOUT_THRESHOLD + 3):
        _sign_in("alpha.localhost", staff_user.email, WRONG)

    cache = caches["auth"]
    client = cache._cache.get_client(None)
    ttls = {
        key.decode(): client.ttl(key)
        for key in client.scan_iter(match=f"{cache.key_prefix}:*")
    }
    lock_seconds = settings.LOGIN_LOCKOUT_MINUTES * 60
    locks = [ttl for key, ttl in ttls.items() if ":axes-" in key]
    # The lock expires by itself 15 minutes after the first failure; failures
    # during the lock do not push it further. Every per-address count expires too.
    assert locks and all(lock_seconds - 60 < ttl <= lock_seconds for ttl in locks)
    assert all(ttl > 0 for ttl in ttls.values())


def test_ten_failures_from_one_address_stop_every_door_of_every_clinic(
    clinic, other_clinic, staff_user
):
    for n in range(6):
        _sign_in("alpha.localhost", f"guess{n}@x.test", WRONG, ip="10.30.0.7")
    for n in range(4):
        _token("beta.localhost", f"guess{n}@x.test", WRONG, ip="10.30.0.7")

    assert (
        _sign_in(
            "beta.localhost", staff_user.email, PASSWORD, ip="10.30.0.7"
        ).status_code
        == 429
    )
    refused = _token("alpha.localhost", staff_user.email, PASSWORD, ip="10.30.0.7")
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith(TOO_MANY_ATTEMPTS)
    reset = Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR="10.30.0.7").post(
        "/account/password/reset/", {"email": staff_user.email}
    )
    assert reset.status_code == 429
    # Another address is not affected.
    assert (
        _sign_in(
            "alpha.localhost", staff_user.email, PASSWORD, ip="10.30.0.8"
        ).status_code
        == 302
    )


def test_the_sign_in_page_and_the_reset_share_a_budget_of_attempts_per_address(clinic):
    client = Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR="10.30.0.9")
    for _ in range(15):
        assert client.post("/account/sign-in/", {}).status_code == 400
        assert client.post("/account/password/reset/", {}).status_code == 400

    assert client.post("/account/sign-in/", {}).status_code == 429
    assert (
        client.get("/account/sign-in/").status_code == 200
    )  # reading the form is free


def test_a_forged_forwarded_for_header_is_ignored_without_a_trusted_proxy(
    clinic, staff_user
):
    for n in range(10):
        _sign_in(
            "alpha.localhost",
            staff_user.email if n == 0 else f"guess{n}@x.test",
            WRONG,
            ip="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )

    refused = _sign_in(
        "alpha.localhost",
        staff_user.email,
        PASSWORD,
        ip="127.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.200",
    )

    assert refused.status_code == 429
    event = SecurityEvent.objects.filter(clinic=clinic).order_by("id").first()
    assert event.ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "client"),
    [
        ([], "127.0.0.1", "203.0.113.9", "127.0.0.1"),
        (["127.0.0.1"], "127.0.0.1", "203.0.113.9", "203.0.113.9"),
        # What the client wrote itself sits left of what our proxy appended.
        (["127.0.0.1"], "127.0.0.1", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (["10.0.0.0/8"], "10.0.0.2", "203.0.113.9, 10.0.0.7", "203.0.113.9"),
        (["127.0.0.1"], "198.51.100.4", "203.0.113.9", "198.51.100.4"),
        (["127.0.0.1"], "127.0.0.1", "not-an-address", "127.0.0.1"),
        (["127.0.0.1"], "127.0.0.1", "", "127.0.0.1"),
    ],
)
def test_the_client_address_comes_through_trusted_proxies_only(
    trusted, peer, forwarded, client
):
    request = RequestFactory().get(
        "/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded
    )
    with override_settings(TRUSTED_PROXIES=trusted):
        assert client_ip(request) == client


# --- The platform admin's door -------------------------------------------------------------


@pytest.fixture
def operator(db):
    return user_create(
        email="operator@platform.test",
        password=PASSWORD,
        full_name="Opal Operator",
        is_staff=True,
    )


def _admin_sign_in(email: str, password: str, ip: str = "10.30.1.1"):
    client = Client(HTTP_HOST="localhost", REMOTE_ADDR=ip)
    return client, client.post(
        "/admin/login/?next=/admin/", {"username": email, "password": password}
    )


def test_an_operator_signs_in_to_the_platform_admin(operator):
    client, response = _admin_sign_in(operator.email, PASSWORD)

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_platform_admin_locks_after_five_failures_like_a_wrong_password(operator):
    for _ in range(settings.LOGIN_LOCKOUT_THRESHOLD):
        _admin_sign_in(operator.email, WRONG)

    _, locked = _admin_sign_in(operator.email, PASSWORD)

    assert locked.status_code == 200  # Django's admin re-shows its form
    assert BAD_CREDENTIALS in locked.content.decode()
    assert SecurityEvent.objects.filter(
        clinic=None, kind=SecurityEvent.Kind.LOCKED_OUT, user=operator
    ).exists()


def test_a_clinic_user_with_the_right_password_is_refused_like_a_wrong_one(staff_user):
    _, right = _admin_sign_in(staff_user.email, PASSWORD)
    _, wrong = _admin_sign_in(staff_user.email, WRONG)

    for response in (right, wrong):
        assert BAD_CREDENTIALS in response.content.decode()
        assert "_auth_user_id" not in response.client.session


def test_the_platform_admin_shares_the_per_address_limit(operator):
    for n in range(10):
        _admin_sign_in(f"guess{n}@x.test", WRONG, ip="10.30.1.9")

    _, refused = _admin_sign_in(operator.email, PASSWORD, ip="10.30.1.9")

    assert refused.status_code == 429
