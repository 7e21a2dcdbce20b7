"""Postal addresses as claims carry them (N3 street, N4 city, state, ZIP)."""

from __future__ import annotations

import re
from typing import NamedTuple

_LAST_LINE = re.compile(
    r"^(?P<city>[^,\n]+),\s*(?P<state>[A-Za-z]{2})\s+(?P<zip>\d{5})(?:-?(?P<plus4>\d{4}))?$"
)


class PostalAddress(NamedTuple):
    street: str
    city: str
    state: str
    postal_code: str


def parse_address(text: str) -> PostalAddress | None:
    """'street\\ncity, ST 12345[-6789]' (the patient record's form), or None."""
    lines = [
        line.strip()
        for line in (text or "").replace("\r", "").split("\n")
        if line.strip()
    ]
    if len(lines) == 1 and lines[0].count(",") >= 2:
        street, rest = lines[0].split(",", 1)
        lines = [street.strip(), rest.strip()]
    if len(lines) < 2:
        return None
    match = _LAST_LINE.match(lines[-1])
    if not match:
        return None
    street = " ".join(lines[:-1])[:55]
    postal = match["zip"] + (match["plus4"] or "")
    return PostalAddress(
        street, match["city"].strip()[:30], match["state"].upper(), postal
    )
