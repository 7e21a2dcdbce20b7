"""Writing X12 segments: delimiters, clean values, counted segments."""

from __future__ import annotations

import re
from decimal import Decimal

ELEMENT = "*"
COMPONENT = ":"
REPETITION = "^"
TERMINATOR = "~"

# X12's extended character set, less our delimiters.
_NOT_ALLOWED = re.compile(r"[^A-Z0-9 !\"&'()+,\-./;?=%@\[\]_{}\\|<>#$]")


def clean(value: object, max_length: int | None = None) -> str:
    """Upper-case text with no delimiter and nothing outside X12's character set."""
    text = _NOT_ALLOWED.sub("", str(value or "").upper().replace("\n", " "))
    text = " ".join(text.split())
    return text[:max_length] if max_length else text


def amount(value: Decimal) -> str:
    """X12 decimal: no trailing zeros after the point, no needless point (100.5, 100)."""
    text = format(value.quantize(Decimal("0.01")), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def composite(*parts: str) -> str:
    while parts and parts[-1] == "":
        parts = parts[:-1]
    return COMPONENT.join(parts)


class Segments:
    """The segments of one interchange, and how many since the last ST."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.since_st = 0

    def add(self, segment_id: str, *elements: object) -> None:
        values = [str(e) if e is not None else "" for e in elements]
        while values and values[-1] == "":
            values.pop()
        self.lines.append(ELEMENT.join([segment_id, *values]) + TERMINATOR)
        self.since_st += 1

    def start_transaction(self) -> None:
        self.since_st = 0

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
