"""The one place the portal talks to Twilio (or the carrier simulator standing in).

Credentials come from settings, the API base from TWILIO_API_BASE (the
simulator in development, https://api.twilio.com in production), and each
clinic sends from its own number (`Clinic.main_phone`). Errors are sorted
into three kinds, because each is handled differently by the outbox:

- `Refused`: the provider answered no and nothing was sent. Permanent for
  the codes in PERMANENT_CODES (a bad number, an opted-out number, a
  landline), worth retrying later for the rest (limits, credentials).
- `Unknown`: the request may or may not have reached the provider (a
  timeout, a dropped connection, a 5xx). The row stays "sending" and is
  reconciled against the provider's message list before anything is resent.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

logger = logging.getLogger(__name__)

# 21211 invalid number, 21610 opted out at the carrier, 21614 not a mobile,
# 21612 unreachable by SMS, 21408 region not enabled, 21617 body too long,
# 21602 no body, 21604 no To.
PERMANENT_CODES = frozenset({21211, 21610, 21614, 21612, 21408, 21617, 21602, 21604})
OPTED_OUT_CODE = 21610
MAX_VALIDITY_SECONDS = 36000  # Twilio's largest ValidityPeriod


@dataclass(frozen=True)
class ProviderMessage:
    """What the provider holds of one message."""

    sid: str
    status: str
    to: str
    from_: str
    body: str
    segments: int | None = None
    error_code: int | None = None
    error_message: str = ""
    date_created: datetime | None = None


class GatewayError(Exception):
    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Refused(GatewayError):
    """The provider answered no: nothing was sent."""

    @property
    def permanent(self) -> bool:
        return self.code in PERMANENT_CODES


class Unknown(GatewayError):
    """The outcome is unknown: the provider may have accepted the message."""


_local = threading.local()


def client() -> Client:
    """A Twilio client for this thread, pointed at TWILIO_API_BASE (connections kept)."""
    key = (
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_API_BASE,
    )
    cached = getattr(_local, "client", None)
    if cached is None or cached[0] != key:
        http = TwilioHttpClient(
            pool_connections=True, timeout=settings.TWILIO_HTTP_TIMEOUT_SECONDS
        )
        twilio = Client(
            settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http
        )
        # Every 2010-04-01 resource URL is built from the Api domain's base_url.
        twilio.api.base_url = settings.TWILIO_API_BASE.rstrip("/")
        _local.client = cached = (key, twilio)
    return cached[1]


def _as_message(resource) -> ProviderMessage:
    return ProviderMessage(
        sid=resource.sid,
        status=resource.status,
        to=resource.to,
        from_=resource.from_ or "",
        body=resource.body or "",
        segments=int(resource.num_segments) if resource.num_segments else None,
        error_code=int(resource.error_code) if resource.error_code else None,
        error_message=resource.error_message or "",
        date_created=resource.date_created,
    )


def sms_send(
    *,
    to: str,
    from_: str,
    body: str,
    status_callback: str,
    validity_seconds: int | None,
) -> ProviderMessage:
    """Ask the provider to send one text; raises Refused or Unknown."""
    params: dict = {
        "to": to,
        "from_": from_,
        "body": body,
        "status_callback": status_callback,
    }
    if validity_seconds:
        params["validity_period"] = max(
            1, min(MAX_VALIDITY_SECONDS, int(validity_seconds))
        )
    try:
        return _as_message(client().messages.create(**params))
    except TwilioRestException as exc:
        if exc.status >= 500:
            raise Unknown(f"Provider error {exc.status}", code=exc.code) from exc
        raise Refused(exc.msg or str(exc), code=exc.code) from exc
    except requests.exceptions.ConnectTimeout as exc:
        raise Refused("The provider could not be reached.") from exc
    except requests.exceptions.ConnectionError as exc:
        if _never_connected(exc):
            raise Refused("The provider could not be reached.") from exc
        raise Unknown("The connection to the provider broke.") from exc
    except (requests.exceptions.RequestException, TwilioException) as exc:
        raise Unknown(f"No answer from the provider: {type(exc).__name__}") from exc


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """A refused or unresolvable connection: the request never left."""
    text = repr(exc.args[0]) if exc.args else ""
    return any(
        s in text
        for s in ("NewConnectionError", "Connection refused", "NameResolution")
    )


def sms_sent_to(*, to: str, from_: str, since: datetime) -> list[ProviderMessage]:
    """The provider's messages from one number to another since a moment (newest first)."""
    # DateSent filters by day (GMT): ask from the day before, then compare exactly.
    after = (since - timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    try:
        found = client().messages.list(
            to=to, from_=from_, date_sent_after=after, page_size=200
        )
    except (TwilioException, requests.exceptions.RequestException) as exc:
        raise Unknown(f"The provider's message list could not be read: {exc}") from exc
    return [
        m
        for m in map(_as_message, found)
        if m.date_created is None or m.date_created >= since
    ]


def signature_valid(*, url: str, params, signature: str) -> bool:
    """Whether a webhook was signed by our account for exactly this URL and body."""
    if not signature:
        return False
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature)


# --- Voice calls ------------------------------------------------------------------

CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


def call_place(
    *,
    to: str,
    from_: str,
    url: str,
    status_callback: str,
    amd_callback: str | None,
) -> str:
    """Ask the provider to place a call; its SID. Raises Refused or Unknown.

    Status callbacks for every stage, and answering-machine detection that
    waits for the beep (DetectMessageEnd) and reports on its own callback
    while the call already runs its TwiML (AsyncAmd).
    """
    params: dict = {
        "to": to,
        "from_": from_,
        "url": url,
        "method": "POST",
        "status_callback": status_callback,
        "status_callback_event": CALL_EVENTS,
        "status_callback_method": "POST",
    }
    if amd_callback:
        params.update(
            machine_detection="DetectMessageEnd",
            async_amd="true",
            async_amd_status_callback=amd_callback,
            async_amd_status_callback_method="POST",
        )
    try:
        return client().calls.create(**params).sid
    except TwilioRestException as exc:
        if exc.status >= 500:
            raise Unknown(f"Provider error {exc.status}", code=exc.code) from exc
        raise Refused(exc.msg or str(exc), code=exc.code) from exc
    except requests.exceptions.ConnectTimeout as exc:
        raise Refused("The provider could not be reached.") from exc
    except requests.exceptions.ConnectionError as exc:
        if _never_connected(exc):
            raise Refused("The provider could not be reached.") from exc
        raise Unknown("The connection to the provider broke.") from exc
    except (requests.exceptions.RequestException, TwilioException) as exc:
        raise Unknown(f"No answer from the provider: {type(exc).__name__}") from exc


def call_update(*, sid: str, status: str | None = None, twiml: str = "") -> str:
    """End a live call (status "completed"), or give it new TwiML; its status."""
    params: dict = {}
    if status:
        params["status"] = status
    if twiml:
        params["twiml"] = twiml
    try:
        return client().calls(sid).update(**params).status
    except TwilioRestException as exc:
        raise Refused(exc.msg or str(exc), code=exc.code) from exc
    except (requests.exceptions.RequestException, TwilioException) as exc:
        raise Unknown(f"No answer from the provider: {type(exc).__name__}") from exc
