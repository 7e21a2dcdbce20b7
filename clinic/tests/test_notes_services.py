"""Clinical notes: drafted by clinicians, signed by the visit's clinician, then immutable
in the service and in the database; corrections are addenda beside the original."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from clinic.models import ClinicalNote, NoteAddendum, NoteDiagnosis, Prescription
from clinic.services.notes import (
    note_add_addendum,
    note_create,
    note_sign,
    note_update,
)
from clinic.tests.records_support import team_fixture, visit  # noqa: F401
from portal.errors import ApplicationError

RX = {
    "drug": "Amoxicillin",
    "dose": "500 mg",
    "route": "oral",
    "frequency": "three times a day",
    "quantity": 21,
    "refills": 0,
}


def _draft(team, **extra):
    data = {
        "assessment": "Acute sinusitis.",
        "plan": "Antibiotics for 7 days.",
        "diagnoses": [{"code": "j01.90", "description": "Acute sinusitis"}],
        "prescriptions": [RX],
    }
    return note_create(actor=team.doc, appointment=visit(team), **{**data, **extra})


def test_a_clinician_drafts_a_note_with_codes_stored_as_claims_carry_them(team):
    note = _draft(team)
    assert note.status == "draft" and note.patient_id == team.patient.pk
    assert list(note.diagnoses.values_list("code", flat=True)) == ["J0190"]
    (rx,) = note.prescriptions.all()
    assert (rx.drug, rx.quantity, rx.route) == ("Amoxicillin", 21, "oral")
    assert note.author_label == "Dr. Ann Able"


@pytest.mark.parametrize("code", ["123", "J0", "JJ1.9", "J06.99999", "J0.69"])
def test_a_malformed_icd10_code_is_refused_with_a_field_error(team, code):
    with pytest.raises(ValidationError) as refused:
        _draft(team, diagnoses=[{"code": code}])
    assert "diagnoses" in refused.value.message_dict
    assert not ClinicalNote.objects.exists()


def test_a_prescription_without_quantity_or_with_an_unknown_route_is_refused(team):
    with pytest.raises(ValidationError) as refused:
        _draft(team, prescriptions=[{**RX, "quantity": None, "route": "by owl"}])
    problems = " ".join(refused.value.message_dict["prescriptions"])
    assert "quantity" in problems and "route" in problems


def test_front_desk_billing_and_admins_cannot_draft(team):
    for member in (team.desk, team.billing, team.admin):
        with pytest.raises(ApplicationError) as refused:
            note_create(actor=member, appointment=visit(team), assessment="x")
        assert refused.value.status == 403


def test_a_visit_has_one_note_and_a_cancelled_visit_none(team):
    appointment = visit(team)
    note_create(actor=team.doc, appointment=appointment, assessment="x")
    with pytest.raises(ValidationError):
        note_create(actor=team.colleague, appointment=appointment, assessment="y")
    with pytest.raises(ValidationError):
        note_create(actor=team.doc, appointment=visit(team, status="cancelled"))


def test_a_draft_changes_and_its_parts_are_replaced(team):
    note = _draft(team)
    note_update(
        actor=team.colleague,
        note=note,
        plan="Watch and wait.",
        diagnoses=[{"code": "J06.9"}, {"code": "R05.1"}],
        prescriptions=[],
    )
    note.refresh_from_db()
    assert note.plan == "Watch and wait." and note.assessment == "Acute sinusitis."
    assert list(note.diagnoses.values_list("code", flat=True)) == ["J069", "R051"]
    assert not note.prescriptions.exists()


def test_only_the_visits_own_clinician_signs_when_the_provider_has_a_sign_in(team):
    note = _draft(team)
    with pytest.raises(ApplicationError) as refused:
        note_sign(actor=team.colleague, note=note)
    assert refused.value.status == 403
    with pytest.raises(ApplicationError):
        note_sign(actor=team.admin, note=note)
    signed = note_sign(actor=team.doc, note=note)
    assert signed.status == "signed" and signed.signed_by_id == team.doc.user_id


def test_any_clinician_signs_for_a_provider_without_a_sign_in(team):
    note = note_create(
        actor=team.colleague,
        appointment=visit(team, provider=team.unlinked),
        assessment="Seen by the locum.",
    )
    assert note_sign(actor=team.colleague, note=note).signed_by_label == "Ben Baker NP"


def test_an_empty_note_is_not_signed(team):
    note = note_create(actor=team.doc, appointment=visit(team))
    with pytest.raises(ValidationError):
        note_sign(actor=team.doc, note=note)


def test_a_signed_note_is_refused_by_the_service(team):
    note = note_sign(actor=team.doc, note=_draft(team))
    with pytest.raises(ApplicationError) as refused:
        note_update(actor=team.doc, note=note, plan="Changed my mind")
    assert refused.value.status == 409
    with pytest.raises(ApplicationError):
        note_sign(actor=team.doc, note=note)
    note.refresh_from_db()
    assert note.plan == "Antibiotics for 7 days."


def _refused_by_database(statement: str, params: list) -> None:
    with pytest.raises(IntegrityError, match="signed|addendum"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)


def test_the_database_refuses_any_change_to_a_signed_note_and_its_parts(team):
    note = note_sign(actor=team.doc, note=_draft(team))
    _refused_by_database(
        "UPDATE clinic_clinicalnote SET plan = 'x' WHERE id = %s", [note.pk]
    )
    _refused_by_database(
        "UPDATE clinic_clinicalnote SET status = 'draft', signed_at = NULL,"
        " signed_by_id = NULL WHERE id = %s",
        [note.pk],
    )
    _refused_by_database("DELETE FROM clinic_clinicalnote WHERE id = %s", [note.pk])
    _refused_by_database(
        "DELETE FROM clinic_notediagnosis WHERE note_id = %s", [note.pk]
    )
    _refused_by_database(
        "UPDATE clinic_prescription SET quantity = 90 WHERE note_id = %s", [note.pk]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        NoteDiagnosis.objects.create(note=note, position=9, code="Z000")
    with pytest.raises(IntegrityError), transaction.atomic():
        Prescription.objects.filter(note=note).update(refills=5)
    assert ClinicalNote.objects.get(pk=note.pk).plan == "Antibiotics for 7 days."


def test_a_draft_is_changed_freely_in_the_database(team):
    note = _draft(team)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE clinic_clinicalnote SET plan = 'x' WHERE id = %s", [note.pk]
        )
    assert ClinicalNote.objects.get(pk=note.pk).plan == "x"


def test_addenda_keep_the_original_and_are_never_changed(team):
    note = note_sign(actor=team.doc, note=_draft(team))
    addendum = note_add_addendum(
        actor=team.colleague, note=note, text="Penicillin allergy reported later."
    )
    note.refresh_from_db()
    assert note.plan == "Antibiotics for 7 days." and note.addenda.count() == 1
    assert addendum.author_label == "Ben Baker NP"
    _refused_by_database(
        "UPDATE clinic_noteaddendum SET text = 'x' WHERE id = %s", [addendum.pk]
    )
    _refused_by_database("DELETE FROM clinic_noteaddendum WHERE id = %s", [addendum.pk])


def test_a_draft_takes_no_addendum_and_front_desk_writes_none(team):
    note = _draft(team)
    with pytest.raises(ApplicationError) as refused:
        note_add_addendum(actor=team.doc, note=note, text="x")
    assert refused.value.status == 409
    with pytest.raises(IntegrityError), transaction.atomic():
        NoteAddendum.objects.create(
            note=note,
            text="x",
            author=team.doc.user,
            author_label="x",
            created_at=note.created_at,
        )
    signed = note_sign(actor=team.doc, note=note)
    with pytest.raises(ApplicationError):
        note_add_addendum(actor=team.desk, note=signed, text="x")
