"""Fields of known kinds of documents, read from recognised lines.

Each field is a dict: value, confidence (the lowest Tesseract confidence of the
words the value was read from; 100 for a PDF's text layer), valid, problem.
A field that was not found is present with value "" and valid False, so the
review page can show what to fill in.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from clinic.extraction.lines import Line

LABELS = {
    "payer_name": "Payer",
    "member_id": "Member ID",
    "group_number": "Group",
    "collection_date": "Collection date",
    "test_names": "Tests",
}
INSURANCE_FIELDS = ("payer_name", "member_id", "group_number")
LAB_FIELDS = ("collection_date", "test_names")

_MEMBER = re.compile(
    r"(?:member|subscriber|miembro|afiliado|identification|\bID\b)[^:#\n]{0,20}?"
    r"(?:[:#]|\bno\.?|\bnumber\b|\bn[uú]mero\b)?\s*[:#]?\s*"
    r"(?P<value>[A-Z0-9][A-Z0-9-]{4,24})\b",
    re.IGNORECASE,
)
_GROUP = re.compile(
    r"(?:group|grupo|grp)[^:#\n]{0,12}?(?:[:#]|\bno\.?|\bnumber\b|\bn[uú]mero\b)?"
    r"\s*[:#]?\s*(?P<value>[A-Z0-9][A-Z0-9-]{1,19})\b",
    re.IGNORECASE,
)
_LABEL_WORDS = re.compile(
    r"member|subscriber|group|grupo|miembro|\bID\b|rx|bin|pcn|copay|effective|"
    r"issuer|phone|www|\.com|\bcard\b",
    re.IGNORECASE,
)
MEMBER_ID_RE = re.compile(r"^(?=.*\d)[A-Z0-9][A-Z0-9-]{4,24}$")
GROUP_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,19}$")

_DATE_LABEL = re.compile(
    r"(?:collect(?:ed|ion)(?:\s+date)?|specimen\s+date|date\s+collected|"
    r"fecha\s+de\s+(?:toma|recolecci[oó]n|colecci[oó]n))\s*[:#]?\s*"
    r"(?P<value>\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}|[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{4})",
    re.IGNORECASE,
)
_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m-%d-%Y", "%d.%m.%Y", "%b %d %Y", "%B %d %Y")
_RESULT_ROW = re.compile(
    r"^(?P<name>[A-Za-z][A-Za-z0-9 ,()/+-]{1,40}?)\s+[<>]?(?P<value>-?\d+(?:[.,]\d+)?)"
    r"(?:\s|$)"
)
_NOT_A_TEST = re.compile(
    r"date|collected|patient|dob|birth|phone|fax|page|npi|account|order|report|"
    r"fecha|paciente|received|reported",
    re.IGNORECASE,
)


def field(value, confidence: float, problem: str = "") -> dict:
    return {
        "value": value,
        "confidence": round(confidence, 1),
        "valid": not problem,
        "problem": problem,
    }


def missing(problem: str) -> dict:
    return {"value": "", "confidence": 0.0, "valid": False, "problem": problem}


def _first(lines: list[Line], pattern: re.Pattern) -> tuple[str, float] | None:
    for line in lines:
        match = pattern.search(line.text)
        if match:
            start, end = match.span("value")
            return match.group("value"), line.confidence_of(start, end)
    return None


# --- Insurance cards ---------------------------------------------------------------


def insurance_card(
    lines: list[Line], *, payer_names: list[str] = ()
) -> dict[str, dict]:
    return {
        "payer_name": _payer(lines, payer_names),
        "member_id": check_member_id(_first(lines, _MEMBER)),
        "group_number": check_group(_first(lines, _GROUP)),
    }


def _payer(lines: list[Line], payer_names: list[str]) -> dict:
    """A payer the clinic already bills, if its name is on the card; else the top line."""
    for name in sorted(payer_names, key=len, reverse=True):
        pattern = re.compile(r"\b" + re.escape(name) + r"\b", re.IGNORECASE)
        for line in lines:
            match = pattern.search(line.text)
            if match:
                return field(name, line.confidence_of(*match.span()))
    for line in lines[:4]:
        letters = sum(c.isalpha() for c in line.text)
        if letters >= 4 and not _LABEL_WORDS.search(line.text):
            return field(line.text.strip(" :-|"), min(w.confidence for w in line.words))
    return missing("No payer name found.")


def check_member_id(found: tuple[str, float] | None) -> dict:
    if not found:
        return missing("No member id found.")
    value = found[0].upper()
    if not MEMBER_ID_RE.match(value):
        return field(value, found[1], "A member id is 5-25 letters and digits.")
    return field(value, found[1])


def check_group(found: tuple[str, float] | None) -> dict:
    if not found:
        return missing("No group number found.")
    value = found[0].upper()
    if not GROUP_RE.match(value):
        return field(value, found[1], "A group number is 2-20 letters and digits.")
    return field(value, found[1])


# --- Lab results -----------------------------------------------------------------------


def lab_result(lines: list[Line], *, today: date) -> dict[str, dict]:
    return {
        "collection_date": check_collection_date(
            _first(lines, _DATE_LABEL), today=today
        ),
        "test_names": _tests(lines),
    }


def parse_date(text: str) -> date | None:
    cleaned = re.sub(r"[,.]", " ", text).split()
    candidates = [text, " ".join(cleaned)]
    for candidate in candidates:
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue
    return None


def check_collection_date(found: tuple[str, float] | None, *, today: date) -> dict:
    if not found:
        return missing("No collection date found.")
    parsed = parse_date(found[0])
    if parsed is None:
        return field(found[0], found[1], "Not a date.")
    if not date(1900, 1, 1) <= parsed <= today:
        return field(parsed.isoformat(), found[1], "The date is not a past date.")
    return field(parsed.isoformat(), found[1])


def _tests(lines: list[Line]) -> dict:
    names: list[str] = []
    lowest = 100.0
    for line in lines:
        match = _RESULT_ROW.match(line.text)
        if not match or _NOT_A_TEST.search(match.group("name")):
            continue
        name = match.group("name").strip(" ,:-")
        if len(name) < 2 or name in names:
            continue
        names.append(name)
        lowest = min(lowest, line.confidence_of(*match.span("name")))
    if not names:
        return missing("No test results found.")
    return field(names, lowest)


def fields_for(kind: str, lines: list[Line], *, today: date, payer_names=()) -> dict:
    if kind == "insurance_card":
        return insurance_card(lines, payer_names=list(payer_names))
    if kind == "lab_result":
        return lab_result(lines, today=today)
    return {}
