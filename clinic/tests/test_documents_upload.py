"""Uploads: the type decided by content, limits, bombs, roles, nothing half-stored."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from clinic.models import Document, Patient
from clinic.services.documents import document_upload
from clinic.tests.api_support import sched_fixture  # noqa: F401 (a fixture)
from clinic.tests.documents_support import (
    EXECUTABLE,
    LAB_LINES,
    card_image,
    image_bytes,
    media,  # noqa: F401 (a fixture)
    member,
    patient_fixture,  # noqa: F401 (a fixture)
    png_bomb,
    stored_files,
    text_pdf,
    upload,
)
from clinic.tests.factories import PatientFactory
from portal.errors import ApplicationError
from portal.models import Role

CARD = Document.Kind.INSURANCE_CARD


@pytest.fixture
def desk(in_clinic):
    return member(in_clinic, Role.FRONT_DESK)


@pytest.mark.parametrize(
    ("name", "make", "content_type"),
    [
        ("lab.pdf", lambda: text_pdf(LAB_LINES), "application/pdf"),
        ("card.png", lambda: image_bytes(card_image(), "PNG"), "image/png"),
        ("card.jpg", lambda: image_bytes(card_image(), "JPEG"), "image/jpeg"),
        ("card.tiff", lambda: image_bytes(card_image(), "TIFF"), "image/tiff"),
    ],
)
def test_each_allowed_type_is_kept_in_the_clinics_own_folder(
    desk, patient, media, name, make, content_type
):
    data = make()
    document = document_upload(
        actor=desk, patient=patient, kind=CARD, file=upload(name, data)
    )
    assert document.content_type == content_type
    assert document.status == Document.Status.UPLOADED
    assert document.size == len(data)
    (path,) = stored_files(media)
    # MEDIA_ROOT/<clinic schema>/documents/YYYY/MM/<random>.<ext>: never the given name.
    assert path.relative_to(media).parts[:2] == (desk.clinic.schema_name, "documents")
    assert name not in str(path)
    assert path.read_bytes() == data


def test_the_type_comes_from_the_content_not_the_name(desk, patient, media):
    document = document_upload(
        actor=desk,
        patient=patient,
        kind=CARD,
        file=upload("scan.pdf", image_bytes(card_image(), "PNG")),
    )
    assert document.content_type == "image/png"
    assert document.file_name.endswith(".png")


def test_a_renamed_executable_is_refused_and_nothing_is_stored(desk, patient, media):
    with pytest.raises(ValidationError) as refused:
        document_upload(
            actor=desk, patient=patient, kind=CARD, file=upload("card.pdf", EXECUTABLE)
        )
    assert "file" in refused.value.message_dict
    assert not Document.objects.exists()
    assert stored_files(media) == []


def test_a_file_past_the_size_limit_is_refused_with_413(desk, patient, media, settings):
    settings.DOCUMENT_MAX_BYTES = 5000
    with pytest.raises(ApplicationError) as refused:
        document_upload(
            actor=desk,
            patient=patient,
            kind=CARD,
            file=upload("card.png", image_bytes(card_image(), "PNG")),
        )
    assert refused.value.status == 413
    assert not Document.objects.exists()
    assert stored_files(media) == []


def test_a_decompression_bomb_is_refused_unread_and_nothing_is_stored(
    desk, patient, media
):
    bomb = png_bomb()
    assert len(bomb) < 10_000  # a few kilobytes that declare 900 million pixels
    with pytest.raises(ValidationError) as refused:
        document_upload(
            actor=desk, patient=patient, kind=CARD, file=upload("x.png", bomb)
        )
    assert "pixels" in refused.value.message_dict["file"][0]
    assert not Document.objects.exists()
    assert stored_files(media) == []


def test_a_damaged_image_and_an_empty_file_are_refused(desk, patient, media):
    truncated = image_bytes(card_image(), "PNG")[:400]
    for data in (truncated, b""):
        with pytest.raises(ValidationError):
            document_upload(
                actor=desk, patient=patient, kind=CARD, file=upload("a.png", data)
            )
    assert stored_files(media) == []


def test_an_unknown_kind_is_refused(desk, patient, media):
    with pytest.raises(ValidationError) as refused:
        document_upload(
            actor=desk,
            patient=patient,
            kind="x-ray",
            file=upload("a.pdf", text_pdf(["a"])),
        )
    assert "kind" in refused.value.message_dict


def test_a_role_may_not_upload_a_kind_it_may_not_see(in_clinic, patient, media):
    billing = member(in_clinic, Role.BILLING)
    with pytest.raises(ApplicationError) as refused:
        document_upload(
            actor=billing,
            patient=patient,
            kind=Document.Kind.LAB_RESULT,
            file=upload("lab.pdf", text_pdf(LAB_LINES)),
        )
    assert refused.value.status == 403
    assert stored_files(media) == []


def test_an_appointment_of_another_patient_is_refused(desk, patient, media, sched):
    from clinic.tests.api_support import at, book

    visit = book(sched, at(10))
    with pytest.raises(ValidationError) as refused:
        document_upload(
            actor=desk,
            patient=patient,
            kind=CARD,
            file=upload("card.png", image_bytes(card_image(), "PNG")),
            appointment=visit,
        )
    assert "appointment" in refused.value.message_dict
    assert stored_files(media) == []


def test_when_the_row_cannot_be_written_the_stored_file_is_removed(desk, media):
    unsaved = Patient(first_name="Not", last_name="Saved")
    with pytest.raises(ValueError):
        document_upload(
            actor=desk,
            patient=unsaved,
            kind=CARD,
            file=upload("card.png", image_bytes(card_image(), "PNG")),
        )
    assert stored_files(media) == []
    assert not Document.objects.exists()


def test_the_storage_of_one_clinic_does_not_reach_anothers_files(
    desk, patient, media, clinic, other_clinic
):
    from django.db import connection

    from clinic.document_storage import document_storage

    document = document_upload(
        actor=desk,
        patient=patient,
        kind=CARD,
        file=upload("card.png", image_bytes(card_image(), "PNG")),
    )
    assert document_storage().exists(document.file_name)
    connection.set_tenant(other_clinic)
    try:
        assert not document_storage().exists(document.file_name)
        assert (
            document_storage()
            .path(document.file_name)
            .startswith(str(media / other_clinic.schema_name))
        )
    finally:
        connection.set_tenant(clinic)


def test_a_patient_with_documents_cannot_be_deleted(desk, patient, media):
    from django.db.models import ProtectedError

    document_upload(
        actor=desk,
        patient=patient,
        kind=CARD,
        file=upload("card.png", image_bytes(card_image(), "PNG")),
    )
    with pytest.raises(ProtectedError):
        patient.delete()
    assert PatientFactory().documents.count() == 0
