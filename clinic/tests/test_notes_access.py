"""Who reads a clinical note, through every door: pages, API, admin.

Clinicians and admins read content (each read audited); front desk and
billing see that a note exists and nothing it says; another clinic's user or
token gets 404 (pages: the membership check answers first).
"""

from __future__ import annotations

import pytest
from django.db import connection

from clinic.models import AuditEntry, ClinicalNote
from clinic.services.notes import note_create, note_sign
from clinic.tests.api_support import client_for
from clinic.tests.records_support import (  # noqa: F401
    api_of,
    pages_of,
    team_fixture,
    visit,
)

SECRET = "Suspected early Parkinson disease"


@pytest.fixture
def note(team) -> ClinicalNote:
    note = note_create(
        actor=team.doc,
        appointment=visit(team),
        assessment=SECRET,
        plan="Refer to neurology.",
        diagnoses=[{"code": "G20", "description": "Parkinson disease"}],
        prescriptions=[
            {
                "drug": "Carbidopa-levodopa",
                "dose": "25/100 mg",
                "route": "oral",
                "frequency": "three times a day",
                "quantity": 90,
                "refills": 2,
            }
        ],
    )
    return note_sign(actor=team.doc, note=note)


def _accesses(team, note) -> list[str]:
    connection.set_tenant(team.clinic)
    return [
        e.additional_data["via"]
        for e in AuditEntry.objects.filter(
            action=AuditEntry.Action.ACCESS, object_id=note.patient_id
        ).order_by("id")
        if f"clinical note {note.pk} " in e.additional_data.get("via", "")
    ]


@pytest.mark.parametrize("who", ["doc", "colleague", "admin"])
def test_clinicians_and_admins_read_the_content_on_the_page_and_it_is_audited(
    team, note, who
):
    response = pages_of(getattr(team, who)).get(f"/notes/{note.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert SECRET in html and "Carbidopa-levodopa" in html and "G20" in html
    assert _accesses(team, note) == [f"clinical note {note.pk} page (content)"]


@pytest.mark.parametrize("who", ["desk", "billing"])
def test_front_desk_and_billing_see_only_that_a_note_exists(team, note, who):
    client = pages_of(getattr(team, who))
    html = client.get(f"/notes/{note.pk}/").content.decode()
    assert "This visit has a clinical note" in html and "Signed" in html
    assert SECRET not in html and "Carbidopa" not in html and "G20" not in html
    listing = client.get(f"/patients/{note.patient_id}/notes/").content.decode()
    assert f"/notes/{note.pk}/" in listing and SECRET not in listing
    assert _accesses(team, note) == [f"clinical note {note.pk} page (existence only)"]
    assert client.get(f"/notes/{note.pk}/edit/").status_code == 403
    assert client.post(f"/notes/{note.pk}/addendum/", {"text": "x"}).status_code == 403


@pytest.mark.parametrize("who", ["doc", "admin"])
def test_the_api_answers_content_to_clinicians_and_admins(team, note, who):
    body = api_of(getattr(team, who)).get(f"/api/v1/notes/{note.pk}/").json()
    assert body["assessment"] == SECRET and body["diagnoses"][0]["code"] == "G20"
    assert body["prescriptions"][0]["refills"] == 2
    assert _accesses(team, note) == [f"api clinical note {note.pk} (content)"]


@pytest.mark.parametrize("who", ["desk", "billing"])
def test_the_api_answers_metadata_only_to_front_desk_and_billing(team, note, who):
    api = api_of(getattr(team, who))
    body = api.get(f"/api/v1/notes/{note.pk}/").json()
    assert body["status"] == "signed" and body["signed_by"] == "Dr. Ann Able"
    assert not {"assessment", "plan", "diagnoses", "prescriptions", "addenda"} & set(
        body
    )
    assert SECRET not in str(body)
    listed = api.get("/api/v1/notes/", {"patient": note.patient_id}).json()
    assert [n["id"] for n in listed["results"]] == [note.pk]
    assert "assessment" not in listed["results"][0]
    refused = api.post(
        f"/api/v1/notes/{note.pk}/addenda/", {"text": "x"}, format="json"
    )
    assert refused.status_code == 403


def test_lists_carry_no_content_even_for_clinicians(team, note):
    listed = api_of(team.doc).get("/api/v1/notes/").json()
    assert SECRET not in str(listed) and listed["results"][0]["status"] == "signed"


def test_the_api_drafts_signs_and_adds_addenda_for_the_visits_clinician(team):
    api = api_of(team.doc)
    appointment = visit(team)
    created = api.post(
        "/api/v1/notes/",
        {
            "appointment": appointment.pk,
            "assessment": "Well.",
            "diagnoses": [{"code": "Z00.00"}],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    bad = api.patch(
        f"/api/v1/notes/{pk}/", {"diagnoses": [{"code": "nope"}]}, format="json"
    )
    assert bad.status_code == 400 and "diagnoses" in bad.json()
    assert api_of(team.colleague).post(f"/api/v1/notes/{pk}/sign/").status_code == 403
    assert api.post(f"/api/v1/notes/{pk}/sign/").json()["status"] == "signed"
    changed = api.patch(f"/api/v1/notes/{pk}/", {"plan": "x"}, format="json")
    assert changed.status_code == 409
    added = api.post(f"/api/v1/notes/{pk}/addenda/", {"text": "Later."}, format="json")
    assert added.status_code == 201 and added.json()["addenda"][0]["text"] == "Later."


def test_pages_draft_and_sign_a_note(team):
    client = pages_of(team.doc)
    appointment = visit(team)
    form = {
        "diagnoses": "J06.9 Acute upper respiratory infection\nnot-a-code",
        "assessment": "Viral.",
        "plan": "Fluids.",
        "rx-TOTAL_FORMS": "1",
        "rx-INITIAL_FORMS": "0",
        "rx-0-drug": "",
    }
    refused = client.post(f"/notes/visit/{appointment.pk}/", form)
    assert (
        refused.status_code == 400
        and "not an ICD-10-CM code" in refused.content.decode()
    )
    form["diagnoses"] = "J06.9 Acute upper respiratory infection"
    saved = client.post(f"/notes/visit/{appointment.pk}/", form)
    assert saved.status_code == 302
    connection.set_tenant(team.clinic)
    note = ClinicalNote.objects.get(appointment=appointment)
    assert client.get(f"/notes/visit/{appointment.pk}/").url == f"/notes/{note.pk}/"
    assert client.post(f"/notes/{note.pk}/sign/").status_code == 302
    connection.set_tenant(team.clinic)
    assert ClinicalNote.objects.get(pk=note.pk).status == "signed"
    assert client.get(f"/notes/{note.pk}/edit/").status_code == 302


def test_the_admin_shows_content_to_admins_only_and_changes_nothing(team, note):
    page = pages_of(team.admin).get(f"/admin/clinic/clinicalnote/{note.pk}/change/")
    assert page.status_code == 200 and SECRET in page.content.decode()
    assert _accesses(team, note) == [f"admin clinical note {note.pk} (content)"]
    post = pages_of(team.admin).post(
        f"/admin/clinic/clinicalnote/{note.pk}/change/", {"plan": "x"}
    )
    assert post.status_code == 403
    for who in ("desk", "doc", "billing"):
        response = pages_of(getattr(team, who)).get(
            f"/admin/clinic/clinicalnote/{note.pk}/change/"
        )
        assert response.status_code in (302, 403)
        assert SECRET not in response.content.decode()


def test_another_clinics_user_and_token_get_nothing(
    team, note, other_staff_user, other_clinic
):
    from clinic.tests.records_support import page_client

    page = page_client(other_staff_user, team.clinic).get(f"/notes/{note.pk}/")
    assert page.status_code in (302, 403) and SECRET not in page.content.decode()
    beta_token = client_for(other_staff_user, other_clinic)
    beta_token.defaults["HTTP_HOST"] = "alpha.localhost"
    assert beta_token.get(f"/api/v1/notes/{note.pk}/").status_code in (401, 403)
    # On its own host, beta has no such note: 404, the same as "missing".
    assert (
        client_for(other_staff_user, other_clinic)
        .get(f"/api/v1/notes/{note.pk}/")
        .status_code
        == 404
    )
    assert (
        page_client(other_staff_user, other_clinic)
        .get(f"/notes/{note.pk}/")
        .status_code
        == 404
    )
