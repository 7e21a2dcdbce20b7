"""Schema-driven fuzzing of a clinic's partner API with schemathesis.

Every operation of `/api/schema/` gets generated requests, valid and invalid
(hypothesis, derandomized: the same cases on every run), sent in-process
through Django's WSGI handler with a front desk's token on alpha's host. The
run fails on any 5xx and on any answer the schema does not describe: its
status code, content type, headers or body.

Each request runs in a savepoint that is rolled back after it, inside the
test's own transaction: every case sees the same small schedule, and nothing
a case writes outlives it. The sign-in counters the token endpoints bump in
Redis are cleared afterwards, and hypothesis keeps its cache in the system's
temporary folder.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.test import Client, override_settings
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, Phase, settings
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clinic.services import appointment_book
from clinic.tests.api_support import at
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    member,
    weekday_hours,
)
from portal.api.tokens import clinic_refresh_token
from portal.signin import signin_limits_clear

# Hypothesis caches what it reads of the code, from test collection on, under its
# home directory: the system's temporary folder, not `.hypothesis/` in the repository.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "clinic-portal-hypothesis")

BASE_URL = "http://alpha.localhost"
# Generated cases per operation, beside schemathesis' explicit ones (boundaries,
# missing fields): with about 70 operations, some 6,500 requests and a minute or
# two on two cores.
EXAMPLES_PER_OPERATION = 50
MIN_CASES = 2000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

UNSPENDABLE_SIGN_IN_BUDGET = {
    "AUTH_ATTEMPTS_PER_ADDRESS": "100000/m",
    "AUTH_FAILURES_PER_ADDRESS": "100000/m",
}

calls: Counter[str] = Counter()
statuses: Counter[int] = Counter()
run = {"seconds": 0.0}
errors: list[str] = []


class _RollBack(Exception):
    """Leaves the savepoint of one request, whatever it wrote."""


@pytest.fixture
def fuzz_schema(clinic, staff_user) -> Iterator[schemathesis.BaseSchema]:
    """Alpha's published schema and a small schedule to read.

    Django's request signals would close the test's connection (and so its
    transaction) after each request; they are off while the run lasts.
    """
    with tenant_context(clinic):
        location = LocationFactory()
        provider = ProviderFactory(name="Dr. Fuzz")
        weekday_hours(provider, location)
        visit = AppointmentTypeFactory(name="Fuzz visit", offered_by=[provider])
        patient = PatientFactory()
        appointment_book(
            patient=patient,
            provider=provider,
            appointment_type=visit,
            start=at(10),
            actor=member(staff_user),
        )
    raw = Client(HTTP_HOST="alpha.localhost").get("/api/schema/?format=json").json()
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = WSGIHandler()
    # As Django's test clients do: keep the test's connection, and its transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    got_request_exception.connect(_record_exception)
    try:
        # A budget the run cannot spend, so the sign-in endpoints get fuzzed
        # rather than answer 429 after the first thirty requests.
        started = time.monotonic()
        with override_settings(**UNSPENDABLE_SIGN_IN_BUDGET):
            yield schema
        run["seconds"] = time.monotonic() - started
    finally:
        got_request_exception.disconnect(_record_exception)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        signin_limits_clear()
        connection.set_schema_to_public()  # the requests left it in alpha's


@pytest.fixture
def token(clinic, staff_user) -> str:
    refresh = clinic_refresh_token(user=staff_user, schema_name=clinic.schema_name)
    return str(refresh.access_token)


def _record_exception(sender: object, request: object, **kwargs: object) -> None:
    errors.append(f"{getattr(request, 'path', '?')}: {sys.exc_info()[1]!r}")


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db
def test_no_request_to_the_api_gets_a_server_error_or_an_undocumented_answer(
    case, token
):
    errors.clear()
    try:
        with transaction.atomic():
            response = case.call(
                base_url=BASE_URL, headers={"Authorization": f"Bearer {token}"}
            )
            raise _RollBack
    except _RollBack:
        pass
    calls[case.operation.label] += 1
    statuses[response.status_code] += 1
    assert not errors, errors
    case.validate_response(response, checks=CHECKS)


def test_the_fuzz_run_covered_every_operation_with_thousands_of_requests():
    if not calls:
        pytest.skip("the fuzz test did not run (deselected)")
    total = sum(calls.values())
    answers = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    print(  # noqa: T201  (the run's size, for the CI log)
        f"\nFuzzed {total} requests over {len(calls)} operations"
        f" in {run['seconds']:.0f} s ({answers})"
    )
    assert len(calls) >= 25
    assert total >= MIN_CASES
