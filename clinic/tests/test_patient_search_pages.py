"""Staff pages: the patient list, its search, filters and pages."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.actors import SYSTEM
from clinic.services import patient_archive, patient_create, patients_bulk_create
from clinic.tests.page_support import (
    access_entries,
    ada_fixture,  # noqa: F401  (the `ada` fixture)
    intake_fixture,  # noqa: F401  (the `intake` fixture)
    within,
)


def test_list_writes_one_access_entry_naming_the_patients_shown(
    staff_client, clinic, staff_user, ada
):
    with within(clinic):
        other = patient_create(
            first_name="Alan",
            last_name="Turing",
            date_of_birth=date(1954, 6, 23),
            actor=SYSTEM,
        )
    before = len(access_entries(clinic))
    response = staff_client.get("/patients/")
    assert response.status_code == 200
    entries = access_entries(clinic)[before:]
    assert len(entries) == 1
    entry = entries[0]
    assert sorted(entry.patient_ids) == sorted([ada.pk, other.pk])
    assert entry.actor_id == staff_user.pk
    assert entry.additional_data["via"] == "page"
    assert entry.additional_data["filters"] == {"status": "active", "page": 1}


def test_full_page_and_live_search_partial_find_a_misspelled_name(
    staff_client, clinic, ada
):
    with within(clinic):
        patient_create(
            first_name="Maria",
            last_name="Garcia",
            date_of_birth=date(1975, 2, 3),
            actor=SYSTEM,
        )
    full = staff_client.get("/patients/", {"q": "Ada Lovelcae"})
    html = full.content.decode()
    assert full.status_code == 200
    assert "<html" in html and 'hx-get="/patients/"' in html and "Lovelace" in html
    assert "Garcia" not in html

    partial = staff_client.get("/patients/", {"q": "lovlace"}, HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert partial.status_code == 200
    assert "<html" not in html and 'id="patient-results"' in html
    assert "Lovelace" in html and "Garcia" not in html
    entry = access_entries(clinic)[-1]
    assert entry.query == "lovlace" and entry.patient_ids == [ada.pk]


def test_search_by_phone_and_date_of_birth_on_the_page(staff_client, ada):
    for q in ("(415) 555-0123", "555-0123", "1990-12-10", "12/10/1990"):
        assert (
            "Lovelace" in staff_client.get("/patients/", {"q": q}).content.decode()
        ), q
    assert (
        "Lovelace"
        not in staff_client.get("/patients/", {"q": "1990-12-11"}).content.decode()
    )


def test_filters_by_workflow_and_status(staff_client, clinic, intake, ada):
    with within(clinic):
        bob = patient_create(
            first_name="Bob",
            last_name="Archer",
            date_of_birth=date(1970, 1, 1),
            workflow=intake,
            fields={"referral_source": "GP", "insured": False},
            actor=SYSTEM,
        )
        patient_archive(patient=bob, actor=SYSTEM)
    assert "Archer" not in staff_client.get("/patients/").content.decode()
    html = staff_client.get("/patients/", {"status": "archived"}).content.decode()
    assert "Archer" in html and "Lovelace" not in html
    html = staff_client.get(
        "/patients/", {"status": "all", "workflow": "intake"}
    ).content.decode()
    assert "Archer" in html and "Lovelace" not in html
    html = staff_client.get(
        "/patients/", {"status": "all", "workflow": "general"}
    ).content.decode()
    assert "Archer" not in html and "Lovelace" in html
    assert access_entries(clinic)[-1].additional_data["filters"] == {
        "workflow": "general",
        "page": 1,
    }


def test_pagination_shows_25_a_page_without_counting(staff_client, clinic):
    with within(clinic):
        patients_bulk_create(
            rows=[
                {
                    "first_name": f"Pat{i:02d}",
                    "last_name": "Pager",
                    "date_of_birth": date(1980, 1, 1) + timedelta(days=i),
                }
                for i in range(30)
            ],
            actor=SYSTEM,
        )
    with CaptureQueriesContext(connection) as queries:
        first = staff_client.get("/patients/", {"q": "Pager"})
    assert not [
        q
        for q in queries.captured_queries
        if "COUNT(" in q["sql"].upper() and "clinic_patient" in q["sql"]
    ]
    html = first.content.decode()
    assert html.count("<tr>") - 1 == 25
    assert 'rel="next"' in html and "Showing 1–25" in html
    second = staff_client.get(
        "/patients/", {"q": "Pager", "page": "2"}
    ).content.decode()
    assert second.count("<tr>") - 1 == 5
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert len(access_entries(clinic)[-1].patient_ids) == 5
