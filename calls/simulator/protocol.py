"""Twilio's vocabulary as the simulator speaks it: constants, error JSON, number rules."""

from __future__ import annotations

import functools
import secrets
import time
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

API_VERSION = "2010-04-01"
ERROR_DOCS = "https://www.twilio.com/docs/errors/{code}"
BODY_LIMIT = 1600

STOP_WORDS = {
    "STOP",
    "STOPALL",
    "STOP ALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "REVOKE",
}
START_WORDS = {"START", "UNSTOP", "YES"}
HELP_WORDS = {"HELP", "INFO"}

# Twilio's magic test numbers (https://www.twilio.com/docs/iam/test-credentials).
MAGIC_SMS_ERRORS = {
    "+15005550001": (
        21211,
        "The 'To' number +15005550001 is not a valid phone number.",
    ),
    "+15005550002": (
        21612,
        "The 'To' phone number is not currently reachable via SMS.",
    ),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}
MAGIC_CALL_ERRORS = {
    "+15005550001": (21211, "Invalid 'To' Phone Number: +15005550001"),
    "+15005550003": (21215, "Account not authorized to call +15005550003."),
}

MESSAGE_OUTCOMES = {"delivered", "undelivered", "failed", "stuck"}
# How status callbacks of texts to a number are posted (tests of our webhooks):
# twice each, all of them in reverse order once the last is known, or an
# earlier one again after a delay once the message is final.
CALLBACK_MODES = {"normal", "duplicate", "out_of_order", "late"}
# A message still queued when its ValidityPeriod ends is failed with this code.
VALIDITY_EXPIRED = (
    30001,
    "Queue overflow: the message expired in the queue (ValidityPeriod)",
)
CALL_OUTCOMES = {"completed", "busy", "no-answer", "failed"}
CALL_EVENTS = {"initiated", "ringing", "answered", "completed"}
CALL_FINAL = {"completed", "busy", "no-answer", "failed", "canceled"}


class SimulatorError(Exception):
    """A refusal answered with Twilio's error JSON."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": ERROR_DOCS.format(code=self.code),
            "status": self.status,
        }


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def rfc2822(ts: float | None = None) -> str:
    return formatdate(ts if ts is not None else time.time(), usegmt=False).replace(
        "-0000", "+0000"
    )


@functools.lru_cache(maxsize=65536)
def parse_e164(value: str) -> phonenumbers.PhoneNumber | None:
    """The number when `value` is a valid number written in E.164, else None."""
    value = (value or "").strip()
    if not value.startswith("+"):
        return None
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) != value:
        return None
    return parsed


def is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def mask(number: str) -> str:
    """Numbers in logs keep only their last two digits (no PHI in logs)."""
    return "***" + number[-2:] if number else "-"


def form_value(form: dict[str, list[str]], name: str) -> str:
    """The first value of a form-encoded parameter, or ""."""
    values = form.get(name)
    return values[0] if values else ""


def national(number: str) -> str:
    parsed = parse_e164(number)
    if parsed is None:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def country(number: str) -> str:
    parsed = parse_e164(number)
    return (phonenumbers.region_code_for_number(parsed) or "") if parsed else ""
