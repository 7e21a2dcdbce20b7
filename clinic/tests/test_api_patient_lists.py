"""Partner API for patients: the list, its filters, search, pages and audit."""

from __future__ import annotations

import base64
from datetime import date, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from clinic.actors import SYSTEM
from clinic.models import AuditEntry, Patient
from clinic.services import patients_bulk_create
from clinic.tests.api_support import (
    PATIENTS,
    audit_entries,
    intake_fixture,  # noqa: F401  (the `intake` fixture)
    make_patient,
    row,
)


def test_the_list_filters_by_workflow_status_and_updated_since(api, clinic, intake):
    general = make_patient(clinic, first_name="Gen", last_name="Eral")
    intake_patient = make_patient(
        clinic,
        first_name="In",
        last_name="Take",
        workflow=intake,
        fields={"referral": "x"},
    )
    archived = make_patient(
        clinic, first_name="Old", last_name="Timer", status="archived"
    )
    with tenant_context(clinic):
        Patient.objects.filter(pk=general.pk).update(
            updated_at=timezone.now() - timedelta(days=30)
        )
    since = (timezone.now() - timedelta(days=1)).isoformat()

    def ids(**params) -> set[int]:
        response = api.get(PATIENTS, params)
        assert response.status_code == 200
        return {p["id"] for p in response.json()["results"]}

    assert ids() == {general.pk, intake_patient.pk, archived.pk}
    assert ids(workflow=intake.slug) == {intake_patient.pk}
    assert ids(workflow="general") == {general.pk, archived.pk}
    assert ids(status="archived") == {archived.pk}
    assert ids(status="active", updated_since=since) == {intake_patient.pk}


def test_a_bad_filter_value_is_a_400_with_field_errors(api):
    response = api.get(PATIENTS, {"status": "deleted", "updated_since": "yesterday"})

    assert response.status_code == 400
    assert set(response.json()) == {"status", "updated_since"}


def test_search_finds_a_misspelt_name(api, clinic):
    john = make_patient(clinic, first_name="John", last_name="Smith")
    make_patient(clinic, first_name="Maria", last_name="Garcia")

    response = api.get(PATIENTS, {"q": "Jonh Smiht"})

    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]][:1] == [john.pk]


def test_search_by_date_of_birth_and_phone(api, clinic):
    ada = make_patient(clinic, phone="+14155550123")
    make_patient(clinic, first_name="Bob", date_of_birth=date(1970, 1, 1))

    for q in ("1990-12-10", "555-0123"):
        results = api.get(PATIENTS, {"q": q}).json()["results"]
        assert [p["id"] for p in results] == [ada.pk]


def walk(
    api, url: str, params: dict | None = None, key: str = "next"
) -> list[list[int]]:
    pages = []
    response = api.get(url, params)
    while True:
        assert response.status_code == 200, response.json()
        body = response.json()
        pages.append([p["id"] for p in body["results"]])
        if not body[key]:
            return pages
        response = api.get(body[key])


def test_cursor_pages_walk_every_patient_once_in_name_order(api, clinic):
    # Many share a last name, so the cursor must look beyond the first column.
    for first in ("Ann", "Bea", "Cal", "Dee", "Eve"):
        make_patient(clinic, first_name=first, last_name="Smith")
    for first, last in (
        ("Zed", "Adams"),
        ("Amy", "Young"),
        ("Bo", "Smith"),
        ("Ann", "Smith"),
    ):
        make_patient(clinic, first_name=first, last_name=last)
    with tenant_context(clinic):
        expected = list(
            Patient.objects.order_by("last_name", "first_name", "id").values_list(
                "id", flat=True
            )
        )

    pages = walk(api, PATIENTS, {"page_size": 2})

    assert [len(p) for p in pages] == [2, 2, 2, 2, 1]
    assert [i for page in pages for i in page] == expected

    # And back again from the last page.
    last = api.get(PATIENTS, {"page_size": 2})
    while last.json()["next"]:
        last = api.get(last.json()["next"])
    back = [[p["id"] for p in last.json()["results"]]]
    previous = last.json()["previous"]
    while previous:
        body = api.get(previous).json()
        back.insert(0, [p["id"] for p in body["results"]])
        previous = body["previous"]
    assert [i for page in back for i in page] == expected


def test_search_results_are_paged_by_cursor_too(api, clinic):
    for n in range(7):
        make_patient(clinic, first_name=f"Jo{'n' * (n + 1)}", last_name="Smithson")

    pages = walk(api, PATIENTS, {"q": "Smithson", "page_size": 3})

    ids = [i for page in pages for i in page]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert len(set(ids)) == 7


def test_page_size_defaults_to_fifty_and_stops_at_two_hundred(api, clinic):
    with tenant_context(clinic):
        patients_bulk_create(rows=[row(n) for n in range(205)], actor=SYSTEM)

    default = api.get(PATIENTS).json()
    capped = api.get(PATIENTS, {"page_size": 1000}).json()

    assert len(default["results"]) == 50 and default["next"]
    assert len(capped["results"]) == 200 and capped["next"]


def test_an_invalid_cursor_is_a_400(api):
    forged = base64.urlsafe_b64encode(b'{"k":["a\\u0000",1,2],"d":"n"}').decode()
    for cursor in ("not-a-cursor", "é", forged):
        response = api.get(PATIENTS, {"cursor": cursor})
        assert response.status_code == 400
        assert response.json() == {"cursor": ["Invalid cursor."]}


def test_a_search_with_a_nul_character_is_not_an_error(api):
    assert api.get(PATIENTS, {"q": "smi\x00th"}).status_code == 200


def test_a_list_page_costs_a_few_queries_and_no_count(api, clinic, intake):
    for n in range(30):
        make_patient(
            clinic, first_name=f"P{n}", workflow=intake, fields={"referral": "x"}
        )
    for n in range(30):
        make_patient(clinic, first_name=f"Q{n}")

    with CaptureQueriesContext(connection) as queries:
        response = api.get(PATIENTS)

    assert response.status_code == 200
    assert len(response.json()["results"]) == 50
    sql = [q["sql"].upper() for q in queries.captured_queries]
    assert not any("COUNT(" in s for s in sql)
    statements = [
        s for s in sql if not s.startswith(("SET SEARCH_PATH", "SAVEPOINT", "RELEASE"))
    ]
    # user, membership, the page, the audit entry and its content type: no N+1
    assert len(statements) <= 5, statements


def test_one_list_request_writes_one_compact_access_entry(api, clinic, staff_user):
    patients = [
        make_patient(clinic, first_name=f"Jo{n}", last_name="Smith") for n in range(3)
    ]
    before = len(audit_entries(clinic, action=AuditEntry.Action.ACCESS))

    response = api.get(PATIENTS, {"q": "smith", "status": "active"})

    assert response.status_code == 200
    entries = audit_entries(clinic, action=AuditEntry.Action.ACCESS)
    assert len(entries) == before + 1
    entry = entries[-1]
    assert sorted(entry.patient_ids) == sorted(p.pk for p in patients)
    assert entry.query == "smith"
    assert entry.actor_id == staff_user.pk
    assert entry.additional_data == {"via": "api", "filters": {"status": "active"}}
