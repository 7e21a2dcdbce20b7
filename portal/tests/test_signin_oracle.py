"""No door tells anything about an account that is not its own.

A sign-in at clinic B by someone who is not B's member looks exactly like a
wrong password there: the same answer, the same security event (naming no
one) and the same work (one password hash, the same queries), so the same time. The same holds for the API token
endpoint and the password reset.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from conftest import PASSWORD
from portal.celery import app as celery_app
from portal.models import SecurityEvent, User
from portal.signin import BAD_CREDENTIALS, signin_limits_clear

UNKNOWN = "nobody-at-all@nowhere.test"


def _csrf_free(html: str) -> str:
    """The page without its CSRF tokens (new with every answer)."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", html)


def _page_sign_in(email: str, password: str, ip: str = "10.20.0.1"):
    client = Client(HTTP_HOST="beta.localhost", REMOTE_ADDR=ip)
    return client.post("/account/sign-in/", {"email": email, "password": password})


def _token(email: str, password: str, ip: str = "10.20.0.1"):
    client = APIClient(HTTP_HOST="beta.localhost", REMOTE_ADDR=ip)
    return client.post(
        "/api/v1/auth/token/", {"email": email, "password": password}, format="json"
    )


def _events_at(clinic) -> list[tuple]:
    return list(
        SecurityEvent.objects.filter(clinic=clinic)
        .order_by("id")
        .values_list("kind", "user_id", "email")
    )


def test_a_non_members_right_and_wrong_password_get_the_same_page_at_another_clinic(
    other_clinic, staff_user
):
    right = _page_sign_in(staff_user.email, PASSWORD)
    wrong = _page_sign_in(staff_user.email, "not-the-password-9")
    unknown = _page_sign_in(UNKNOWN, PASSWORD)

    assert right.status_code == wrong.status_code == unknown.status_code == 400
    assert BAD_CREDENTIALS in right.content.decode()
    assert _csrf_free(right.content.decode()) == _csrf_free(wrong.content.decode())
    assert "_auth_user_id" not in right.client.session


def test_a_non_members_attempts_are_recorded_like_any_wrong_password_naming_no_one(
    other_clinic, staff_user
):
    _page_sign_in(staff_user.email, PASSWORD)
    _page_sign_in(staff_user.email, "not-the-password-9")
    _token(staff_user.email, PASSWORD)

    failed = SecurityEvent.Kind.SIGN_IN_FAILED
    assert _events_at(other_clinic) == [(failed, None, staff_user.email)] * 3
    assert not SecurityEvent.objects.filter(
        kind=SecurityEvent.Kind.ACCESS_REFUSED
    ).exists()


def test_the_other_clinics_security_page_never_shows_the_non_members_name(
    other_clinic, staff_user
):
    _page_sign_in(staff_user.email, PASSWORD)
    admin = Client(HTTP_HOST="beta.localhost")
    admin.force_login(User.objects.get(email="admin@beta.test"))

    html = admin.get("/account/security/").content.decode()

    assert staff_user.full_name and staff_user.full_name not in html


def test_the_token_endpoint_answers_a_non_member_like_a_wrong_password(
    other_clinic, staff_user
):
    answers = [
        _token(staff_user.email, PASSWORD),
        _token(staff_user.email, "not-the-password-9"),
        _token(UNKNOWN, PASSWORD),
    ]

    assert {a.status_code for a in answers} == {401}
    assert all(a.json() == {"detail": BAD_CREDENTIALS} for a in answers)


def test_a_reset_for_a_non_member_looks_like_a_reset_for_a_member(
    other_clinic, staff_user, other_staff_user
):
    client = Client(HTTP_HOST="beta.localhost")
    member = client.post("/account/password/reset/", {"email": other_staff_user.email})
    stranger = client.post("/account/password/reset/", {"email": staff_user.email})

    assert member.status_code == stranger.status_code == 302
    assert member["Location"] == stranger["Location"]
    reset = SecurityEvent.Kind.RESET_REQUESTED
    assert _events_at(other_clinic) == [
        (reset, None, other_staff_user.email),
        (reset, None, staff_user.email),
    ]


# --- The same work, so the same time ---------------------------------------------------
#
# Timing is not measured here (no timed tests): what makes the answers take the
# same time is that every case does the same expensive work, exactly one
# password hash at the production cost, and the same database round trips.
# Counting that work is exact where a stopwatch is noisy.


class CountingHasher(PBKDF2PasswordHasher):
    """PBKDF2 that counts how many hashes each request computes."""

    algorithm = "pbkdf2_counting"
    iterations = 1_000
    computed = 0

    def encode(self, password, salt, iterations=None):
        CountingHasher.computed += 1
        return super().encode(password, salt, iterations)


COUNTED = override_settings(
    PASSWORD_HASHERS=["portal.tests.test_signin_oracle.CountingHasher"]
)


def _hashes_per_attempt(attempts: dict) -> dict[str, int]:
    counts = {}
    for name, attempt in attempts.items():
        signin_limits_clear()
        CountingHasher.computed = 0
        attempt()
        counts[name] = CountingHasher.computed
    return counts


@pytest.fixture
def counted_passwords(staff_user, other_staff_user):
    with COUNTED:
        for user in (staff_user, other_staff_user):
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        yield


def test_every_refused_sign_in_computes_exactly_one_password_hash(
    other_clinic, staff_user, other_staff_user, counted_passwords
):
    counts = _hashes_per_attempt(
        {
            "member, wrong password": lambda: _page_sign_in(
                other_staff_user.email, "x" * 14
            ),
            "non-member, right password": lambda: _page_sign_in(
                staff_user.email, PASSWORD
            ),
            "non-member, wrong password": lambda: _page_sign_in(
                staff_user.email, "x" * 14
            ),
            "unknown email": lambda: _page_sign_in(UNKNOWN, PASSWORD),
        }
    )
    assert set(counts.values()) == {1}, counts


def test_every_refused_token_request_computes_exactly_one_password_hash(
    other_clinic, staff_user, other_staff_user, counted_passwords
):
    counts = _hashes_per_attempt(
        {
            "member, wrong password": lambda: _token(other_staff_user.email, "x" * 14),
            "non-member, right password": lambda: _token(staff_user.email, PASSWORD),
            "unknown email": lambda: _token(UNKNOWN, PASSWORD),
        }
    )
    assert set(counts.values()) == {1}, counts


def test_a_refused_account_keeps_its_stored_hash(
    other_clinic, staff_user, counted_passwords
):
    """A refused sign-in never upgrades (rewrites) the non-member's password hash."""
    before = User.objects.get(pk=staff_user.pk).password
    with override_settings(
        PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.MD5PasswordHasher",
            "portal.tests.test_signin_oracle.CountingHasher",
        ]
    ):
        _page_sign_in(staff_user.email, PASSWORD)
    assert User.objects.get(pk=staff_user.pk).password == before


@pytest.fixture
def broker_purged():
    yield
    celery_app.control.purge()


def _shape(queries: list[dict]) -> list[str]:
    """The statements a request ran, without their values."""
    return [re.sub(r"'[^']*'|\b\d+\b", "?", q["sql"]) for q in queries]


def test_reset_requests_do_the_same_work_for_known_and_unknown_emails(
    other_clinic, other_staff_user, django_capture_on_commit_callbacks, broker_purged
):
    client = Client(HTTP_HOST="beta.localhost")

    def reset(email: str) -> tuple[list[str], int]:
        signin_limits_clear()
        with CaptureQueriesContext(connection) as queries:
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                client.post("/account/password/reset/", {"email": email})
        return _shape(queries.captured_queries), len(callbacks)

    known, unknown = reset(other_staff_user.email), reset(UNKNOWN)
    assert known == unknown
    assert known[1] == 1  # one background job either way; only it finds out which
