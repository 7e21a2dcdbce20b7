"""Fixtures of the texting tests: clinic numbers, a carrier simulator, signed webhooks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from twilio.request_validator import RequestValidator

from calls.simulator import CarrierSimulator
from clinic.tests.browser_support import free_port
from portal.links import clinic_url
from portal.models import Clinic

ALPHA_NUMBER = "+12125550100"
BETA_NUMBER = "+13125550177"


@pytest.fixture(scope="session", autouse=True)
def _clinic_numbers(django_db_setup, django_db_blocker):
    """Alpha and beta text from numbers of their own (committed: workers read them)."""
    numbers = {"alpha": ALPHA_NUMBER, "beta": BETA_NUMBER}
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        before = dict(
            Clinic.objects.filter(slug__in=numbers).values_list("slug", "main_phone")
        )
        for slug, number in numbers.items():
            Clinic.objects.filter(slug=slug).update(main_phone=number)
    yield numbers
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        for slug, number in before.items():
            Clinic.objects.filter(slug=slug).update(main_phone=number)


@pytest.fixture(autouse=True)
def _callbacks_go_nowhere(settings):
    """Callback URLs name a port nobody listens on, unless a test starts a server there."""
    settings.PORTAL_PUBLIC_URL = f"http://localhost:{free_port()}"


@pytest.fixture
def sim(settings) -> Iterator[CarrierSimulator]:
    """The carrier simulator on a free port, with the portal's gateway pointed at it."""
    carrier = CarrierSimulator(
        account_sid=settings.TWILIO_ACCOUNT_SID,
        auth_token=settings.TWILIO_AUTH_TOKEN,
        port=0,
        step_delay=0.02,
    ).start()
    settings.TWILIO_API_BASE = carrier.url
    yield carrier
    carrier.stop()


def sign(url: str, params: dict[str, str], token: str | None = None) -> str:
    return RequestValidator(token or settings.TWILIO_AUTH_TOKEN).compute_signature(
        url, params
    )


def post_signed(
    client: Client, clinic: Clinic, path: str, params: dict[str, str], **headers
):
    """POST a webhook to the clinic's host, signed for its public URL."""
    signature = sign(clinic_url(clinic, path), params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature, **headers)


@pytest.fixture
def hook_client(clinic) -> Client:
    return Client(HTTP_HOST=f"{clinic.slug}.{settings.PORTAL_DOMAIN}")


@pytest.fixture
def desk(clinic, staff_user):
    """Alpha's front desk, as the services' actor."""
    from portal.models import Membership

    return Membership.objects.select_related("user").get(user=staff_user, clinic=clinic)


@pytest.fixture
def admin_member(clinic, admin_user):
    from portal.models import Membership

    return Membership.objects.select_related("user").get(user=admin_user, clinic=clinic)


@pytest.fixture
def billing_member(clinic):
    from portal.models import Role
    from portal.services import membership_grant, user_create

    user = user_create(email="billing@alpha.test", password="a-long-test-password-1")
    return membership_grant(user=user, clinic=clinic, role=Role.BILLING)


# Fixtures defined in the support modules, available to every test module here.
from calls.tests.live_support import committed, live  # noqa: E402, F401
from calls.tests.sim_support import receiver, simulator, twilio  # noqa: E402, F401
from calls.tests.socket_support import session_of  # noqa: E402, F401
from calls.tests.support import sched_fixture  # noqa: E402, F401 (the `sched` fixture)
from calls.tests.voice_support import voice_committed  # noqa: E402, F401
