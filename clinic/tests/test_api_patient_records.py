"""Partner API for patients: shape, reads and writes, field errors, isolation."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from clinic.models import AuditEntry, Patient
from clinic.tests.api_support import (
    PATIENTS,
    SHAPE,
    audit_entries,
    count_patients,
    intake_fixture,  # noqa: F401  (the `intake` fixture)
    make_patient,
    row,
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
