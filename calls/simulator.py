"""The carrier simulator: a local stand-in for the part of Twilio's REST API we use.

It answers the real `twilio` library over HTTP, so the portal's gateway code is
the same in development, tests and production; only the API base changes:

    client = twilio.rest.Client(account_sid, auth_token)
    client.api.base_url = "http://127.0.0.1:8099"   # settings.TWILIO_API_BASE

What it speaks (API version 2010-04-01, HTTP basic auth with the account SID
and auth token, form-encoded requests, JSON answers shaped like Twilio's):

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``: To, From, Body,
  StatusCallback (MessagingServiceSid stands in for From).
- ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json``: To, From, Url or
  Twiml, StatusCallback, StatusCallbackEvent, StatusCallbackMethod, Method.
- ``GET .../Messages/{Sid}.json`` and ``GET .../Calls/{Sid}.json``.
- ``POST .../Calls/{Sid}.json`` with Status=completed or canceled (hang up).

Refusals carry Twilio's error JSON ``{"code", "message", "more_info",
"status"}``, which the library raises as ``TwilioRestException``: 20003 bad
credentials, 20404 unknown resource, 21211 invalid To, 21212 invalid From,
21602 no Body, 21610 the recipient texted STOP, 21612/21614 unreachable or not
a mobile (Twilio's magic test numbers +15005550002 and +15005550009), and a
few more.

After answering, a background thread moves the resource through its states
and posts each one to StatusCallback, signed like Twilio does it
(``X-Twilio-Signature``, computed by ``twilio.request_validator``):

- messages: queued -> sent -> delivered (or undelivered / failed);
- calls: initiated -> ringing -> in-progress -> completed (or busy, no-answer,
  failed, canceled). As on Twilio, a call reports only the events named in
  StatusCallbackEvent (initiated, ringing, answered, completed), and only
  ``completed`` when none are named. When answered, a call with a Url fetches
  its TwiML from it (signed too).

Helpers for development and tests, under ``/_sim/`` (no auth; the simulator
listens on loopback):

- ``POST /_sim/inbound`` (From, To, Body, optional Url): a patient texts the
  clinic. The simulator posts Twilio's inbound-SMS webhook, signed, to Url, to
  the URL registered for the To number, or to the default inbound URL.
  STOP/UNSUBSCRIBE/... adds the pair to the opt-out set (later sends get
  21610), START/UNSTOP/YES removes it; the webhook is still forwarded.
- ``POST /_sim/numbers`` (PhoneNumber, SmsUrl): where inbound texts to a
  number go.
- ``POST /_sim/outcome`` (Number, Outcome): what happens to sends to a number
  (delivered, undelivered, failed for texts; completed, busy, no-answer,
  failed for calls; an empty Outcome clears it).
- ``GET /_sim/state``: messages, calls, opt-outs, outcomes as JSON.
- ``POST /_sim/reset``: forget everything.

Host names ending in ``.localhost`` (``demo.localhost``) are delivered to
127.0.0.1 with the original Host header, as browsers do (RFC 6761).
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import phonenumbers
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)

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

MESSAGE_OUTCOMES = {"delivered", "undelivered", "failed"}
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


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _mask(number: str) -> str:
    """Numbers in logs keep only their last two digits (no PHI in logs)."""
    return "***" + number[-2:] if number else "-"


@dataclass
class Delivery:
    """One webhook the simulator posted, and what came back."""

    url: str
    params: dict[str, str]
    status: int | None
    body: str = ""
    error: str = ""


@dataclass
class _Call:
    resource: dict[str, Any]
    url: str
    method: str
    twiml: str
    callback: str
    callback_method: str
    events: set[str]
    hangup: threading.Event = field(default_factory=threading.Event)
    sequence: itertools.count = field(default_factory=itertools.count)
    fetched_twiml: str = ""
    answered_at: float | None = None
    ended: bool = False  # the final status is set
    reported: bool = False  # the final status callback went out


class CarrierSimulator:
    """A threaded HTTP server speaking Twilio's Messages and Calls API, in memory."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        host: str = "127.0.0.1",
        port: int = 8099,
        step_delay: float = 0.3,
        inbound_url: str = "",
        answer_after: float | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.validator = RequestValidator(auth_token)
        self.step_delay = step_delay
        self.answer_after = step_delay if answer_after is None else answer_after
        self.inbound_url = inbound_url
        self.lock = threading.RLock()
        self.messages: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, _Call] = {}
        self.opt_outs: set[tuple[str, str]] = set()  # (subscriber, our number)
        self.outcomes: dict[str, str] = {}
        self.numbers: dict[str, str] = {}  # our number -> inbound SMS webhook URL
        self.deliveries: list[Delivery] = []
        self._workers: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- Life cycle ---------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> CarrierSimulator:
        """Serve in a background thread (tests); returns self."""
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="carrier-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self._stopping.set()
        with self.lock:
            for call in self.calls.values():
                call.hangup.set()
        self.server.shutdown()
        self.server.server_close()
        for worker in list(self._workers):
            worker.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> CarrierSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        with self.lock:
            for call in self.calls.values():
                call.hangup.set()
            self.messages.clear()
            self.calls.clear()
            self.opt_outs.clear()
            self.outcomes.clear()
            self.numbers.clear()
            self.deliveries.clear()

    # --- The REST API -------------------------------------------------------

    def message_create(self, form: dict[str, list[str]]) -> dict[str, Any]:
        to = _one(form, "To")
        sender = _one(form, "From")
        service = _one(form, "MessagingServiceSid")
        body = _one(form, "Body")
        media = form.get("MediaUrl", [])
        callback = _one(form, "StatusCallback")
        if not to:
            raise SimulatorError(21604, "A 'To' phone number is required.")
        if not sender and not service:
            raise SimulatorError(21603, "A 'From' phone number is required.")
        if to in MAGIC_SMS_ERRORS:
            raise SimulatorError(*MAGIC_SMS_ERRORS[to])
        if parse_e164(to) is None:
            raise SimulatorError(
                21211, f"The 'To' number {to} is not a valid phone number."
            )
        if sender and parse_e164(sender) is None:
            raise SimulatorError(
                21212, f"The 'From' number {sender} is not a valid phone number."
            )
        if not body and not media:
            raise SimulatorError(21602, "Message body is required.")
        if len(body) > BODY_LIMIT:
            raise SimulatorError(
                21617,
                f"The concatenated message body exceeds the {BODY_LIMIT} character limit.",
            )
        if callback and not _is_http_url(callback):
            raise SimulatorError(21609, f"Invalid StatusCallback URL: {callback}")
        with self.lock:
            if (to, sender or service) in self.opt_outs:
                raise SimulatorError(21610, "Attempt to send to unsubscribed recipient")
            outcome = self.outcomes.get(to, "delivered")
            sid = new_sid("SM")
            now = rfc2822()
            resource = {
                "account_sid": self.account_sid,
                "api_version": API_VERSION,
                "body": body,
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": sender or None,
                "messaging_service_sid": service or None,
                "num_media": str(len(media)),
                "num_segments": str(1 if len(body) <= 160 else -(-len(body) // 153)),
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "subresource_uris": {
                    "media": f"{self._account_path()}/Messages/{sid}/Media.json"
                },
                "to": to,
                "uri": f"{self._account_path()}/Messages/{sid}.json",
            }
            self.messages[sid] = resource
        logger.info("message %s to %s queued", sid, _mask(to))
        self._after_response(lambda: self._progress_message(sid, callback, outcome))
        return dict(resource)

    def call_create(self, form: dict[str, list[str]]) -> dict[str, Any]:
        to = _one(form, "To")
        sender = _one(form, "From")
        url = _one(form, "Url")
        twiml = _one(form, "Twiml")
        callback = _one(form, "StatusCallback")
        events = {e for raw in form.get("StatusCallbackEvent", []) for e in raw.split()}
        if not to:
            raise SimulatorError(21201, "No 'To' number is specified")
        if not sender:
            raise SimulatorError(21213, "No 'From' number is specified")
        if to in MAGIC_CALL_ERRORS:
            raise SimulatorError(*MAGIC_CALL_ERRORS[to])
        if parse_e164(to) is None:
            raise SimulatorError(21211, f"Invalid 'To' Phone Number: {to}")
        if parse_e164(sender) is None:
            raise SimulatorError(21212, f"Invalid 'From' Phone Number: {sender}")
        if not url and not twiml and not _one(form, "ApplicationSid"):
            raise SimulatorError(21205, "Url, Twiml or ApplicationSid is required.")
        if url and not _is_http_url(url):
            raise SimulatorError(21205, f"Url is not a valid URL: {url}")
        if callback and not _is_http_url(callback):
            raise SimulatorError(21609, f"Invalid StatusCallback URL: {callback}")
        if events - CALL_EVENTS:
            raise SimulatorError(
                21626,
                "Invalid StatusCallbackEvent: "
                + ", ".join(sorted(events - CALL_EVENTS)),
            )
        with self.lock:
            outcome = self.outcomes.get(to, "completed")
            sid = new_sid("CA")
            now = rfc2822()
            resource = {
                "account_sid": self.account_sid,
                "annotation": None,
                "answered_by": None,
                "api_version": API_VERSION,
                "caller_name": None,
                "date_created": now,
                "date_updated": now,
                "direction": "outbound-api",
                "duration": None,
                "end_time": None,
                "forwarded_from": None,
                "from": sender,
                "from_formatted": _national(sender),
                "group_sid": None,
                "parent_call_sid": None,
                "phone_number_sid": None,
                "price": None,
                "price_unit": "USD",
                "queue_time": "0",
                "sid": sid,
                "start_time": None,
                "status": "queued",
                "subresource_uris": {
                    "notifications": f"{self._account_path()}/Calls/{sid}/Notifications.json",
                    "recordings": f"{self._account_path()}/Calls/{sid}/Recordings.json",
                },
                "to": to,
                "to_formatted": _national(to),
                "trunk_sid": None,
                "uri": f"{self._account_path()}/Calls/{sid}.json",
            }
            self.calls[sid] = _Call(
                resource=resource,
                url=url,
                method=(_one(form, "Method") or "POST").upper(),
                twiml=twiml,
                callback=callback,
                callback_method=(_one(form, "StatusCallbackMethod") or "POST").upper(),
                events=events or {"completed"},
            )
        logger.info("call %s to %s queued", sid, _mask(to))
        self._after_response(lambda: self._progress_call(sid, outcome))
        return dict(resource)

    def call_update(self, sid: str, form: dict[str, list[str]]) -> dict[str, Any]:
        """Hang up: Status=canceled ends a call not yet answered, completed any call."""
        status = _one(form, "Status")
        if status and status not in ("completed", "canceled"):
            raise SimulatorError(21218, f"Invalid Status: {status}")
        with self.lock:
            call = self.calls.get(sid)
            if call is None:
                raise SimulatorError(
                    20404,
                    f"The requested resource {self._call_path(sid)} was not found",
                    404,
                )
            # As on Twilio, canceling an answered call changes nothing.
            if status == "completed" or (status == "canceled" and not call.answered_at):
                self._close(call, None)
                call.hangup.set()
        return self.resource_of_call(sid)

    def resource_of_message(self, sid: str) -> dict[str, Any]:
        with self.lock:
            resource = self.messages.get(sid)
            if resource is None:
                raise SimulatorError(
                    20404,
                    f"The requested resource {self._account_path()}/Messages/{sid}.json was not found",
                    404,
                )
            return dict(resource)

    def resource_of_call(self, sid: str) -> dict[str, Any]:
        with self.lock:
            call = self.calls.get(sid)
            if call is None:
                raise SimulatorError(
                    20404,
                    f"The requested resource {self._call_path(sid)} was not found",
                    404,
                )
            return dict(call.resource)

    # --- Inbound texts ------------------------------------------------------

    def inbound_sms(
        self, *, from_: str, to: str, body: str, url: str = ""
    ) -> dict[str, Any]:
        """A patient texts one of our numbers: update opt-outs and post the webhook."""
        if parse_e164(from_) is None or parse_e164(to) is None:
            raise SimulatorError(21211, "From and To must be valid E.164 numbers.")
        word = " ".join(body.strip().upper().split())
        opt_out_type = ""
        with self.lock:
            if word in STOP_WORDS:
                self.opt_outs.add((from_, to))
                opt_out_type = "STOP"
            elif word in START_WORDS:
                self.opt_outs.discard((from_, to))
                opt_out_type = "START"
            elif word in HELP_WORDS:
                opt_out_type = "HELP"
            target = url or self.numbers.get(to) or self.inbound_url
        sid = new_sid("SM")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": from_,
            "FromCountry": _country(from_),
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": to,
            "ToCountry": _country(to),
        }
        if opt_out_type:
            params["OptOutType"] = opt_out_type
        result: dict[str, Any] = {"sid": sid, "opted_out": (from_, to) in self.opt_outs}
        if not target:
            result.update(
                webhook=None,
                detail="No inbound URL: pass Url, register the number or start with --inbound-url.",
            )
            return result
        delivery = self.post_webhook(target, params)
        result.update(
            webhook=target, webhook_status=delivery.status, webhook_body=delivery.body
        )
        if delivery.error:
            result["webhook_error"] = delivery.error
        return result

    # --- Webhooks -------------------------------------------------------------

    def sign(self, url: str, params: dict[str, str]) -> str:
        return self.validator.compute_signature(url, params)

    def post_webhook(
        self, url: str, params: dict[str, str], method: str = "POST"
    ) -> Delivery:
        """Send one signed webhook the way Twilio does; never raises."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        # *.localhost is loopback (RFC 6761); the resolver here may not know it.
        connect_host = (
            "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host
        )
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = parts.path or "/"
        if method == "GET":
            query = "&".join(q for q in (parts.query, urlencode(params)) if q)
            signed_url = f"{parts.scheme}://{parts.netloc}{path}?{query}"
            signature = self.sign(signed_url, {})
            target, payload = f"{path}?{query}", None
        else:
            signature = self.sign(url, params)
            target = path + (f"?{parts.query}" if parts.query else "")
            payload = urlencode(params).encode()
        headers = {
            "Host": parts.netloc,
            "User-Agent": "TwilioProxy/1.1",
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
            "Accept": "*/*",
        }
        if payload is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        connection_class = (
            http.client.HTTPSConnection
            if parts.scheme == "https"
            else http.client.HTTPConnection
        )
        delivery = Delivery(url=url, params=dict(params), status=None)
        try:
            conn = connection_class(connect_host, port, timeout=10)
            try:
                conn.request(method, target, body=payload, headers=headers)
                response = conn.getresponse()
                delivery.status = response.status
                delivery.body = response.read(64 * 1024).decode("utf-8", "replace")
            finally:
                conn.close()
        except OSError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
            logger.warning("webhook to %s failed: %s", url, delivery.error)
        else:
            if delivery.status >= 400:
                logger.warning("webhook to %s answered %s", url, delivery.status)
        with self.lock:
            self.deliveries.append(delivery)
        return delivery

    # --- Progress in the background -------------------------------------------

    def _after_response(self, job: Callable[[], None]) -> None:
        """Run `job` once the current answer has been written (see _Handler)."""
        pending = getattr(_local, "after", None)
        if pending is None:
            self._spawn(job)
        else:
            pending.append(job)

    def _spawn(self, job: Callable[[], None]) -> None:
        worker = threading.Thread(target=job, name="carrier-progress", daemon=True)
        with self.lock:
            self._workers = [w for w in self._workers if w.is_alive()]
            self._workers.append(worker)
        worker.start()

    def _wait(self, seconds: float, hangup: threading.Event | None = None) -> bool:
        """Sleep between states; True when the call was hung up or we are stopping."""
        if hangup is not None:
            return hangup.wait(seconds) or self._stopping.is_set()
        return self._stopping.wait(seconds)

    def _progress_message(self, sid: str, callback: str, outcome: str) -> None:
        steps = ["queued", "sent"]
        steps.append(outcome if outcome in MESSAGE_OUTCOMES else "delivered")
        if outcome == "failed":
            steps = ["queued", "failed"]
        for index, status in enumerate(steps):
            if index and self._wait(self.step_delay):
                return
            with self.lock:
                resource = self.messages.get(sid)
                if resource is None:
                    return
                resource["status"] = status
                resource["date_updated"] = rfc2822()
                if status == "sent":
                    resource["date_sent"] = resource["date_updated"]
                    resource["price"] = "-0.00790"
                if status in ("undelivered", "failed"):
                    resource["error_code"] = 30003 if status == "undelivered" else 30008
                    resource["error_message"] = (
                        "Unreachable destination handset"
                        if status == "undelivered"
                        else "Unknown error"
                    )
                snapshot = dict(resource)
            if not callback:
                continue
            params = {
                "AccountSid": self.account_sid,
                "ApiVersion": API_VERSION,
                "From": snapshot["from"] or "",
                "MessageSid": sid,
                "MessageStatus": status,
                "SmsSid": sid,
                "SmsStatus": status,
                "To": snapshot["to"],
            }
            if snapshot["messaging_service_sid"]:
                params["MessagingServiceSid"] = snapshot["messaging_service_sid"]
            if snapshot["error_code"]:
                params["ErrorCode"] = str(snapshot["error_code"])
            self.post_webhook(callback, params)

    def _progress_call(self, sid: str, outcome: str) -> None:
        with self.lock:
            call = self.calls[sid]
        for status, event in (("initiated", "initiated"), ("ringing", "ringing")):
            if self._wait(self.step_delay, call.hangup) or not self._advance(
                call, status, event
            ):
                return self._end_call(call)
        if outcome in ("busy", "no-answer", "failed"):
            if self._wait(self.step_delay, call.hangup):
                return self._end_call(call)
            return self._end_call(call, outcome)
        if self._wait(self.answer_after, call.hangup) or not self._advance(
            call, "in-progress", "answered"
        ):
            return self._end_call(call)
        if call.url:
            params = self._call_params(call, "in-progress")
            call.fetched_twiml = self.post_webhook(call.url, params, call.method).body
        # The call "talks" for two steps unless someone hangs up first.
        self._wait(self.step_delay * 2, call.hangup)
        self._end_call(call, "completed")

    def _call_params(self, call: _Call, status: str) -> dict[str, str]:
        resource = call.resource
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": resource["sid"],
            "CallStatus": status,
            "Called": resource["to"],
            "Caller": resource["from"],
            "Direction": "outbound-api",
            "From": resource["from"],
            "To": resource["to"],
        }

    def _advance(self, call: _Call, status: str, event: str) -> bool:
        """Move a live call to `status` and report it; False once the call has ended."""
        with self.lock:
            if call.ended:
                return False
            now = time.time()
            call.resource["status"] = status
            call.resource["date_updated"] = rfc2822(now)
            if status == "in-progress":
                call.answered_at = now
                call.resource["start_time"] = rfc2822(now)
        self._report(call, status, event)
        return True

    def _close(self, call: _Call, outcome: str | None) -> None:
        """Give the call its final status (under self.lock); hang-ups land here too."""
        if call.ended:
            return
        answered = call.answered_at is not None
        final = outcome or ("completed" if answered else "canceled")
        if final == "completed" and not answered:
            final = "canceled"
        now = time.time()
        duration = round(now - call.answered_at) if answered else 0
        if answered:
            duration = max(1, duration)
        call.ended = True
        call.resource.update(
            status=final,
            duration=str(duration),
            end_time=rfc2822(now),
            date_updated=rfc2822(now),
        )

    def _end_call(self, call: _Call, outcome: str | None = None) -> None:
        """Close the call (unless a hang-up did) and report its end, once."""
        with self.lock:
            self._close(call, outcome)
            if call.reported:
                return
            call.reported = True
            final = call.resource["status"]
            duration = int(call.resource["duration"])
        extra = {"CallDuration": str(duration), "Duration": str(-(-duration // 60))}
        sip = {"completed": "200", "busy": "486", "no-answer": "487", "failed": "500"}
        if final in sip:
            extra["SipResponseCode"] = sip[final]
        self._report(call, final, "completed", extra)

    def _report(
        self, call: _Call, status: str, event: str, extra: dict[str, str] | None = None
    ) -> None:
        """Post one status callback, when the call asked for this event."""
        if not call.callback or event not in call.events or self._stopping.is_set():
            return
        params = self._call_params(call, status)
        params.update(
            CallbackSource="call-progress-events",
            SequenceNumber=str(next(call.sequence)),
            Timestamp=rfc2822(),
        )
        params.update(extra or {})
        self.post_webhook(call.callback, params, call.callback_method)

    def _account_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}"

    def _call_path(self, sid: str) -> str:
        return f"{self._account_path()}/Calls/{sid}.json"

    # --- HTTP ---------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        simulator = self

        class Handler(_Handler):
            sim = simulator

        return Handler

    def check_auth(self, header: str, account_in_path: str) -> None:
        expected = (
            "Basic "
            + base64.b64encode(
                f"{self.account_sid}:{self.auth_token}".encode()
            ).decode()
        )
        if not header or not secrets.compare_digest(header.encode(), expected.encode()):
            raise SimulatorError(20003, "Authenticate", 401)
        if account_in_path != self.account_sid:
            raise SimulatorError(
                20404,
                f"The requested resource /{API_VERSION}/Accounts/{account_in_path} was not found",
                404,
            )

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "messages": list(self.messages.values()),
                "calls": [dict(c.resource) for c in self.calls.values()],
                "opt_outs": [{"from": a, "to": b} for a, b in sorted(self.opt_outs)],
                "outcomes": dict(self.outcomes),
                "numbers": dict(self.numbers),
            }


_local = threading.local()


class _Handler(BaseHTTPRequestHandler):
    sim: CarrierSimulator
    server_version = "CarrierSimulator/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        _local.after = []
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            form = parse_qs(raw, keep_blank_values=True)
            path = urlsplit(self.path).path
            try:
                status, payload = self._route(method, path, form)
            except SimulatorError as exc:
                status, payload = exc.status, exc.as_json()
            self._send_json(status, payload)
            jobs, _local.after = _local.after, None
            for job in jobs:
                self.sim._spawn(job)
        finally:
            _local.after = None

    def _route(
        self, method: str, path: str, form: dict[str, list[str]]
    ) -> tuple[int, Any]:
        sim = self.sim
        if path.startswith("/_sim/"):
            return self._route_sim(method, path, form)
        parts = [p for p in path.split("/") if p]
        # /2010-04-01/Accounts/{AccountSid}/{Resource}.json or .../{Resource}/{Sid}.json
        if len(parts) < 4 or parts[0] != API_VERSION or parts[1] != "Accounts":
            raise SimulatorError(
                20404, f"The requested resource {path} was not found", 404
            )
        sim.check_auth(self.headers.get("Authorization", ""), parts[2])
        rest = parts[3:]
        if rest == ["Messages.json"] and method == "POST":
            return HTTPStatus.CREATED, sim.message_create(form)
        if rest == ["Calls.json"] and method == "POST":
            return HTTPStatus.CREATED, sim.call_create(form)
        if len(rest) == 2 and rest[1].endswith(".json"):
            sid = rest[1][: -len(".json")]
            if rest[0] == "Messages" and method == "GET":
                return HTTPStatus.OK, sim.resource_of_message(sid)
            if rest[0] == "Calls" and method == "GET":
                return HTTPStatus.OK, sim.resource_of_call(sid)
            if rest[0] == "Calls" and method == "POST":
                return HTTPStatus.OK, sim.call_update(sid, form)
        if rest[0] in ("Messages.json", "Calls.json", "Messages", "Calls"):
            raise SimulatorError(20004, f"Method {method} not allowed on {path}", 405)
        raise SimulatorError(20404, f"The requested resource {path} was not found", 404)

    def _route_sim(
        self, method: str, path: str, form: dict[str, list[str]]
    ) -> tuple[int, Any]:
        sim = self.sim
        if path == "/_sim/state" and method == "GET":
            return HTTPStatus.OK, sim.state()
        if method != "POST":
            raise SimulatorError(20004, f"Method {method} not allowed on {path}", 405)
        if path == "/_sim/inbound":
            result = sim.inbound_sms(
                from_=_one(form, "From"),
                to=_one(form, "To"),
                body=_one(form, "Body"),
                url=_one(form, "Url"),
            )
            return HTTPStatus.OK, result
        if path == "/_sim/numbers":
            number, url = _one(form, "PhoneNumber"), _one(form, "SmsUrl")
            if parse_e164(number) is None or (url and not _is_http_url(url)):
                raise SimulatorError(
                    21211, "PhoneNumber must be E.164 and SmsUrl an http(s) URL."
                )
            with sim.lock:
                if url:
                    sim.numbers[number] = url
                else:
                    sim.numbers.pop(number, None)
            return HTTPStatus.OK, {"numbers": dict(sim.numbers)}
        if path == "/_sim/outcome":
            number, outcome = _one(form, "Number"), _one(form, "Outcome")
            if outcome and outcome not in MESSAGE_OUTCOMES | CALL_OUTCOMES:
                raise SimulatorError(
                    21218,
                    "Outcome is one of "
                    + ", ".join(sorted(MESSAGE_OUTCOMES | CALL_OUTCOMES))
                    + ".",
                )
            with sim.lock:
                if outcome:
                    sim.outcomes[number] = outcome
                else:
                    sim.outcomes.pop(number, None)
            return HTTPStatus.OK, {"outcomes": dict(sim.outcomes)}
        if path == "/_sim/reset":
            sim.reset()
            return HTTPStatus.OK, {"reset": True}
        raise SimulatorError(20404, f"The requested resource {path} was not found", 404)

    def _send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(int(status))
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


def _one(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name)
    return values[0] if values else ""


def _national(number: str) -> str:
    parsed = parse_e164(number)
    if parsed is None:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def _country(number: str) -> str:
    parsed = parse_e164(number)
    return (phonenumbers.region_code_for_number(parsed) or "") if parsed else ""


def run(
    *,
    account_sid: str,
    auth_token: str,
    host: str,
    port: int,
    step_delay: float,
    inbound_url: str = "",
    ready: Callable[[CarrierSimulator], None] | None = None,
) -> None:
    """Serve in the foreground until interrupted (the management command)."""
    simulator = CarrierSimulator(
        account_sid=account_sid,
        auth_token=auth_token,
        host=host,
        port=port,
        step_delay=step_delay,
        inbound_url=inbound_url,
    )
    if ready is not None:
        ready(simulator)
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator._stopping.set()
        simulator.server.server_close()


__all__ = ["CarrierSimulator", "Delivery", "SimulatorError", "run"]
