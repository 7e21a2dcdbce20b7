"""Extraction, for real: Tesseract on cards the test draws, pypdf on text PDFs.

The worker's task runs inline (eager Celery) once the upload commits; the
service under it is the one the real worker runs.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from billing.models import Payer, Policy
from clinic.document_storage import document_storage
from clinic.models import Document, Notification, Task
from clinic.selectors.documents import document_list
from clinic.services.documents import (
    document_fill_policy,
    document_retry,
    document_review,
    document_upload,
)
from clinic.tests.documents_support import (
    GROUP,
    LAB_LINES,
    MEMBER_ID,
    card_image,
    image_bytes,
    lab_page_image,
    media,  # noqa: F401 (a fixture)
    member,
    patient_fixture,  # noqa: F401 (a fixture)
    scanned_pdf,
    text_pdf,
    upload,
)
from portal.models import Membership, Role

CARD = Document.Kind.INSURANCE_CARD
LAB = Document.Kind.LAB_RESULT


@pytest.fixture
def desk(in_clinic):
    return member(in_clinic, Role.FRONT_DESK)


@pytest.fixture
def clinician(in_clinic):
    return member(in_clinic, Role.CLINICIAN)


@pytest.fixture
def extract_on_commit(eager_celery, django_capture_on_commit_callbacks):
    """Upload, then run what the commit would start (the extraction task)."""

    def run(**kwargs) -> Document:
        with django_capture_on_commit_callbacks(execute=True):
            document = document_upload(**kwargs)
        document.refresh_from_db()
        return document

    return run


def _review_tasks(document):
    return Task.objects.filter(
        kind=Task.Kind.DOCUMENT_REVIEW, source_key=f"document:{document.pk}"
    )


def test_ocr_of_an_insurance_card_finds_the_member_id_with_its_confidence(
    desk, patient, media, extract_on_commit, settings
):
    document = extract_on_commit(
        actor=desk,
        patient=patient,
        kind=CARD,
        file=upload("card.png", image_bytes(card_image(), "PNG")),
    )
    member_id = document.fields["member_id"]
    assert member_id["value"] == MEMBER_ID
    assert member_id["valid"] is True
    # Tesseract's own confidence for the words the value was read from.
    assert settings.DOCUMENT_REVIEW_CONFIDENCE <= member_id["confidence"] <= 100
    assert document.fields["group_number"]["value"] == GROUP
    assert document.fields["payer_name"]["value"] == "Acme Health Plan"
    assert document.text_method == "ocr"
    assert MEMBER_ID in document.text
    assert document.status == Document.Status.PROCESSED
    assert document.confidence == min(f["confidence"] for f in document.fields.values())
    assert not _review_tasks(document).exists()


def test_a_card_from_a_jpeg_photo_and_a_tiff_scan_reads_the_same(
    desk, patient, media, extract_on_commit
):
    for fmt, name in (("JPEG", "card.jpg"), ("TIFF", "card.tif")):
        document = extract_on_commit(
            actor=desk,
            patient=patient,
            kind=CARD,
            file=upload(name, image_bytes(card_image(), fmt)),
        )
        assert document.fields["member_id"]["value"] == MEMBER_ID


def test_a_low_quality_card_opens_a_review_task(
    desk, patient, media, extract_on_commit
):
    document = extract_on_commit(
        actor=desk,
        patient=patient,
        kind=CARD,
        file=upload("blurry.png", image_bytes(card_image(poor=True), "PNG")),
    )
    assert document.status == Document.Status.NEEDS_REVIEW
    assert document.review_reasons
    (task,) = _review_tasks(document)
    assert task.patient == patient
    assert task.state == Task.State.OPEN
    assert task.created_by_label == "System: document extraction"
    # The reasons name fields and confidences, never the values read.
    assert MEMBER_ID not in task.description
    # The front desk and admins hear of it (they may review cards); no patient named.
    told = Notification.objects.filter(kind="document_review")
    assert {n.member_id for n in told} == set(
        Membership.objects.filter(
            clinic=desk.clinic, role__in=["front_desk", "admin"], is_active=True
        ).values_list("pk", flat=True)
    )
    assert all(n.url == f"/documents/{document.pk}/" for n in told)
    assert patient.last_name not in told[0].title


def test_who_hears_of_a_review_follows_who_may_review_the_kind():
    from clinic.permissions import document_reviewer_roles

    assert document_reviewer_roles("insurance_card") == ["front_desk", "admin"]
    assert document_reviewer_roles("lab_result") == ["admin", "clinician"]


def test_a_confident_read_below_the_configured_threshold_goes_to_review(
    desk, patient, media, extract_on_commit, settings
):
    settings.DOCUMENT_REVIEW_CONFIDENCE = 100.0  # no OCR'd word is ever this sure
    document = extract_on_commit(
        actor=desk,
        patient=patient,
        kind=CARD,
        file=upload("card.png", image_bytes(card_image(), "PNG")),
    )
    assert document.status == Document.Status.NEEDS_REVIEW
    assert _review_tasks(document).count() == 1


def test_a_member_id_that_does_not_validate_goes_to_review(
    desk, patient, media, extract_on_commit
):
    document = extract_on_commit(
        actor=desk,
        patient=patient,
        kind=CARD,
        file=upload("card.png", image_bytes(card_image(member_id="ABCDEFGH"), "PNG")),
    )
    assert document.fields["member_id"]["valid"] is False
    assert document.status == Document.Status.NEEDS_REVIEW


def test_a_spanish_card_is_read_too(desk, patient, media, extract_on_commit):
    image = card_image()
    from PIL import ImageDraw

    from clinic.tests.documents_support import font

    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 150, 1011, 330), fill="white")
    draw.text((40, 190), "Número de miembro: AB7731904", fill="black", font=font(40))
    draw.text((40, 270), "Grupo: 55120", fill="black", font=font(40))
    document = extract_on_commit(
        actor=desk,
        patient=patient,
        kind=CARD,
        file=upload("tarjeta.png", image_bytes(image, "PNG")),
    )
    assert document.fields["member_id"]["value"] == "AB7731904"
    assert document.fields["group_number"]["value"] == "55120"


def test_a_text_pdf_lab_result_reads_its_text_layer_and_fields(
    clinician, patient, media, extract_on_commit
):
    document = extract_on_commit(
        actor=clinician,
        patient=patient,
        kind=LAB,
        file=upload("lab.pdf", text_pdf(LAB_LINES)),
    )
    assert document.text_method == "text_layer"
    assert document.fields["collection_date"]["value"] == "2026-03-14"
    assert document.fields["collection_date"]["confidence"] == 100.0
    assert {"Hemoglobin A1c", "Glucose", "LDL Cholesterol"} <= set(
        document.fields["test_names"]["value"]
    )
    assert document.status == Document.Status.PROCESSED


def test_a_scanned_pdf_goes_through_ocr(clinician, patient, media, extract_on_commit):
    document = extract_on_commit(
        actor=clinician,
        patient=patient,
        kind=LAB,
        file=upload("scan.pdf", scanned_pdf(lab_page_image())),
    )
    assert document.text_method == "ocr"
    assert "Glucose" in document.text
    assert document.fields["collection_date"]["value"] == "2026-03-14"


def test_the_text_is_searchable_in_the_clinic(
    clinician, patient, media, extract_on_commit
):
    lab = extract_on_commit(
        actor=clinician,
        patient=patient,
        kind=LAB,
        file=upload("lab.pdf", text_pdf(LAB_LINES)),
    )
    other = extract_on_commit(
        actor=clinician,
        patient=patient,
        kind=Document.Kind.REFERRAL,
        file=upload("ref.pdf", text_pdf(["Referral to cardiology for chest pain."])),
    )
    assert list(document_list(who=clinician, q="glucose")) == [lab]
    assert list(document_list(who=clinician, q="cardiology")) == [other]
    # The front desk does not see lab results, in search either.
    desk = member(clinician.clinic, Role.FRONT_DESK)
    assert list(document_list(who=desk, q="glucose")) == []


def test_a_missing_file_fails_the_extraction_and_can_be_retried(
    desk, patient, media, eager_celery, django_capture_on_commit_callbacks
):
    document = document_upload(
        actor=desk,
        patient=patient,
        kind=CARD,
        file=upload("card.png", image_bytes(card_image(), "PNG")),
    )
    data = document_storage().open(document.file_name).read()
    document_storage().delete(document.file_name)
    from clinic.services.documents import document_extract

    document = document_extract(document_id=document.pk)
    assert document.status == Document.Status.FAILED
    assert document.error == "Extraction failed (FileNotFoundError)."
    # Put the file back and run it again.
    document_storage().save(document.file_name, __import__("io").BytesIO(data))
    with django_capture_on_commit_callbacks(execute=True):
        document_retry(actor=desk, document=document)
    document.refresh_from_db()
    assert document.status == Document.Status.PROCESSED


def test_a_processed_document_is_not_extracted_twice(
    desk, patient, media, extract_on_commit
):
    from clinic.services.documents import document_extract

    document = extract_on_commit(
        actor=desk,
        patient=patient,
        kind=CARD,
        file=upload("card.png", image_bytes(card_image(), "PNG")),
    )
    assert document_extract(document_id=document.pk) is None


# --- Review ----------------------------------------------------------------------------


@pytest.fixture
def reviewed_card(desk, patient, media, extract_on_commit):
    return extract_on_commit(
        actor=desk,
        patient=patient,
        kind=CARD,
        file=upload("blurry.png", image_bytes(card_image(poor=True), "PNG")),
    )


def test_confirming_the_fields_closes_the_review_task(desk, reviewed_card):
    document = document_review(
        actor=desk,
        document=reviewed_card,
        values={
            "payer_name": "Acme Health Plan",
            "member_id": "xqj482913307",
            "group_number": GROUP,
        },
    )
    assert document.status == Document.Status.PROCESSED
    assert document.confirmed_fields["member_id"] == MEMBER_ID
    assert document.reviewed_by == desk.user
    (task,) = _review_tasks(document)
    assert task.state == Task.State.DONE
    assert task.events.last().by == desk.user


def test_a_correction_that_does_not_validate_is_refused_by_field(desk, reviewed_card):
    with pytest.raises(ValidationError) as refused:
        document_review(
            actor=desk,
            document=reviewed_card,
            values={"payer_name": "", "member_id": "12", "group_number": "!!"},
        )
    assert set(refused.value.message_dict) == {
        "payer_name",
        "member_id",
        "group_number",
    }
    reviewed_card.refresh_from_db()
    assert reviewed_card.status == Document.Status.NEEDS_REVIEW
    assert _review_tasks(reviewed_card).get().state == Task.State.OPEN


def test_a_role_that_may_not_see_the_kind_may_not_review_it(
    clinician, patient, media, extract_on_commit
):
    from portal.errors import ApplicationError

    lab = extract_on_commit(
        actor=clinician,
        patient=patient,
        kind=LAB,
        file=upload("lab.pdf", text_pdf(LAB_LINES)),
    )
    billing = member(clinician.clinic, Role.BILLING)
    with pytest.raises(ApplicationError) as refused:
        document_review(actor=billing, document=lab, values={})
    assert refused.value.status == 403


def test_confirmed_card_fields_fill_the_patients_policy(desk, reviewed_card):
    payer = Payer.objects.create(name="Acme Health Plan", payer_id="ACME1")
    with pytest.raises(ValidationError):  # not confirmed yet
        document_fill_policy(actor=desk, document=reviewed_card, payer=payer)
    document = document_review(
        actor=desk,
        document=reviewed_card,
        values={
            "payer_name": "Acme Health Plan",
            "member_id": MEMBER_ID,
            "group_number": GROUP,
        },
    )
    policy = document_fill_policy(actor=desk, document=document, payer=payer)
    policy = Policy.objects.get(pk=policy.pk)
    assert policy.member_id == MEMBER_ID  # decrypted by billing's field
    assert policy.group_number == GROUP
    assert policy.patient == document.patient
    # A second card updates the same primary policy instead of adding one.
    again = document_fill_policy(actor=desk, document=document, payer=payer)
    assert again.pk == policy.pk
    assert Policy.objects.filter(patient=document.patient).count() == 1


def test_a_clinician_may_see_the_card_but_billing_rules_decide_the_policy(
    clinician, reviewed_card, desk
):
    from portal.errors import ApplicationError

    payer = Payer.objects.create(name="Acme Health Plan", payer_id="ACME1")
    document = document_review(
        actor=desk,
        document=reviewed_card,
        values={
            "payer_name": "Acme Health Plan",
            "member_id": MEMBER_ID,
            "group_number": GROUP,
        },
    )
    with pytest.raises(ApplicationError) as refused:
        document_fill_policy(actor=clinician, document=document, payer=payer)
    assert refused.value.status == 403
    assert not Policy.objects.exists()
