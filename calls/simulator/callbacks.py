"""Signed webhooks, and the background progress of texts and calls that sends them.

Each resource moves through its states in a worker thread and reports each one
to its StatusCallback, signed like Twilio does it (``X-Twilio-Signature``).
"""

from __future__ import annotations

import http.client
import logging
import secrets
import threading
import time
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

from calls.simulator.protocol import API_VERSION, VALIDITY_EXPIRED, rfc2822
from calls.simulator.state import Delivery, SimulatedCall, SimulatorState
from calls.simulator.timers import Timers

logger = logging.getLogger(__name__)

# Jobs queued while a request is being answered (`answering.after`); the HTTP
# handler starts them once the answer is written (see server._Handler).
answering = threading.local()


class Callbacks(SimulatorState):
    """Posts signed webhooks and moves texts and calls through their states."""

    # Set by CarrierSimulator.
    account_sid: str
    validator: RequestValidator
    step_delay: float
    answer_after: float
    _workers: list[threading.Thread]
    _stopping: threading.Event
    _failures: dict[str, int]
    timers: Timers

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
            self._warn(parts.netloc, "webhook to %s failed: %s", url, delivery.error)
        else:
            if delivery.status >= 400:
                self._warn(
                    parts.netloc, "webhook to %s answered %s", url, delivery.status
                )
        with self.lock:
            self.deliveries.append(delivery)
        return delivery

    def _warn(self, where: str, message: str, *args: object) -> None:
        """Log the 1st, 10th, 100th... failure per host: a closed port floods nothing."""
        with self.lock:
            count = self._failures[where] = self._failures.get(where, 0) + 1
        if count & (count - 1) == 0 or count % 1000 == 0:
            logger.warning(
                message + (f" ({count} failures so far)" if count > 1 else ""), *args
            )

    # --- Progress in the background -------------------------------------------

    def _after_response(self, job: Callable[[], None]) -> None:
        """Run `job` once the current answer has been written (see _Handler)."""
        pending = getattr(answering, "after", None)
        if pending is None:
            self._spawn(job)
        else:
            pending.append(job)

    def _spawn(self, job: Callable[[], None]) -> None:
        if getattr(job, "scheduled", False):
            job()  # it only puts its first step on the timers
            return
        worker = threading.Thread(target=job, name="carrier-progress", daemon=True)
        with self.lock:
            # Pruned now and then, not on every call: texts can come by the thousand.
            if len(self._workers) > 64:
                self._workers = [w for w in self._workers if w.is_alive()]
            self._workers.append(worker)
        worker.start()

    def _wait(self, seconds: float, hangup: threading.Event | None = None) -> bool:
        """Sleep between states; True when the call was hung up or we are stopping."""
        if hangup is not None:
            return hangup.wait(seconds) or self._stopping.is_set()
        return self._stopping.wait(seconds)

    def _progress_message(
        self, sid: str, callback: str, outcome: str, validity: int | None = None
    ) -> None:
        """Move a text through its statuses, one timed step at a time (see timers)."""
        steps = ["queued", "sent"]
        steps.append(
            outcome
            if outcome in ("delivered", "undelivered", "failed")
            else "delivered"
        )
        if outcome == "failed":
            steps = ["queued", "failed"]
        if outcome == "stuck":
            # Held in the carrier's queue: dropped when its ValidityPeriod ends.
            steps = ["queued", "expired"] if validity else ["queued"]
        with self.lock:
            to = self.messages[sid]["to"] if sid in self.messages else ""
            mode, delay = self.callback_modes.get(to, ("normal", 0.0))
        posted: list[dict[str, str]] = []

        def step(index: int) -> None:
            if self._stopping.is_set():
                return
            status = steps[index]
            params = self._message_status(
                sid,
                "failed" if status == "expired" else status,
                expired=status == "expired",
            )
            if params is None:
                return
            if callback:
                posted.append(params)
                if (
                    mode != "out_of_order"
                ):  # those go all at once, last first, at the end
                    self.post_webhook(callback, params)
                    if mode == "duplicate":
                        self.post_webhook(
                            callback, params
                        )  # Twilio retries: the same again
            if index + 1 < len(steps):
                wait = validity if steps[index + 1] == "expired" else self.step_delay
                self.timers.later(wait, lambda: step(index + 1))
            elif callback and mode == "out_of_order":
                for earlier in reversed(posted):
                    self.post_webhook(callback, earlier)
            elif callback and mode == "late" and len(posted) > 1:
                self.timers.later(
                    delay, lambda: [self.post_webhook(callback, p) for p in posted[:-1]]
                )

        step(0)

    def _message_status(
        self, sid: str, status: str, *, expired: bool = False
    ) -> dict[str, str] | None:
        """Move a message to `status`; the callback's parameters (None if it is gone)."""
        with self.lock:
            resource = self.messages.get(sid)
            if resource is None:
                return None
            resource["status"] = status
            resource["date_updated"] = rfc2822()
            if status == "sent":
                resource["date_sent"] = resource["date_updated"]
                resource["price"] = "-0.00790"
            if expired:
                resource["error_code"], resource["error_message"] = VALIDITY_EXPIRED
            elif status in ("undelivered", "failed"):
                resource["error_code"] = 30003 if status == "undelivered" else 30008
                resource["error_message"] = (
                    "Unreachable destination handset"
                    if status == "undelivered"
                    else "Unknown error"
                )
            snapshot = dict(resource)
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
        return params

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

    def _call_params(self, call: SimulatedCall, status: str) -> dict[str, str]:
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

    def _advance(self, call: SimulatedCall, status: str, event: str) -> bool:
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

    def _close(self, call: SimulatedCall, outcome: str | None) -> None:
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

    def _end_call(self, call: SimulatedCall, outcome: str | None = None) -> None:
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
        self,
        call: SimulatedCall,
        status: str,
        event: str,
        extra: dict[str, str] | None = None,
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
