"""The partner API's hot paths read less, and refuse exactly as before.

An API request's clinic query also reads its token's membership
(portal.middleware_api); the authentication class takes that row only after
verifying the token, and only for the user the verified token names. A
patient is read by SQL built once; a week of appointments is filtered without
building the FilterSet. Untimed: the figures live in bench/http.py.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context
from rest_framework.test import APIClient

from clinic.models import Appointment, AuditEntry
from clinic.selectors.api_reads import patient_with_workflow
from clinic.tests.api_support import (
    at,
    book,
    client_for,
    day,
    make_patient,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
)
from clinic.tests.factories import PatientFactory
from portal.api import authentication
from portal.api.tokens import clinic_refresh_token
from portal.middleware_api import PREFETCHED, clinic_and_membership
from portal.models import Membership, User
from portal.selectors import clinic_for_host, membership_with_user

pytestmark = pytest.mark.django_db

PATIENTS = "/api/v1/patients/"
APPOINTMENTS = "/api/v1/appointments/"


def _queries(client: APIClient, path: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response.status_code, [q["sql"] for q in captured.captured_queries]


def _forged(token: str, **claims) -> str:
    """The token with its payload changed and its signature left as it was."""
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(claims)
    raw = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{header}.{raw}.{signature}"


def test_the_clinic_and_the_tokens_membership_are_read_in_one_query(clinic, staff_user):
    client = client_for(staff_user, clinic)

    status, sql = _queries(client, PATIENTS)

    assert status == 200
    assert not any('"portal_membership"' in q and "portal_domain" not in q for q in sql)
    assert sum("portal_domain" in q for q in sql) == 1


def test_the_combined_read_gives_the_rows_the_two_lookups_give(clinic, staff_user):
    host = f"{clinic.slug}.localhost"
    with schema_context("public"):
        found = clinic_and_membership(host, staff_user.pk)
        alone = clinic_for_host(host)
        member = membership_with_user(user_id=staff_user.pk, clinic=clinic)
    user_id, membership = getattr(found, PREFETCHED)
    assert user_id == staff_user.pk
    assert [getattr(found, f.attname) for f in found._meta.concrete_fields] == [
        getattr(alone, f.attname) for f in alone._meta.concrete_fields
    ]
    assert membership.pk == member.pk and membership.role == member.role
    assert (
        membership.user.pk == staff_user.pk
        and membership.user.email == staff_user.email
    )


def test_a_deactivated_membership_is_refused_on_the_combined_path(clinic, staff_user):
    client = client_for(staff_user, clinic)
    Membership.objects.filter(user=staff_user, clinic=clinic).update(is_active=False)

    response = client.get(PATIENTS)

    assert response.status_code == 401
    assert response.json()["detail"] == "Not a member of this clinic."


def test_an_inactive_user_is_refused_on_the_combined_path(clinic, staff_user):
    client = client_for(staff_user, clinic)
    User.objects.filter(pk=staff_user.pk).update(is_active=False)

    assert client.get(PATIENTS).status_code == 401


def test_another_clinics_token_reads_nothing_here(clinic, other_clinic, staff_user):
    access = clinic_refresh_token(
        user=staff_user, schema_name=other_clinic.schema_name
    ).access_token
    client = APIClient(HTTP_HOST=f"{clinic.slug}.localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    response = client.get(PATIENTS)

    assert response.status_code == 401
    assert "results" not in response.json()


def test_a_token_whose_user_was_changed_is_refused_whatever_was_read(
    clinic, staff_user, admin_user
):
    """The clinic's query reads the membership of the forged user id; the token's
    signature no longer matches, so nothing of it is used."""
    access = str(
        clinic_refresh_token(
            user=staff_user, schema_name=clinic.schema_name
        ).access_token
    )
    client = APIClient(HTTP_HOST=f"{clinic.slug}.localhost")
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {_forged(access, user_id=str(admin_user.pk))}"
    )

    response = client.get(PATIENTS)

    assert response.status_code == 401
    assert "results" not in response.json()


@pytest.mark.parametrize(
    "user_id", ["007", "-1", "x", 1.5, None, "99999999999999999999"]
)
def test_odd_user_claims_fall_back_to_the_plain_lookup(clinic, staff_user, user_id):
    access = str(
        clinic_refresh_token(
            user=staff_user, schema_name=clinic.schema_name
        ).access_token
    )
    client = APIClient(HTTP_HOST=f"{clinic.slug}.localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_forged(access, user_id=user_id)}")

    assert client.get(PATIENTS).status_code == 401  # the signature no longer holds


def test_a_patient_is_read_as_the_orm_reads_them_and_the_read_is_audited(
    clinic, staff_user
):
    patient = make_patient(clinic, first_name="Grace", last_name="Hopper")
    client = client_for(staff_user, clinic)

    response = client.get(f"{PATIENTS}{patient.pk}/")

    assert response.status_code == 200
    assert response.json()["last_name"] == "Hopper"
    with tenant_context(clinic):
        read = patient_with_workflow(patient.pk)
        assert read == patient and read.workflow == patient.workflow
        assert str(read) == "Grace Hopper"
        entry = AuditEntry.objects.latest("id")
    assert entry.patient_ids == [patient.pk] and entry.actor_id == staff_user.pk


@pytest.mark.parametrize("pk", [0, 2**63 - 1, 2**63, 10**30])
def test_a_missing_or_impossible_patient_id_is_404(clinic, staff_user, pk):
    client = client_for(staff_user, clinic)

    response = client.get(f"{PATIENTS}{pk}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_another_clinics_patient_is_404_on_the_detail_read(
    clinic, other_clinic, staff_user
):
    theirs = make_patient(other_clinic, first_name="Other", last_name="Clinic")
    client = client_for(staff_user, clinic)

    assert client.get(f"{PATIENTS}{theirs.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=not-a-date", "start"),
        ("start=2025-01-01&end=2025-13-01", "end"),
        ("start=0001-01-01", "start"),
    ],
)
def test_a_bad_day_filter_is_a_400_on_its_parameter(clinic, staff_user, query, field):
    client = client_for(staff_user, clinic)

    response = client.get(f"{APPOINTMENTS}?{query}")

    assert response.status_code == 400
    assert field in response.json()


def test_the_day_filters_answer_what_the_filterset_answers(sched):
    """`start`/`end` alone take the quick path; adding every status goes through
    the FilterSet: the same appointments, JSON and next page either way."""
    with tenant_context(sched.clinic):
        other = PatientFactory()
    visits = [
        book(sched, at(9)),
        book(sched, at(9), provider=sched.nurse, patient=other),
        book(sched, at(11), patient=other),
        book(sched, at(10, offset=2)),
        book(sched, at(16, offset=3), provider=sched.nurse),
    ]
    client = client_for(sched.user, sched.clinic)
    days = f"start={day(0)}&end={day(2)}&page_size=2"
    every = "&".join(f"status={s}" for s in Appointment.Status.values)

    quick = client.get(f"{APPOINTMENTS}?{days}").json()
    full = client.get(f"{APPOINTMENTS}?{days}&{every}").json()

    assert quick["results"] == full["results"]
    assert {r["id"] for r in quick["results"]} <= {v.pk for v in visits[:3]}
    after_quick = client.get(quick["next"]).json()["results"]
    after_full = client.get(full["next"]).json()["results"]
    assert after_quick == after_full and len(after_quick) == 2
    with tenant_context(sched.clinic):
        entry = AuditEntry.objects.latest("id")
    assert entry.additional_data["filters"]["start"] == str(day(0))


def test_a_remembered_token_is_refused_once_it_has_expired(clinic, staff_user):
    """Verified tokens are remembered by their text, never past their `exp`."""
    token = clinic_refresh_token(
        user=staff_user, schema_name=clinic.schema_name
    ).access_token
    token.set_exp(
        from_time=timezone.now() - timedelta(hours=1), lifetime=timedelta(minutes=5)
    )
    raw = str(token)
    authentication._remember(raw.encode(), token)  # as if verified while it was valid
    client = APIClient(HTTP_HOST=f"{clinic.slug}.localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = client.get(PATIENTS)

    assert response.status_code == 401
    assert raw.encode() not in authentication._verified


def test_a_remembered_token_still_needs_a_live_membership(clinic, staff_user):
    client = client_for(staff_user, clinic)
    assert client.get(PATIENTS).status_code == 200  # verified and remembered
    Membership.objects.filter(user=staff_user, clinic=clinic).update(is_active=False)

    assert client.get(PATIENTS).status_code == 401
