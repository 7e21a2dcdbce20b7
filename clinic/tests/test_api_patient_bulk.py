"""Partner API for patients: creating many in one request, all or nothing."""

from __future__ import annotations

from clinic.tests.api_support import (
    PATIENTS,
    SHAPE,
    count_patients,
    intake_fixture,  # noqa: F401  (the `intake` fixture)
    make_patient,
    row,
)


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
