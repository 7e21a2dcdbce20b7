"""Field validators shared by models, forms and the API."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError


def normalize_phone(value: str, region: str | None = "US") -> str:
    """Return the E.164 form of a phone number, or raise ValidationError."""
    raw = (value or "").strip()
    try:
        parsed = phonenumbers.parse(raw, None if raw.startswith("+") else region)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            "Enter a valid phone number, e.g. +14155550123."
        ) from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError("Enter a valid phone number, e.g. +14155550123.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    """Accept only a valid number already written in E.164 form."""
    if not value:
        return
    if normalize_phone(value, region=None) != value:
        raise ValidationError("Phone numbers must be in E.164 form, e.g. +14155550123.")
