"""Partner API for patients: shape, rules, filters, pages, bulk, audit, isolation."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from clinic.models import AuditEntry, Patient
from clinic.services import patient_create, patients_bulk_create, workflow_create
from portal.api.tokens import clinic_refresh_token

PATIENTS = "/api/v1/patients/"
SHAPE = {
    "id",
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address",
    "preferred_language",
    "sms_consent",
    "voice_consent",
    "status",
    "workflow",
    "fields",
    "created_at",
    "updated_at",
}


def client_for(user, clinic) -> APIClient:
    client = APIClient(HTTP_HOST=f"{clinic.slug}.localhost")
    access = clinic_refresh_token(
        user=user, schema_name=clinic.schema_name
    ).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def api(clinic, staff_user) -> APIClient:
    return client_for(staff_user, clinic)


@pytest.fixture
def beta_api(other_clinic, other_staff_user) -> APIClient:
    return client_for(other_staff_user, other_clinic)


def make_patient(clinic, **data) -> Patient:
    data.setdefault("first_name", "Ada")
    data.setdefault("last_name", "Lovelace")
    data.setdefault("date_of_birth", date(1990, 12, 10))
    with tenant_context(clinic):
        return patient_create(**data)


def row(n: int, **extra) -> dict:
    return {
        "first_name": f"Row{n}",
        "last_name": "Bulk",
        "date_of_birth": "1980-01-01",
        "phone": f"+1415555{n % 10000:04d}",
        **extra,
    }


def count_patients(clinic) -> int:
    with tenant_context(clinic):
        return Patient.objects.count()


def audit_entries(clinic, **filters) -> list[AuditEntry]:
    with tenant_context(clinic):
        return list(AuditEntry.objects.filter(**filters).order_by("id"))


@pytest.fixture
def intake(in_clinic):
    """A workflow with a required field of its own."""
    return workflow_create(
        name="New patient intake",
        fields=[
            {"name": "referral", "type": "text", "required": True},
            {"name": "visits", "type": "integer"},
        ],
    )


# --- Shape and CRUD -------------------------------------------------------------------


def test_a_patient_created_through_the_api_comes_back_in_the_documented_shape(
    api, clinic
):
    response = api.post(
        PATIENTS,
        {
            "first_name": "Grace",
            "last_name": "Hopper",
            "date_of_birth": "1906-12-09",
            "sex": "female",
            "phone": "+14155550123",
            "email": "grace@example.org",
            "sms_consent": True,
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == SHAPE
    assert body["date_of_birth"] == "1906-12-09"
    assert body["phone"] == "+14155550123"
    assert body["workflow"] == "general"
    assert body["fields"] == {}
    assert body["status"] == "active"
    assert body["sms_consent"] is True and body["voice_consent"] is False
    assert body["created_at"].endswith("Z")
    assert response["Location"] == f"{PATIENTS}{body['id']}/"
    with tenant_context(clinic):
        assert Patient.objects.get(pk=body["id"]).last_name == "Hopper"


def test_a_patient_is_read_by_id_and_the_read_is_audited(api, clinic, staff_user):
    patient = make_patient(clinic, phone="+14155550123")

    response = api.get(f"{PATIENTS}{patient.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == patient.pk
    assert body["date_of_birth"] == "1990-12-10"
    [entry] = audit_entries(
        clinic, action=AuditEntry.Action.ACCESS, object_id=patient.pk
    )
    assert entry.actor_id == staff_user.pk
    assert entry.patient_ids == [patient.pk]
    assert entry.additional_data == {"via": "api"}


def test_a_missing_patient_is_a_json_404(api):
    response = api.get(f"{PATIENTS}999999999/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_an_unknown_api_path_is_a_json_404_too(api):
    for path in (f"{PATIENTS}abc/", "/api/v1/nothing-here/"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_a_form_post_is_refused_with_json_not_html(api):
    response = api.post(PATIENTS, {"first_name": "Ada"})  # multipart

    assert response.status_code == 415
    assert "detail" in response.json()


def test_put_replaces_the_fields_sent_and_patch_changes_one(api, clinic):
    patient = make_patient(clinic)
    url = f"{PATIENTS}{patient.pk}/"

    put = api.put(
        url,
        {"first_name": "Augusta", "last_name": "King", "date_of_birth": "1815-12-10"},
        format="json",
    )
    assert put.status_code == 200
    assert (put.json()["first_name"], put.json()["last_name"]) == ("Augusta", "King")

    incomplete_put = api.put(url, {"first_name": "Ada"}, format="json")
    assert incomplete_put.status_code == 400
    assert set(incomplete_put.json()) == {"last_name", "date_of_birth"}

    patch = api.patch(url, {"preferred_language": "fr"}, format="json")
    assert patch.status_code == 200
    assert patch.json()["preferred_language"] == "fr"
    assert patch.json()["last_name"] == "King"
    with tenant_context(clinic):
        patient.refresh_from_db()
    assert (patient.first_name, patient.preferred_language) == ("Augusta", "fr")


def test_an_api_patch_is_audited_with_the_token_user_as_actor(api, clinic, staff_user):
    patient = make_patient(clinic)

    response = api.patch(
        f"{PATIENTS}{patient.pk}/", {"phone": "+14155550199"}, format="json"
    )

    assert response.status_code == 200
    [entry] = audit_entries(
        clinic, action=AuditEntry.Action.UPDATE, object_id=patient.pk
    )
    assert entry.actor_id == staff_user.pk
    assert entry.actor_email == staff_user.email
    assert "phone" in entry.changes


def test_delete_archives_the_patient_instead_of_deleting(api, clinic):
    patient = make_patient(clinic)

    response = api.delete(f"{PATIENTS}{patient.pk}/")

    assert response.status_code == 204
    with tenant_context(clinic):
        assert Patient.objects.get(pk=patient.pk).status == Patient.Status.ARCHIVED
    assert api.get(f"{PATIENTS}{patient.pk}/").json()["status"] == "archived"


# --- Field errors ---------------------------------------------------------------------


def test_a_phone_not_in_e164_is_a_field_error(api, clinic):
    response = api.post(PATIENTS, row(1, phone="415 555 0123"), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["phone"]
    assert "+14155550123" in response.json()["phone"][0]  # shows the form to use
    assert count_patients(clinic) == 0


def test_a_date_of_birth_in_the_future_is_a_field_error(api):
    tomorrow = (timezone.now() + timedelta(days=2)).date().isoformat()

    response = api.post(PATIENTS, row(1, date_of_birth=tomorrow), format="json")

    assert response.status_code == 400
    assert response.json() == {
        "date_of_birth": ["Date of birth cannot be in the future."]
    }


def test_a_malformed_date_of_birth_is_a_field_error(api):
    response = api.post(PATIENTS, row(1, date_of_birth="10/12/1990"), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["date_of_birth"]


def test_a_missing_required_workflow_field_is_reported_under_fields(api, intake):
    response = api.post(
        PATIENTS,
        row(1, workflow=intake.slug, fields={"visits": "three"}),
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "fields": {
            "referral": ["This field is required by the workflow."],
            "visits": ["Expected a integer."],
        }
    }


def test_a_patient_of_a_workflow_keeps_its_fields(api, intake):
    response = api.post(
        PATIENTS,
        row(1, workflow=intake.slug, fields={"referral": "Dr. Who"}),
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["workflow"] == intake.slug
    assert response.json()["fields"] == {"referral": "Dr. Who"}


def test_an_unknown_workflow_is_a_field_error_on_workflow(api, clinic):
    response = api.post(PATIENTS, row(1, workflow="no-such-workflow"), format="json")

    assert response.status_code == 400
    assert response.json() == {
        "workflow": ["No workflow with the slug 'no-such-workflow'."]
    }
    assert count_patients(clinic) == 0


# --- List, filters, search, pages -----------------------------------------------------


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
        patients_bulk_create(rows=[row(n) for n in range(205)])

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


# --- Bulk -----------------------------------------------------------------------------


def test_a_thousand_rows_are_created_in_one_request(api, clinic):
    response = api.post(
        f"{PATIENTS}bulk/", [row(n) for n in range(1000)], format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert len(body) == 1000
    assert set(body[0]) == SHAPE
    assert body[0]["workflow"] == "general"
    assert count_patients(clinic) == 1000


def test_more_than_a_thousand_rows_are_refused(api, clinic):
    response = api.post(
        f"{PATIENTS}bulk/", [row(n) for n in range(1001)], format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["At most 1000 patients per request; got 1001."]
    }
    assert count_patients(clinic) == 0


def test_one_bad_row_among_many_refuses_them_all_and_names_the_row(api, clinic):
    make_patient(clinic)
    before = count_patients(clinic)
    rows = [row(n) for n in range(200)]
    rows[137]["phone"] = "0123"

    response = api.post(f"{PATIENTS}bulk/", rows, format="json")

    assert response.status_code == 400
    body = response.json()
    assert list(body["rows"]) == ["137"]
    assert list(body["rows"]["137"]) == ["phone"]
    assert "nothing was written" in body["detail"]
    assert count_patients(clinic) == before


def test_bulk_rows_with_unparseable_values_are_reported_by_index(api, clinic):
    rows = [row(n) for n in range(20)]
    rows[3]["date_of_birth"] = "1990-02-30"
    rows[5]["workflow"] = "no-such-workflow"
    rows[11] = "not a patient"

    response = api.post(f"{PATIENTS}bulk/", rows, format="json")

    assert response.status_code == 400
    errors = response.json()["rows"]
    assert set(errors) == {"3", "5", "11"}
    assert list(errors["3"]) == ["date_of_birth"]
    assert errors["5"] == {
        "workflow": ["No workflow with the slug 'no-such-workflow'."]
    }
    assert count_patients(clinic) == 0


def test_bulk_workflow_field_errors_are_nested_under_fields(api, clinic, intake):
    rows = [row(n, workflow=intake.slug, fields={"referral": "x"}) for n in range(5)]
    rows[2]["fields"] = {}

    response = api.post(f"{PATIENTS}bulk/", rows, format="json")

    assert response.status_code == 400
    assert response.json()["rows"] == {
        "2": {"fields": {"referral": ["This field is required by the workflow."]}}
    }
    assert count_patients(clinic) == 0


def test_bulk_wants_a_list(api):
    response = api.post(f"{PATIENTS}bulk/", {"first_name": "Ada"}, format="json")

    assert response.status_code == 400
    assert "non_field_errors" in response.json()


# --- Clinics stay apart ---------------------------------------------------------------


def test_an_alpha_token_never_reads_a_beta_patient(api, beta_api, clinic, other_clinic):
    theirs = make_patient(other_clinic, first_name="Betty", last_name="Beta")
    with tenant_context(clinic):
        assert not Patient.objects.filter(pk=theirs.pk).exists()
    alpha_token = api._credentials

    on_their_host = APIClient(HTTP_HOST="beta.localhost", **alpha_token)
    assert on_their_host.get(f"{PATIENTS}{theirs.pk}/").status_code == 401
    assert on_their_host.get(PATIENTS).status_code == 401

    on_our_host = api.get(f"{PATIENTS}{theirs.pk}/")
    assert on_our_host.status_code == 404
    assert api.get(PATIENTS, {"q": "Betty Beta"}).json()["results"] == []

    # Beta's own token still reads it, on beta's host only.
    assert beta_api.get(f"{PATIENTS}{theirs.pk}/").status_code == 200


def test_a_beta_token_cannot_write_on_alpha(beta_api, clinic):
    client = APIClient(HTTP_HOST="alpha.localhost", **beta_api._credentials)

    response = client.post(PATIENTS, row(1), format="json")

    assert response.status_code == 401
    assert count_patients(clinic) == 0
