"""Staff pages: sign-in, clinic boundaries, patient list and search, detail, changes."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from clinic.models import AuditEntry, Patient, Workflow
from clinic.services import (
    patient_archive,
    patient_create,
    patients_bulk_create,
    workflow_create,
)
from conftest import PASSWORD, host_of
from portal.services import BAD_CREDENTIALS

INTAKE_FIELDS = [
    {
        "name": "referral_source",
        "label": "Referral source",
        "type": "choice",
        "required": True,
        "choices": ["GP", "Self"],
    },
    {"name": "visits", "label": "Visits last year", "type": "integer"},
    {"name": "insured", "label": "Has insurance", "type": "boolean", "required": True},
    {"name": "first_visit", "label": "First visit", "type": "date"},
    {"name": "notes", "label": "Intake notes", "type": "text"},
]


@contextmanager
def within(clinic):
    """Run ORM code in a clinic's schema (a request leaves the connection anywhere)."""
    connection.set_tenant(clinic)
    try:
        yield
    finally:
        connection.set_schema_to_public()


@pytest.fixture
def intake(clinic) -> Workflow:
    with within(clinic):
        return workflow_create(
            name="New patient intake", slug="intake", fields=INTAKE_FIELDS
        )


@pytest.fixture
def ada(clinic) -> Patient:
    with within(clinic):
        return patient_create(
            first_name="Ada",
            last_name="Lovelace",
            date_of_birth=date(1990, 12, 10),
            phone="+14155550123",
        )


def patient_form_data(workflow: Workflow, **overrides) -> dict:
    data = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "date_of_birth": "1986-12-09",
        "sex": "female",
        "phone": "(415) 555-0123",
        "email": "grace@example.com",
        "address": "1 Navy Way",
        "preferred_language": "en",
        "sms_consent": "on",
        "workflow": str(workflow.pk),
        "fields.referral_source": "GP",
        "fields.visits": "3",
        "fields.insured": "True",
        "fields.first_visit": "2024-01-15",
        "fields.notes": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def access_entries(clinic) -> list[AuditEntry]:
    with within(clinic):
        return list(
            AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).order_by("id")
        )


# --- Sign-in and access ---------------------------------------------------------------


def test_sign_in_page_shows_the_form_with_the_clinic_name(anon_client, clinic):
    response = anon_client.get("/account/sign-in/")
    assert response.status_code == 200
    html = response.content.decode()
    assert clinic.name in html
    assert 'name="email"' in html and 'name="password"' in html
    assert 'href="/static/css/portal.css"' in html and "/static/js/htmx.min.js" in html


def test_wrong_password_shows_an_error_and_does_not_sign_in(anon_client, staff_user):
    response = anon_client.post(
        "/account/sign-in/", {"email": staff_user.email, "password": "not-the-password"}
    )
    assert response.status_code == 400
    assert BAD_CREDENTIALS in response.content.decode()
    assert anon_client.get("/patients/").status_code == 302


def test_right_password_signs_in_and_follows_next(anon_client, staff_user):
    response = anon_client.post(
        "/account/sign-in/?next=/patients/",
        {"email": staff_user.email, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/patients/"
    assert anon_client.get("/patients/").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/patients/",
        "/patients/new/",
        "/patients/1/",
        "/patients/1/edit/",
        "/patients/1/archive/",
        "/audit/",
        "/audit/export.csv",
        "/account/security/",
    ],
)
def test_staff_pages_need_sign_in(anon_client, path):
    response = anon_client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/?next=")


def test_a_user_of_beta_is_refused_on_alphas_pages(clinic, other_staff_user, ada):
    client = Client(HTTP_HOST=host_of(clinic))
    client.force_login(other_staff_user)
    response = client.get(f"/patients/{ada.pk}/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "not a member of" in html and clinic.name in html
    assert "Lovelace" not in html
    # The refusal signs them out here: the next request is a plain sign-in redirect.
    assert client.get("/patients/").status_code == 302


def test_a_user_of_beta_never_sees_alphas_patient_by_id(
    clinic, other_clinic, other_staff_user, ada
):
    client = Client(HTTP_HOST=host_of(other_clinic))
    client.force_login(other_staff_user)
    for path in (
        f"/patients/{ada.pk}/",
        f"/patients/{ada.pk}/edit/",
        f"/patients/{ada.pk}/archive/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Lovelace" not in response.content.decode()
    assert client.post(f"/patients/{ada.pk}/archive/").status_code == 404
    response = client.get("/patients/", {"q": "Lovelace"}, HTTP_HX_REQUEST="true")
    assert "No patients match" in response.content.decode()
    assert f'href="/patients/{ada.pk}/"' not in response.content.decode()
    with within(clinic):
        assert Patient.objects.get(pk=ada.pk).status == Patient.Status.ACTIVE


def test_sign_out_is_a_post(staff_client):
    assert staff_client.get("/account/sign-out/").status_code == 405
    response = staff_client.post("/account/sign-out/")
    assert response.status_code == 302 and response["Location"] == "/account/sign-in/"
    assert staff_client.get("/patients/").status_code == 302


def test_layout_shows_admin_links_only_to_admins(staff_client, admin_client_alpha):
    desk = staff_client.get("/patients/").content.decode()
    admin = admin_client_alpha.get("/patients/").content.decode()
    for link in ('href="/audit/"', 'href="/account/security/"', 'href="/admin/"'):
        assert link not in desk
        assert link in admin
    assert 'action="/account/sign-out/"' in desk and 'method="post"' in desk
    assert "--brand: #1f6feb" in desk


def test_password_reset_pages(anon_client, staff_user, mailoutbox):
    assert anon_client.get("/account/password/reset/").status_code == 200
    response = anon_client.post("/account/password/reset/", {"email": staff_user.email})
    assert response.status_code == 302
    assert anon_client.get(response["Location"]).status_code == 200
    assert len(mailoutbox) == 1
    link = re.search(
        r"http://\S+/account/password/reset/\S+/", mailoutbox[0].body
    ).group(0)
    assert link.startswith("http://alpha.localhost/")
    response = anon_client.get("/account/password/reset/MQ/not-a-token/")
    assert response.status_code == 200
    assert "invalid or has expired" in response.content.decode()


def test_password_change_page_and_security_events_page(
    staff_client, admin_client_alpha
):
    assert staff_client.get("/account/password/change/").status_code == 200
    assert staff_client.get("/account/security/").status_code == 403
    response = admin_client_alpha.get("/account/security/")
    assert response.status_code == 200
    assert "Security events" in response.content.decode()


def test_public_site_has_a_landing_page_linking_the_platform_admin(db):
    client = Client(HTTP_HOST="localhost")
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Clinic practice portal" in html and 'href="/admin/"' in html
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and "Page not found" in missing.content.decode()


def test_server_error_page_stands_alone(rf):
    from portal.errors_views import server_error

    response = server_error(rf.get("/patients/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html and "Traceback" not in html


def test_missing_page_is_a_plain_404(staff_client):
    response = staff_client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_home_is_a_small_dashboard(staff_client, intake):
    response = staff_client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "New patient intake" in html and 'action="/patients/"' in html


# --- Patient list and search ----------------------------------------------------------


def test_list_writes_one_access_entry_naming_the_patients_shown(
    staff_client, clinic, staff_user, ada
):
    with within(clinic):
        other = patient_create(
            first_name="Alan", last_name="Turing", date_of_birth=date(1954, 6, 23)
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
            first_name="Maria", last_name="Garcia", date_of_birth=date(1975, 2, 3)
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
        )
        patient_archive(patient=bob)
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
            ]
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


# --- Detail ---------------------------------------------------------------------------


def test_detail_shows_all_fields_with_workflow_labels_and_writes_an_access_entry(
    staff_client, clinic, staff_user, intake
):
    with within(clinic):
        patient = patient_create(
            first_name="Bob",
            last_name="Archer",
            date_of_birth=date(1970, 1, 1),
            phone="+14155550199",
            email="bob@example.com",
            workflow=intake,
            fields={
                "referral_source": "Self",
                "insured": True,
                "visits": 4,
                "first_visit": "2024-02-01",
            },
        )
    response = staff_client.get(f"/patients/{patient.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "Bob",
        "Archer",
        "1970-01-01",
        "+14155550199",
        "bob@example.com",
        "Active",
        "Referral source",
        "Self",
        "Has insurance",
        "Yes",
        "Visits last year",
        "2024-02-01",
    ):
        assert text in html, text
    entry = access_entries(clinic)[-1]
    assert entry.object_id == patient.pk and entry.patient_ids == [patient.pk]
    assert entry.actor_id == staff_user.pk and entry.additional_data == {"via": "page"}


def test_detail_of_a_missing_patient_is_404(staff_client):
    assert staff_client.get("/patients/999999/").status_code == 404


# --- Create ---------------------------------------------------------------------------


def test_create_page_renders_the_default_workflows_fields(staff_client, intake):
    html = staff_client.get("/patients/new/").content.decode()
    assert 'hx-post="/patients/workflow-fields/"' in html
    assert "This workflow has no extra fields." in html  # "General" is the default


def test_changing_the_workflow_re_renders_its_fields(staff_client, intake):
    response = staff_client.post(
        "/patients/workflow-fields/",
        {"workflow": str(intake.pk), "fields.notes": "kept"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="workflow-fields"' in html
    for label in (
        "Referral source",
        "Visits last year",
        "Has insurance",
        "First visit",
        "Intake notes",
    ):
        assert label in html
    assert 'name="fields.referral_source"' in html and "required" in html
    assert 'type="date" name="fields.first_visit"' in html
    assert ">kept</textarea>" in html or 'value="kept"' in html


def test_create_normalizes_the_phone_and_saves_workflow_fields(
    staff_client, clinic, intake
):
    response = staff_client.post("/patients/new/", patient_form_data(intake))
    assert response.status_code == 302
    with within(clinic):
        patient = Patient.objects.get(last_name="Hopper")
        assert response["Location"] == f"/patients/{patient.pk}/"
        assert patient.phone == "+14155550123"
        assert patient.sms_consent is True and patient.voice_consent is False
        assert patient.workflow == intake
        assert patient.fields == {
            "referral_source": "GP",
            "visits": 3,
            "insured": True,
            "first_visit": "2024-01-15",
        }
        assert (
            AuditEntry.objects.filter(
                action=AuditEntry.Action.CREATE, object_id=patient.pk
            ).count()
            == 1
        )


@pytest.mark.parametrize(
    ("overrides", "field_id", "message"),
    [
        ({"phone": "555-01"}, "id_phone", "valid phone number"),
        (
            {"date_of_birth": (date.today() + timedelta(days=3)).isoformat()},
            "id_date_of_birth",
            "cannot be in the future",
        ),
        ({"fields.referral_source": ""}, "id_fields.referral_source", "required"),
        ({"fields.insured": ""}, "id_fields.insured", "required"),
        ({"fields.visits": "three"}, "id_fields.visits", "whole number"),
    ],
)
def test_create_with_bad_input_shows_field_errors_with_400_and_writes_nothing(
    staff_client, clinic, intake, overrides, field_id, message
):
    with within(clinic):
        patients_before = Patient.objects.count()
        entries_before = AuditEntry.objects.exclude(
            action=AuditEntry.Action.ACCESS
        ).count()
    response = staff_client.post(
        "/patients/new/", patient_form_data(intake, **overrides)
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved" in html
    errors = re.search(
        rf'<ul class="errorlist" id="{re.escape(field_id)}_error">(.*?)</ul>', html
    )
    assert errors, f"no errors next to {field_id}"
    assert message in errors.group(1)
    assert f'aria-describedby="{field_id}' in html or f'{field_id}_error"' in html
    # What was typed stays in the form.
    assert 'value="Hopper"' in html
    with within(clinic):
        assert Patient.objects.count() == patients_before
        assert (
            AuditEntry.objects.exclude(action=AuditEntry.Action.ACCESS).count()
            == entries_before
        )


def test_service_errors_keyed_by_workflow_field_land_on_that_input(clinic, intake):
    from django.core.exceptions import ValidationError

    from clinic.forms import PatientForm

    with within(clinic):
        form = PatientForm(
            patient_form_data(intake), workflows=Workflow.objects.all(), workflow=intake
        )
        assert form.is_valid(), form.errors
        form.add_service_errors(
            ValidationError(
                {
                    "fields.visits": ["Too many."],
                    "fields": ["Odd."],
                    "date_of_birth": ["No."],
                }
            )
        )
    assert form.errors["fields.visits"] == ["Too many."]
    assert form.errors["date_of_birth"] == ["No."]
    assert form.non_field_errors() == ["Odd."]


# --- Edit and archive -----------------------------------------------------------------


def test_edit_page_is_prefilled_and_writes_an_access_entry(
    staff_client, clinic, intake
):
    with within(clinic):
        patient = patient_create(
            first_name="Bob",
            last_name="Archer",
            date_of_birth=date(1970, 1, 1),
            workflow=intake,
            fields={"referral_source": "Self", "insured": False},
        )
    response = staff_client.get(f"/patients/{patient.pk}/edit/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="Archer"' in html
    assert re.search(r'<option value="Self" selected>', html)
    assert re.search(r'<option value="False" selected>No</option>', html)
    entry = access_entries(clinic)[-1]
    assert entry.object_id == patient.pk and entry.additional_data == {"via": "edit"}


def test_edit_saves_through_the_service(staff_client, clinic, intake, ada):
    data = patient_form_data(
        intake,
        first_name="Ada",
        last_name="King",
        phone="+1 415 555 0188",
        status="active",
    )
    response = staff_client.post(f"/patients/{ada.pk}/edit/", data)
    assert response.status_code == 302
    with within(clinic):
        ada.refresh_from_db()
        assert (ada.last_name, ada.phone, ada.workflow) == (
            "King",
            "+14155550188",
            intake,
        )
        change = AuditEntry.objects.filter(
            action=AuditEntry.Action.UPDATE, object_id=ada.pk
        ).get()
        assert "last_name" in change.changes


def test_edit_with_a_future_birth_date_changes_nothing(
    staff_client, clinic, intake, ada
):
    future = (date.today() + timedelta(days=1)).isoformat()
    data = patient_form_data(
        intake, last_name="King", date_of_birth=future, status="active"
    )
    response = staff_client.post(f"/patients/{ada.pk}/edit/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "cannot be in the future" in html
    assert "Edit Ada Lovelace" in html  # the page still names the stored patient
    with within(clinic):
        ada.refresh_from_db()
        assert ada.last_name == "Lovelace"


def test_archive_asks_first_then_archives_on_post(staff_client, clinic, ada):
    confirm = staff_client.get(f"/patients/{ada.pk}/archive/")
    assert confirm.status_code == 200
    assert 'method="post"' in confirm.content.decode()
    with within(clinic):
        assert Patient.objects.get(pk=ada.pk).status == Patient.Status.ACTIVE
    response = staff_client.post(f"/patients/{ada.pk}/archive/")
    assert (
        response.status_code == 302 and response["Location"] == f"/patients/{ada.pk}/"
    )
    with within(clinic):
        assert Patient.objects.get(pk=ada.pk).status == Patient.Status.ARCHIVED
    html = staff_client.get(response["Location"]).content.decode()
    assert "is archived" in html
