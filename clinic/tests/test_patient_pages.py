"""Staff pages: a patient's detail, creating, editing and archiving patients."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from clinic.actors import SYSTEM
from clinic.models import AuditEntry, Patient, Workflow
from clinic.services import patient_create
from clinic.tests.page_support import (
    access_entries,
    ada_fixture,  # noqa: F401  (the `ada` fixture)
    intake_fixture,  # noqa: F401  (the `intake` fixture)
    within,
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
            actor=SYSTEM,
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

    from clinic.forms.patients import PatientForm

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
            actor=SYSTEM,
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
