"""/api/v1/documents/: upload (multipart), list with filters, read, download, text, review.

Role scoping through every door, and another clinic's token gets nothing.
"""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from clinic.models import AuditEntry, Document
from clinic.services.documents import document_upload
from clinic.tests.api_support import client_for
from clinic.tests.documents_support import (
    EXECUTABLE,
    LAB_LINES,
    card_image,
    image_bytes,
    media,  # noqa: F401 (a fixture)
    member,
    png_bomb,
    stored_files,
    text_pdf,
    upload,
)
from clinic.tests.factories import PatientFactory
from portal.models import Role

URL = "/api/v1/documents/"


@pytest.fixture
def world(clinic, media):
    """A patient with a card and a lab result; a client per role."""
    with tenant_context(clinic):
        patient = PatientFactory()
        lab_bytes = text_pdf(LAB_LINES)
        clients = {
            role: client_for(member(clinic, role).user, clinic) for role in Role.values
        }
        admin = member(clinic, Role.ADMIN)
        card = document_upload(
            actor=admin,
            patient=patient,
            kind=Document.Kind.INSURANCE_CARD,
            file=upload("card.png", image_bytes(card_image(), "PNG")),
        )
        lab = document_upload(
            actor=admin,
            patient=patient,
            kind=Document.Kind.LAB_RESULT,
            file=upload("lab.pdf", lab_bytes),
        )
    return {
        "patient": patient,
        "clients": clients,
        "card": card,
        "lab": lab,
        "lab_bytes": lab_bytes,
    }


def _post(client, patient, name, data, kind="insurance_card", **extra):
    return client.post(
        URL,
        {"file": upload(name, data), "kind": kind, "patient": patient.pk, **extra},
        format="multipart",
    )


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("a.pdf", text_pdf(["Consent to treatment, signed."]), "application/pdf"),
        ("a.png", image_bytes(card_image(), "PNG"), "image/png"),
        ("a.jpg", image_bytes(card_image(), "JPEG"), "image/jpeg"),
        ("a.tif", image_bytes(card_image(), "TIFF"), "image/tiff"),
    ],
)
def test_upload_of_each_allowed_type(world, name, data, content_type):
    answer = _post(world["clients"][Role.FRONT_DESK], world["patient"], name, data)
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["content_type"] == content_type
    assert body["status"] == "uploaded"
    assert answer["Location"] == f"{URL}{body['id']}/"
    assert body["download_url"] == f"{URL}{body['id']}/download/"


def test_a_disguised_executable_is_refused_by_field(world, clinic, media):
    before = len(stored_files(media))
    answer = _post(
        world["clients"][Role.FRONT_DESK], world["patient"], "card.pdf", EXECUTABLE
    )
    assert answer.status_code == 400
    assert "file" in answer.json()
    assert len(stored_files(media)) == before


def test_an_oversize_file_answers_413(world, media, settings):
    before = len(stored_files(media))
    big = image_bytes(card_image(), "PNG")
    settings.DOCUMENT_MAX_BYTES = len(big) - 1
    answer = _post(world["clients"][Role.FRONT_DESK], world["patient"], "big.png", big)
    assert answer.status_code == 413
    # Far past the limit the body is refused before it is read.
    settings.DOCUMENT_MAX_BYTES = 1000
    answer = _post(world["clients"][Role.FRONT_DESK], world["patient"], "big.png", big)
    assert answer.status_code == 413
    assert len(stored_files(media)) == before


def test_the_default_limit_is_ten_megabytes(world, media):
    padded = text_pdf(["x"]) + b"%" * (10 * 1024 * 1024)
    answer = _post(
        world["clients"][Role.FRONT_DESK], world["patient"], "big.pdf", padded
    )
    assert answer.status_code == 413


def test_a_decompression_bomb_is_refused_with_nothing_stored(world, clinic, media):
    before = len(stored_files(media))
    answer = _post(
        world["clients"][Role.FRONT_DESK], world["patient"], "bomb.png", png_bomb()
    )
    assert answer.status_code == 400
    assert "pixels" in answer.json()["file"][0]
    assert len(stored_files(media)) == before
    with tenant_context(clinic):
        assert Document.objects.count() == 2


def test_upload_refuses_a_kind_the_role_may_not_see(world):
    answer = _post(
        world["clients"][Role.BILLING],
        world["patient"],
        "lab.pdf",
        text_pdf(LAB_LINES),
        kind="lab_result",
    )
    assert answer.status_code == 403


def test_upload_field_errors(world):
    client = world["clients"][Role.FRONT_DESK]
    answer = client.post(URL, {"kind": "nope", "patient": 999999}, format="multipart")
    assert answer.status_code == 400
    assert {"file", "kind"} <= set(answer.json())
    answer = _post(
        client,
        world["patient"],
        "a.png",
        image_bytes(card_image(), "PNG"),
        appointment=99999,
    )
    assert answer.json() == {"appointment": ["No such appointment."]}
    # JSON is not how files travel.
    assert client.post(URL, {"kind": "other"}, format="json").status_code == 400


def test_the_list_shows_only_the_kinds_a_role_may_see(world):
    card, lab = world["card"].pk, world["lab"].pk
    seen = {
        role: {row["id"] for row in client.get(URL).json()["results"]}
        for role, client in world["clients"].items()
    }
    assert seen[Role.ADMIN] == seen[Role.CLINICIAN] == {card, lab}
    assert seen[Role.FRONT_DESK] == seen[Role.BILLING] == {card}


def test_list_filters(world):
    client = world["clients"][Role.CLINICIAN]
    ids = lambda **q: [row["id"] for row in client.get(URL, q).json()["results"]]  # noqa: E731
    assert ids(kind="lab_result") == [world["lab"].pk]
    assert ids(status="uploaded") == [world["lab"].pk, world["card"].pk]
    assert ids(status="processed") == []
    assert ids(patient=world["patient"].pk) == [world["lab"].pk, world["card"].pk]
    assert ids(created_after="2190-01-01T00:00:00Z") == []
    assert client.get(URL, {"kind": "x"}).status_code == 400
    assert client.get(URL, {"patient": "0"}).status_code == 400
    assert client.get(URL, {"created_after": "yesterday"}).status_code == 400
    assert client.get(URL, {"created_after": "2999-01-01T00:00:00Z"}).status_code == 400


def test_read_download_and_text_each_write_an_access_entry(world, clinic):
    client = world["clients"][Role.CLINICIAN]
    lab = world["lab"]
    with tenant_context(clinic):
        before = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).count()
    assert client.get(f"{URL}{lab.pk}/").json()["kind"] == "lab_result"
    download = client.get(f"{URL}{lab.pk}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == world["lab_bytes"]
    assert "attachment" in download["Content-Disposition"]
    text = client.get(f"{URL}{lab.pk}/text/").json()
    assert set(text) == {"id", "status", "text_method", "confidence", "text", "fields"}
    with tenant_context(clinic):
        entries = list(
            AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).order_by("id")[
                before:
            ]
        )
    vias = [e.additional_data["via"] for e in entries]
    assert vias == [
        f"api: document {lab.pk} read",
        f"api: document {lab.pk} download",
        f"api: document {lab.pk} text",
    ]
    assert all(e.patient_ids == [world["patient"].pk] for e in entries)


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING])
def test_a_kind_the_role_may_not_see_is_404_through_every_door(world, role):
    client = world["clients"][role]
    lab = world["lab"].pk
    assert client.get(f"{URL}{lab}/").status_code == 404
    assert client.get(f"{URL}{lab}/download/").status_code == 404
    assert client.get(f"{URL}{lab}/text/").status_code == 404
    assert (
        client.post(f"{URL}{lab}/review/", {"fields": {}}, format="json").status_code
        == 404
    )
    assert client.get(URL, {"kind": "lab_result"}).json()["results"] == []


def test_review_through_the_api(world, clinic, eager_celery):
    client = world["clients"][Role.FRONT_DESK]
    card = world["card"].pk
    answer = client.post(
        f"{URL}{card}/review/", {"fields": {"member_id": "1"}}, format="json"
    )
    # Not extracted yet: status first (field errors would come after).
    assert answer.status_code == 400
    with tenant_context(clinic):
        from clinic.services.documents import document_extract

        document_extract(document_id=card)
    fields = {"payer_name": "Acme Health Plan", "member_id": "1", "group_number": "G1"}
    answer = client.post(f"{URL}{card}/review/", {"fields": fields}, format="json")
    assert answer.status_code == 400
    assert set(answer.json()) == {"member_id"}
    fields["member_id"] = "XQJ482913307"
    answer = client.post(f"{URL}{card}/review/", {"fields": fields}, format="json")
    assert answer.status_code == 200
    assert answer.json()["confirmed_fields"]["member_id"] == "XQJ482913307"


def test_another_clinics_token_gets_nothing(
    world, other_clinic, other_staff_user, beta_api
):
    for document in (world["card"], world["lab"]):
        for suffix in ("", "download/", "text/"):
            assert beta_api.get(f"{URL}{document.pk}/{suffix}").status_code == 404
        answer = beta_api.post(
            f"{URL}{document.pk}/review/", {"fields": {}}, format="json"
        )
        assert answer.status_code == 404
    assert beta_api.get(URL).json()["results"] == []
    # Alpha's patient does not exist on beta.
    answer = _post(
        beta_api, world["patient"], "a.png", image_bytes(card_image(), "PNG")
    )
    assert answer.status_code in (400, 404)
    # Alpha's token on beta's host is refused outright.
    alpha_token = world["clients"][Role.ADMIN]
    alpha_token.defaults["HTTP_HOST"] = f"{other_clinic.slug}.localhost"
    assert alpha_token.get(URL).status_code in (401, 403)


def test_without_a_token_nothing_is_answered(clinic, world):
    from rest_framework.test import APIClient

    anonymous = APIClient(HTTP_HOST=f"{clinic.slug}.localhost")
    assert anonymous.get(URL).status_code == 401
    assert anonymous.get(f"{URL}{world['card'].pk}/download/").status_code == 401
