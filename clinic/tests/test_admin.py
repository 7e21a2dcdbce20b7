"""The Django admin on a clinic's host: only that clinic's admins, only its data."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client

from clinic.actors import SYSTEM
from clinic.models import AuditEntry, Patient, Workflow
from clinic.services import patient_create, workflow_create
from conftest import host_of
from portal.models import User


@contextmanager
def within(clinic):
    connection.set_tenant(clinic)
    try:
        yield
    finally:
        connection.set_schema_to_public()


@pytest.fixture
def patients(clinic, other_clinic):
    with within(clinic):
        ada = patient_create(
            first_name="Ada",
            last_name="Lovelace",
            date_of_birth=date(1990, 12, 10),
            actor=SYSTEM,
        )
    with within(other_clinic):
        zed = patient_create(
            first_name="Zed",
            last_name="Betaperson",
            date_of_birth=date(1980, 1, 1),
            actor=SYSTEM,
        )
    return {"ada": ada, "zed": zed}


@pytest.fixture
def intake(clinic) -> Workflow:
    with within(clinic):
        return workflow_create(
            name="Intake",
            slug="intake",
            fields=[
                {
                    "name": "referral_source",
                    "label": "Referral source",
                    "type": "choice",
                    "required": True,
                    "choices": ["GP", "Self"],
                }
            ],
            actor=SYSTEM,
        )


def add_data(workflow: Workflow, **overrides) -> dict:
    data = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "date_of_birth": "1986-12-09",
        "sex": "female",
        "phone": "(415) 555-0123",
        "email": "",
        "address": "",
        "preferred_language": "en",
        "status": "active",
        "workflow": str(workflow.pk),
        "fields": json.dumps({"referral_source": "GP"}),
        "_save": "Save",
    }
    data.update(overrides)
    return data


# --- Who gets in ---------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_portal_sign_in(anon_client):
    response = anon_client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/account/sign-in/?next=/admin/")


def test_front_desk_is_refused(staff_client, patients):
    for path in (
        "/admin/",
        "/admin/clinic/patient/",
        f"/admin/clinic/patient/{patients['ada'].pk}/change/",
    ):
        response = staff_client.get(path, follow=True)
        assert response.status_code == 403, path
        assert "Lovelace" not in response.content.decode()


def test_an_admin_of_beta_is_refused_on_alpha(clinic, other_clinic, patients):
    client = Client(HTTP_HOST=host_of(clinic))
    client.force_login(User.objects.get(email=f"admin@{other_clinic.slug}.test"))
    response = client.get("/admin/clinic/patient/", follow=True)
    assert response.status_code == 403
    assert "Lovelace" not in response.content.decode()


def test_alphas_admin_sees_only_alphas_patients(admin_client_alpha, patients):
    index = admin_client_alpha.get("/admin/")
    assert index.status_code == 200
    for model in ("Patients", "Workflows", "Audit entries"):
        assert model in index.content.decode()
    response = admin_client_alpha.get("/admin/clinic/patient/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Lovelace" in html and "Betaperson" not in html
    # An id of beta's patient is not a patient here.
    if patients["zed"].pk != patients["ada"].pk:
        missing = admin_client_alpha.get(
            f"/admin/clinic/patient/{patients['zed'].pk}/change/", follow=True
        )
        assert "Betaperson" not in missing.content.decode()


def test_admin_reads_are_audited(admin_client_alpha, clinic, admin_user, patients):
    ada = patients["ada"]
    admin_client_alpha.get("/admin/clinic/patient/", {"q": "Lovlace"})
    admin_client_alpha.get(f"/admin/clinic/patient/{ada.pk}/change/")
    with within(clinic):
        listing, opened = AuditEntry.objects.filter(
            action=AuditEntry.Action.ACCESS, actor=admin_user
        ).order_by("id")
    assert listing.patient_ids == [ada.pk] and listing.query == "Lovlace"
    assert listing.additional_data["via"] == "admin"
    assert opened.object_id == ada.pk and opened.additional_data == {"via": "admin"}


def test_admin_search_uses_the_misspelling_tolerant_search(
    admin_client_alpha, patients
):
    html = admin_client_alpha.get(
        "/admin/clinic/patient/", {"q": "Lovlace"}
    ).content.decode()
    assert "Lovelace" in html


# --- Patients go through the services -------------------------------------------------


def test_adding_a_patient_goes_through_the_service(
    admin_client_alpha, clinic, admin_user, intake
):
    response = admin_client_alpha.post("/admin/clinic/patient/add/", add_data(intake))
    assert response.status_code == 302, response.content.decode()[:3000]
    with within(clinic):
        patient = Patient.objects.get(last_name="Hopper")
        assert patient.phone == "+14155550123"
        assert patient.fields == {"referral_source": "GP"}
        created = AuditEntry.objects.filter(
            action=AuditEntry.Action.CREATE, object_id=patient.pk
        )
        assert created.count() == 1  # the validation dry run left nothing behind
        assert created.get().actor_id == admin_user.pk


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"date_of_birth": (date.today() + timedelta(days=2)).isoformat()},
            "cannot be in the future",
        ),
        ({"fields": "{}"}, "referral_source: This field is required by the workflow."),
        (
            {"fields": json.dumps({"referral_source": "Hospital"})},
            "Choose one of: GP, Self.",
        ),
        ({"phone": "12"}, "valid phone number"),
    ],
)
def test_the_services_rules_show_as_admin_form_errors(
    admin_client_alpha, clinic, intake, overrides, message
):
    with within(clinic):
        before = Patient.objects.count()
    response = admin_client_alpha.post(
        "/admin/clinic/patient/add/", add_data(intake, **overrides)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    with within(clinic):
        assert Patient.objects.count() == before


def test_changing_a_patient_goes_through_the_service(
    admin_client_alpha, clinic, patients
):
    ada = patients["ada"]
    with within(clinic):
        general = Workflow.objects.get(slug="general")
    data = add_data(general, first_name="Ada", last_name="King", fields="{}")
    response = admin_client_alpha.post(f"/admin/clinic/patient/{ada.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    with within(clinic):
        ada.refresh_from_db()
        assert ada.last_name == "King"
        assert (
            AuditEntry.objects.filter(
                action=AuditEntry.Action.UPDATE, object_id=ada.pk
            ).count()
            == 1
        )


def test_patients_are_archived_not_deleted(admin_client_alpha, clinic, patients):
    ada = patients["ada"]
    assert (
        admin_client_alpha.get(f"/admin/clinic/patient/{ada.pk}/delete/").status_code
        == 403
    )
    response = admin_client_alpha.post(
        "/admin/clinic/patient/",
        {"action": "archive_selected", "_selected_action": [ada.pk]},
    )
    assert response.status_code == 302
    with within(clinic):
        assert Patient.objects.get(pk=ada.pk).status == Patient.Status.ARCHIVED


# --- Workflows ------------------------------------------------------------------------


def test_a_workflow_is_edited_as_a_list_of_field_definitions(
    admin_client_alpha, clinic
):
    fields = [
        {
            "name": "referral_source",
            "label": "Referral source",
            "type": "choice",
            "required": True,
            "choices": ["GP", "Self"],
        },
        {"name": "visits", "type": "integer"},
    ]
    response = admin_client_alpha.post(
        "/admin/clinic/workflow/add/",
        {
            "name": "Physio intake",
            "slug": "",
            "description": "",
            "is_active": "on",
            "field_definitions": json.dumps(fields),
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    with within(clinic):
        workflow = Workflow.objects.get(slug="physio-intake")
    assert workflow.fields_schema["required"] == ["referral_source"]
    assert workflow.fields_schema["properties"]["referral_source"]["enum"] == [
        "GP",
        "Self",
    ]
    assert workflow.fields_schema["properties"]["visits"]["type"] == "integer"

    page = admin_client_alpha.get(
        f"/admin/clinic/workflow/{workflow.pk}/change/"
    ).content.decode()
    assert "Referral source" in page and "Stored JSON Schema" in page
    fields.append({"name": "smoker", "label": "Smoker", "type": "boolean"})
    response = admin_client_alpha.post(
        f"/admin/clinic/workflow/{workflow.pk}/change/",
        {
            "name": "Physio intake",
            "description": "Knees",
            "is_active": "on",
            "field_definitions": json.dumps(fields),
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    with within(clinic):
        workflow.refresh_from_db()
    assert workflow.fields_schema["properties"]["smoker"]["type"] == "boolean"
    assert workflow.description == "Knees"


@pytest.mark.parametrize(
    ("definitions", "message"),
    [
        ([{"name": "Bad Name", "type": "text"}], "names use lowercase letters"),
        ([{"name": "colour", "type": "choice"}], "a choice field needs choices"),
        ([{"name": "x", "type": "weird"}], "unknown type"),
        ({"name": "x"}, "Enter a JSON list of objects"),
    ],
)
def test_bad_field_definitions_are_refused(
    admin_client_alpha, clinic, definitions, message
):
    response = admin_client_alpha.post(
        "/admin/clinic/workflow/add/",
        {
            "name": "Broken",
            "slug": "broken",
            "field_definitions": json.dumps(definitions),
            "_save": "Save",
        },
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    with within(clinic):
        assert not Workflow.objects.filter(slug="broken").exists()


# --- Audit trail ----------------------------------------------------------------------


def test_the_audit_trail_is_read_only(admin_client_alpha, clinic, patients):
    with within(clinic):
        entry = AuditEntry.objects.filter(object_id=patients["ada"].pk).first()
    listing = admin_client_alpha.get("/admin/clinic/auditentry/")
    assert listing.status_code == 200 and "Ada Lovelace" in listing.content.decode()
    view = admin_client_alpha.get(f"/admin/clinic/auditentry/{entry.pk}/change/")
    assert view.status_code == 200
    assert 'name="_save"' not in view.content.decode()
    assert admin_client_alpha.get("/admin/clinic/auditentry/add/").status_code == 403
    assert (
        admin_client_alpha.post(
            f"/admin/clinic/auditentry/{entry.pk}/change/", {}
        ).status_code
        == 403
    )
    assert (
        admin_client_alpha.get(
            f"/admin/clinic/auditentry/{entry.pk}/delete/"
        ).status_code
        == 403
    )
    with within(clinic):
        assert AuditEntry.objects.filter(pk=entry.pk).exists()
