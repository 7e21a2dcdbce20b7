"""Document pages: the patient page's section and upload, review, preview, download.

Role scoping through every door, and another clinic's member gets nothing.
"""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django_tenants.utils import tenant_context
from PIL import Image

from billing.models import Payer, Policy
from clinic.models import AuditEntry, Document, Task
from clinic.services.documents import document_extract, document_upload
from clinic.tests.documents_support import (
    EXECUTABLE,
    LAB_LINES,
    MEMBER_ID,
    card_image,
    image_bytes,
    media,  # noqa: F401 (a fixture)
    member,
    stored_files,
    text_pdf,
    upload,
)
from clinic.tests.factories import PatientFactory
from portal.models import Role


def _client(clinic, user) -> Client:
    client = Client(HTTP_HOST=f"{clinic.slug}.localhost")
    client.force_login(user)
    return client


@pytest.fixture
def world(clinic, media, eager_celery):
    with tenant_context(clinic):
        patient = PatientFactory()
        lab_bytes = text_pdf(LAB_LINES)
        members = {role: member(clinic, role) for role in Role.values}
        admin = members[Role.ADMIN]
        card = document_upload(
            actor=admin,
            patient=patient,
            kind=Document.Kind.INSURANCE_CARD,
            file=upload("card.tif", image_bytes(card_image(poor=True), "TIFF")),
        )
        lab = document_upload(
            actor=admin,
            patient=patient,
            kind=Document.Kind.LAB_RESULT,
            file=upload("lab.pdf", lab_bytes),
        )
        document_extract(document_id=card.pk)
        document_extract(document_id=lab.pk)
    clients = {role: _client(clinic, m.user) for role, m in members.items()}
    return {
        "patient": patient,
        "clients": clients,
        "card": card,
        "lab": lab,
        "lab_bytes": lab_bytes,
    }


def test_the_patient_page_lists_the_documents_and_offers_the_kinds_a_role_may_upload(
    world,
):
    patient = world["patient"]
    desk = (
        world["clients"][Role.FRONT_DESK]
        .get(f"/patients/{patient.pk}/")
        .content.decode()
    )
    assert 'id="documents"' in desk
    assert f'data-document="{world["card"].pk}"' in desk
    assert f'data-document="{world["lab"].pk}"' not in desk
    assert 'value="insurance_card"' in desk and 'value="lab_result"' not in desk
    assert "js/documents.js" in desk
    clinician = (
        world["clients"][Role.CLINICIAN]
        .get(f"/patients/{patient.pk}/")
        .content.decode()
    )
    assert f'data-document="{world["lab"].pk}"' in clinician
    billing = (
        world["clients"][Role.BILLING].get(f"/patients/{patient.pk}/").content.decode()
    )
    assert 'value="identity"' in billing and 'value="referral"' not in billing


def test_the_rows_partial_is_scoped_and_audited(world, clinic):
    patient = world["patient"]
    rows = world["clients"][Role.BILLING].get(f"/patients/{patient.pk}/documents/")
    assert rows.status_code == 200
    body = rows.content.decode()
    assert "Needs review" in body and "Lab result" not in body
    with tenant_context(clinic):
        entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).latest("id")
    assert entry.additional_data["via"] == "page: documents list"
    assert entry.patient_ids == [patient.pk]


def test_uploading_from_the_patient_page_answers_json(world, clinic, media):
    client = world["clients"][Role.FRONT_DESK]
    url = f"/patients/{world['patient'].pk}/documents/upload/"
    answer = client.post(
        url,
        {
            "kind": "consent_form",
            "file": upload("consent.pdf", text_pdf(["I consent."])),
        },
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["status"] == "uploaded"
    assert body["url"] == f"/documents/{body['id']}/"
    before = len(stored_files(media))
    refused = client.post(
        url, {"kind": "consent_form", "file": upload("x.pdf", EXECUTABLE)}
    )
    assert refused.status_code == 400
    assert "file" in refused.json()["errors"]
    refused = client.post(
        url, {"kind": "lab_result", "file": upload("l.pdf", text_pdf(LAB_LINES))}
    )
    assert refused.status_code == 403
    assert client.post(url, {"kind": "other"}).json() == {
        "errors": {"file": ["Choose a file."]}
    }
    assert len(stored_files(media)) == before


def test_an_upload_past_the_limit_answers_413_before_it_is_read(world, settings, media):
    settings.DOCUMENT_MAX_BYTES = 1000
    client = world["clients"][Role.FRONT_DESK]
    before = len(stored_files(media))
    answer = client.post(
        f"/patients/{world['patient'].pk}/documents/upload/",
        {"kind": "other", "file": upload("big.pdf", text_pdf(["x"]) + b"%" * 200_000)},
    )
    assert answer.status_code == 413
    assert len(stored_files(media)) == before


def test_the_review_page_shows_the_fields_beside_the_page_and_confirms_them(
    world, clinic
):
    card = world["card"]
    client = world["clients"][Role.FRONT_DESK]
    page = client.get(f"/documents/{card.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f'src="/documents/{card.pk}/preview/?page=1"' in body
    assert 'name="member_id"' in body and "confidence" in body
    assert "Review task open" in body
    bad = client.post(
        f"/documents/{card.pk}/",
        {"payer_name": "Acme Health Plan", "member_id": "12", "group_number": "88231"},
    )
    assert bad.status_code == 400
    assert "A member id is" in bad.content.decode()
    good = client.post(
        f"/documents/{card.pk}/",
        {
            "payer_name": "Acme Health Plan",
            "member_id": MEMBER_ID,
            "group_number": "88231",
        },
    )
    assert good.status_code == 302
    with tenant_context(clinic):
        card.refresh_from_db()
        assert card.status == Document.Status.PROCESSED
        task = Task.objects.get(source_key=f"document:{card.pk}")
        assert task.state == Task.State.DONE


def test_one_click_fills_the_policy_from_the_confirmed_card(world, clinic):
    card = world["card"]
    client = world["clients"][Role.FRONT_DESK]
    client.post(
        f"/documents/{card.pk}/",
        {
            "payer_name": "Acme Health Plan",
            "member_id": MEMBER_ID,
            "group_number": "88231",
        },
    )
    with tenant_context(clinic):
        payer = Payer.objects.create(name="Acme Health Plan", payer_id="ACME1")
    page = client.get(f"/documents/{card.pk}/").content.decode()
    assert 'id="document-policy"' in page
    answer = client.post(f"/documents/{card.pk}/policy/", {"payer": payer.pk})
    assert answer.status_code == 302
    with tenant_context(clinic):
        policy = Policy.objects.get(patient=world["patient"])
        assert policy.member_id == MEMBER_ID
    # A clinician may see the card but not manage policies: no button for them.
    page = (
        world["clients"][Role.CLINICIAN].get(f"/documents/{card.pk}/").content.decode()
    )
    assert 'id="document-policy"' not in page


@pytest.mark.parametrize(("name", "page_count"), [("lab", 1), ("card", 1)])
def test_preview_streams_a_png_of_the_page_and_writes_an_access_entry(
    world, clinic, name, page_count
):
    document = world[name]
    client = world["clients"][Role.CLINICIAN]
    answer = client.get(f"/documents/{document.pk}/preview/?page=1")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "image/png"
    assert (
        answer["Cache-Control"].startswith("no-store")
        or "no-store" in answer["Cache-Control"]
    )
    assert Image.open(io.BytesIO(answer.content)).format == "PNG"
    assert client.get(f"/documents/{document.pk}/preview/?page=2").status_code == 404
    with tenant_context(clinic):
        entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).latest("id")
    assert (
        entry.additional_data["via"] == f"page: document {document.pk} preview page 1"
    )


def test_download_streams_the_original_and_writes_an_access_entry(world, clinic):
    lab = world["lab"]
    answer = world["clients"][Role.ADMIN].get(f"/documents/{lab.pk}/download/")
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == world["lab_bytes"]
    with tenant_context(clinic):
        entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).latest("id")
    assert entry.additional_data["via"] == f"page: document {lab.pk} download"


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING])
def test_a_kind_the_role_may_not_see_is_404_on_every_page(world, role):
    client = world["clients"][role]
    lab = world["lab"].pk
    for url in (
        f"/documents/{lab}/",
        f"/documents/{lab}/preview/?page=1",
        f"/documents/{lab}/download/",
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(f"/documents/{lab}/", {"collection_date": "2026-01-01"}).status_code
        == 404
    )
    assert client.post(f"/documents/{lab}/retry/").status_code == 404
    assert client.post(f"/documents/{lab}/policy/", {"payer": 1}).status_code == 404


def test_another_clinics_member_gets_nothing(
    world, clinic, other_clinic, other_staff_user
):
    card = world["card"].pk
    patient = world["patient"].pk
    urls = [
        f"/documents/{card}/",
        f"/documents/{card}/preview/?page=1",
        f"/documents/{card}/download/",
        f"/patients/{patient}/documents/",
    ]
    # On alpha's host beta's member is not let in at all.
    on_alpha = _client(clinic, other_staff_user)
    for url in urls:
        assert on_alpha.get(url).status_code in (302, 403), url
    answer = on_alpha.post(
        f"/patients/{patient}/documents/upload/",
        {"kind": "other", "file": upload("a.pdf", text_pdf(["a"]))},
    )
    assert answer.status_code in (302, 403)
    # On beta's own host the same ids are alpha's no longer: 404.
    on_beta = _client(other_clinic, other_staff_user)
    for url in urls:
        assert on_beta.get(url).status_code == 404, url


def test_anonymous_visitors_are_sent_to_sign_in(world, anon_client):
    answer = anon_client.get(f"/documents/{world['card'].pk}/download/")
    assert answer.status_code == 302
    assert "/account/sign-in/" in answer["Location"]
