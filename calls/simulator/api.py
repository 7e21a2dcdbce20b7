"""The REST resources the simulator answers (Messages, Calls) and inbound texts."""

from __future__ import annotations

import base64
import logging
import secrets
import time
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from calls.simulator.callbacks import Callbacks
from calls.simulator.protocol import (
    API_VERSION,
    BODY_LIMIT,
    CALL_EVENTS,
    MAGIC_CALL_ERRORS,
    MAGIC_SMS_ERRORS,
    SimulatorError,
    country,
    form_value,
    is_http_url,
    mask,
    national,
    new_sid,
    parse_e164,
    rfc2822,
)
from calls.simulator.state import SimulatedCall

logger = logging.getLogger(__name__)


class TwilioApi(Callbacks):
    """Twilio's Messages and Calls resources, answered from memory."""

    # Set by CarrierSimulator.
    auth_token: str
    inbound_url: str

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

    # --- Messages and calls -------------------------------------------------

    def message_create(self, form: dict[str, list[str]]) -> dict[str, Any]:
        to = form_value(form, "To")
        sender = form_value(form, "From")
        service = form_value(form, "MessagingServiceSid")
        body = form_value(form, "Body")
        media = form.get("MediaUrl", [])
        callback = form_value(form, "StatusCallback")
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
        if callback and not is_http_url(callback):
            raise SimulatorError(21609, f"Invalid StatusCallback URL: {callback}")
        validity = _validity(form_value(form, "ValidityPeriod"))
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
            self.accepted.append(
                {
                    "sid": sid,
                    "to": to,
                    "from": sender or service,
                    "body": body,
                    "date_created": now,
                    "validity_period": validity,
                    "status_callback": callback,
                }
            )
            delay = self.accept_delay
        logger.info("message %s to %s queued", sid, mask(to))
        self._after_response(
            _scheduled(lambda: self._progress_message(sid, callback, outcome, validity))
        )
        if delay:
            # A slow carrier: the message is recorded, the answer is not written yet.
            time.sleep(delay)
        return dict(resource)

    def message_list(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """GET Messages.json: newest first, filtered by To, From and DateSent (GMT days)."""
        to, sender = form_value(query, "To"), form_value(query, "From")
        on, before, after = (
            _day(form_value(query, "DateSent")),
            _day(form_value(query, "DateSent<")),
            _day(form_value(query, "DateSent>")),
        )
        size = min(max(int(form_value(query, "PageSize") or 50), 1), 1000)
        page = max(int(form_value(query, "Page") or 0), 0)
        with self.lock:
            found = []
            for resource in reversed(list(self.messages.values())):
                if to and resource["to"] != to or sender and resource["from"] != sender:
                    continue
                # Twilio sets date_sent when the carrier took it; queued ones use creation.
                day = _rfc_day(resource["date_sent"] or resource["date_created"])
                if on and day != on or before and day > before or after and day < after:
                    continue
                found.append(dict(resource))
        rows = found[page * size : (page + 1) * size]
        path = f"{self._account_path()}/Messages.json"
        more = (page + 1) * size < len(found)
        args = {
            k: v[0]
            for k, v in query.items()
            if k not in ("Page", "PageSize", "PageToken")
        }

        def uri(n: int) -> str:
            return path + "?" + urlencode({**args, "PageSize": size, "Page": n})

        return {
            "messages": rows,
            "end": page * size + len(rows) - 1,
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if more else None,
            "previous_page_uri": uri(page - 1) if page else None,
            "page": page,
            "page_size": size,
            "start": page * size,
            "uri": uri(page),
        }

    def call_create(self, form: dict[str, list[str]]) -> dict[str, Any]:
        to = form_value(form, "To")
        sender = form_value(form, "From")
        url = form_value(form, "Url")
        twiml = form_value(form, "Twiml")
        callback = form_value(form, "StatusCallback")
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
        if not url and not twiml and not form_value(form, "ApplicationSid"):
            raise SimulatorError(21205, "Url, Twiml or ApplicationSid is required.")
        if url and not is_http_url(url):
            raise SimulatorError(21205, f"Url is not a valid URL: {url}")
        if callback and not is_http_url(callback):
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
                "from_formatted": national(sender),
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
                "to_formatted": national(to),
                "trunk_sid": None,
                "uri": f"{self._account_path()}/Calls/{sid}.json",
            }
            self.calls[sid] = SimulatedCall(
                resource=resource,
                url=url,
                method=(form_value(form, "Method") or "POST").upper(),
                twiml=twiml,
                callback=callback,
                callback_method=(
                    form_value(form, "StatusCallbackMethod") or "POST"
                ).upper(),
                events=events or {"completed"},
            )
        logger.info("call %s to %s queued", sid, mask(to))
        self._after_response(lambda: self._progress_call(sid, outcome))
        return dict(resource)

    def call_update(self, sid: str, form: dict[str, list[str]]) -> dict[str, Any]:
        """Hang up: Status=canceled ends a call not yet answered, completed any call."""
        status = form_value(form, "Status")
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

    def _account_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}"

    def _call_path(self, sid: str) -> str:
        return f"{self._account_path()}/Calls/{sid}.json"

    # --- Inbound texts ------------------------------------------------------

    def inbound_sms(
        self, *, from_: str, to: str, body: str, url: str = ""
    ) -> dict[str, Any]:
        """A patient texts one of our numbers: update opt-outs and post the webhook."""
        if parse_e164(from_) is None or parse_e164(to) is None:
            raise SimulatorError(21211, "From and To must be valid E.164 numbers.")
        with self.lock:
            opt_out_type = self.opt_out_keyword(subscriber=from_, number=to, body=body)
            target = url or self.numbers.get(to) or self.inbound_url
        sid = new_sid("SM")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": from_,
            "FromCountry": country(from_),
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": to,
            "ToCountry": country(to),
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


def _validity(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 36000:
        raise SimulatorError(21623, "ValidityPeriod must be 1 to 36000 seconds.")
    return int(raw)


def _day(raw: str) -> date | None:
    """A DateSent filter (YYYY-MM-DD, or a full ISO time as the library sends it)."""
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError as exc:
        raise SimulatorError(20001, f"Invalid DateSent: {raw}") from exc


def _rfc_day(value: str) -> date:
    return parsedate_to_datetime(value).date()


def _scheduled(job):
    """Mark a job that only schedules steps (run inline after the answer, no thread)."""
    job.scheduled = True
    return job
