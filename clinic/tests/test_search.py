from datetime import date

from clinic.actors import SYSTEM
from clinic.selectors import patient_list
from clinic.services import patient_create


def test_misspelled_and_partial_names_are_found(in_clinic):
    john = patient_create(
        first_name="John",
        last_name="Smith",
        date_of_birth=date(1980, 5, 1),
        actor=SYSTEM,
    )
    patient_create(
        first_name="Maria",
        last_name="Garcia",
        date_of_birth=date(1975, 2, 3),
        actor=SYSTEM,
    )
    assert john in patient_list(q="Jonh Smiht")
    assert john in patient_list(q="smi")
    assert list(patient_list(q="Smiht"))[0] == john


def test_search_by_date_of_birth_and_phone(in_clinic):
    p = patient_create(
        first_name="Ada",
        last_name="Lovelace",
        date_of_birth=date(1990, 12, 10),
        phone="+14155550123",
        actor=SYSTEM,
    )
    assert list(patient_list(q="1990-12-10")) == [p]
    assert list(patient_list(q="12/10/1990")) == [p]
    assert list(patient_list(q="555-0123")) == [p]
