"""The code sets a claim is made of, checked for format (not for existence).

ICD-10-CM, CPT/HCPCS, modifiers, places of service and NPIs are checked the
way a clearinghouse's front end checks them: shape, and the NPI's check digit.
Whether a code exists in this year's code set is the payer's to answer.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# A letter, a digit, then a letter or digit; up to four more after the dot.
ICD10_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")
# CPT: five digits, or four digits and F (category II) or T (category III).
# HCPCS level II: a letter A-V and four digits.
PROCEDURE_RE = re.compile(r"^(?:[0-9]{4}[0-9FT]|[A-V][0-9]{4})$")
MODIFIER_RE = re.compile(r"^[0-9A-Z]{2}$")
POS_RE = re.compile(r"^[0-9]{2}$")
NPI_RE = re.compile(r"^[0-9]{10}$")
TAX_ID_RE = re.compile(r"^[0-9]{9}$")
PAYER_ID_RE = re.compile(r"^[0-9A-Z]{2,80}$")

MAX_DIAGNOSES = 12
MAX_MODIFIERS = 4
MAX_POINTERS = 4

PLACES_OF_SERVICE = {
    "02": "Telehealth (not in the patient's home)",
    "10": "Telehealth in the patient's home",
    "11": "Office",
    "12": "Home",
    "19": "Off-campus outpatient hospital",
    "20": "Urgent care facility",
    "21": "Inpatient hospital",
    "22": "On-campus outpatient hospital",
    "23": "Emergency room",
    "31": "Skilled nursing facility",
    "32": "Nursing facility",
    "49": "Independent clinic",
    "50": "Federally qualified health center",
    "71": "Public health clinic",
    "72": "Rural health clinic",
    "81": "Independent laboratory",
    "99": "Other place of service",
}


def normalize_icd10(code: str) -> str:
    """Upper case, no dot, no spaces: how claims carry ICD-10-CM codes (HI segment)."""
    return (code or "").strip().upper().replace(".", "")


def display_icd10(code: str) -> str:
    """The dotted form people read (J06.9)."""
    code = normalize_icd10(code)
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


def validate_icd10(code: str) -> None:
    raw = (code or "").strip().upper()
    if not ICD10_RE.match(raw) or (("." in raw) and raw.index(".") != 3):
        raise ValidationError(
            f"{code!r} is not an ICD-10-CM code (e.g. J06.9 or E11.65).", code="icd10"
        )


def validate_procedure(code: str) -> None:
    if not PROCEDURE_RE.match((code or "").strip().upper()):
        raise ValidationError(
            f"{code!r} is not a CPT or HCPCS code (e.g. 99213, 0001F or J3420).",
            code="procedure",
        )


def validate_modifier(code: str) -> None:
    if not MODIFIER_RE.match(code or ""):
        raise ValidationError(f"{code!r} is not a modifier (two letters or digits).")


def validate_modifiers(codes: list[str]) -> None:
    if len(codes) > MAX_MODIFIERS:
        raise ValidationError(f"At most {MAX_MODIFIERS} modifiers per line.")
    for code in codes:
        validate_modifier(code)


def validate_pos(code: str) -> None:
    if not POS_RE.match(code or ""):
        raise ValidationError(f"{code!r} is not a place-of-service code (two digits).")


def npi_check_digit(first_nine: str) -> int:
    """The Luhn check digit of an NPI, computed over the 80840 prefix + 9 digits."""
    digits = [int(d) for d in "80840" + first_nine]
    total = 0
    # Double every second digit from the right of the payload (the check digit
    # will be the rightmost, so the payload's rightmost digit is doubled).
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def npi_is_valid(npi: str) -> bool:
    return bool(NPI_RE.match(npi or "")) and npi_check_digit(npi[:9]) == int(npi[9])


def validate_npi(npi: str) -> None:
    if not NPI_RE.match(npi or ""):
        raise ValidationError("An NPI is ten digits.", code="npi")
    if not npi_is_valid(npi):
        raise ValidationError(
            f"{npi} is not a valid NPI: its check digit does not match.", code="npi"
        )


def validate_tax_id(value: str) -> None:
    if not TAX_ID_RE.match(value or ""):
        raise ValidationError("A tax id (EIN) is nine digits, without the dash.")


def validate_payer_id(value: str) -> None:
    if not PAYER_ID_RE.match(value or ""):
        raise ValidationError("A payer id is 2 to 80 capital letters or digits.")
