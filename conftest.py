"""Test fixtures shared by every app.

The test clinics' schemas are created once per session (cloned from the
template schema), not per test; each test still runs in a transaction that is
rolled back, so what a test writes disappears with it.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import setup_databases, teardown_databases
from django_tenants.utils import schema_context

from portal.celery import app as celery_app
from portal.models import Clinic, Role, User
from portal.services import (
    clinic_ensure_public,
    clinic_ensure_template,
    clinic_provision,
    membership_grant,
    user_create,
)
from portal.signin import signin_limits_clear

PASSWORD = "a-long-test-password-1"


@pytest.fixture(scope="session", autouse=True)
def _fast_hashing():
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_sign_in_counters(settings):
    """Sign-in counters and locks live in Redis, outside each test's transaction.

    The per-address limits count in fixed windows; a day-long window keeps a
    window's end from splitting a test's attempts (the counts are the same).
    """
    settings.AUTH_ATTEMPTS_PER_ADDRESS = "30/d"
    settings.AUTH_FAILURES_PER_ADDRESS = "10/d"
    signin_limits_clear()
    yield


@pytest.fixture
def eager_celery():
    """Tasks run inline (service-level tests; end-to-end ones use a real worker)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    own_setup = None
    with django_db_blocker.unblock():
        if (
            connection.settings_dict["NAME"]
            != settings.DATABASES["default"]["TEST"]["NAME"]
        ):
            # pytest-django only creates the test database when some collected
            # test asks for `db`; tests that commit on purpose (sockets, browser)
            # do not, and must never touch the development database.
            own_setup = setup_databases(
                verbosity=0, interactive=False, aliases={"default"}
            )
        assert connection.settings_dict["NAME"].startswith("test"), (
            "refusing to use a non-test database"
        )
        clinic_ensure_public()
        clinic_ensure_template()
        for slug, name in (("alpha", "Alpha Family Practice"), ("beta", "Beta Dental")):
            clinic = clinic_provision(
                slug=slug,
                name=name,
                admin_email=f"admin@{slug}.test",
                admin_password=PASSWORD,
                timezone_name="America/New_York",
            )
            staff = user_create(
                email=f"desk@{slug}.test", password=PASSWORD, full_name=f"{name} desk"
            )
            membership_grant(user=staff, clinic=clinic, role=Role.FRONT_DESK)
        connection.set_schema_to_public()
    yield
    with django_db_blocker.unblock():
        # Connections of other threads (Channels' executor) and of servers the
        # tests started would keep the test database from being dropped.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        if own_setup is not None:
            teardown_databases(own_setup, verbosity=0)


@pytest.fixture
def clinic(db) -> Clinic:
    return Clinic.objects.get(slug="alpha")


@pytest.fixture
def other_clinic(db) -> Clinic:
    return Clinic.objects.get(slug="beta")


@pytest.fixture
def staff_user(db) -> User:
    return User.objects.get(email="desk@alpha.test")


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.get(email="admin@alpha.test")


@pytest.fixture
def other_staff_user(db) -> User:
    return User.objects.get(email="desk@beta.test")


def host_of(clinic: Clinic) -> str:
    return f"{clinic.slug}.{settings.PORTAL_DOMAIN}"


@pytest.fixture
def anon_client(clinic) -> Client:
    return Client(HTTP_HOST=host_of(clinic))


@pytest.fixture
def staff_client(clinic, staff_user) -> Client:
    client = Client(HTTP_HOST=host_of(clinic))
    client.force_login(staff_user)
    return client


@pytest.fixture
def admin_client_alpha(clinic, admin_user) -> Client:
    client = Client(HTTP_HOST=host_of(clinic))
    client.force_login(admin_user)
    return client


@pytest.fixture
def in_clinic(clinic):
    """Run the test body inside the clinic's schema (services, selectors, factories)."""
    with schema_context(clinic.schema_name):
        connection.set_tenant(clinic)
        yield clinic
    connection.set_schema_to_public()


@pytest.fixture
def in_other_clinic(other_clinic):
    with schema_context(other_clinic.schema_name):
        connection.set_tenant(other_clinic)
        yield other_clinic
    connection.set_schema_to_public()
