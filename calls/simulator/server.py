"""The simulator's HTTP side: the server, its life cycle, and the routes it answers."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator

from calls.simulator.api import TwilioApi  # noqa: F401 (the REST side, under VoiceWalker)
from calls.simulator.callbacks import answering
from calls.simulator.protocol import API_VERSION, SimulatorError, form_value
from calls.simulator.timers import Timers
from calls.simulator.voice import VoiceWalker

logger = logging.getLogger(__name__)


class CarrierSimulator(VoiceWalker):
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
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.validator = RequestValidator(auth_token)
        self.step_delay = step_delay
        self.answer_after = step_delay if answer_after is None else answer_after
        self.inbound_url = inbound_url
        self._workers: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._failures: dict[str, int] = {}
        self.timers = Timers()
        self.server = _Server((host, port), self._handler_class())
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
        self.timers.stop()
        for worker in list(self._workers):
            worker.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> CarrierSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        simulator = self

        class Handler(_Handler):
            sim = simulator

        return Handler


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout, a killed worker) is no error of ours.
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            logger.debug("client %s went away", client_address)
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    sim: CarrierSimulator
    server_version = "CarrierSimulator/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm on, the body
    # waits for the client's delayed ACK (~40 ms) on every keep-alive request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        answering.after = []
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            form = parse_qs(raw, keep_blank_values=True)
            parts = urlsplit(self.path)
            path = parts.path
            if method == "GET":
                form = parse_qs(parts.query, keep_blank_values=True)
            try:
                status, payload = self._route(method, path, form)
            except SimulatorError as exc:
                status, payload = exc.status, exc.as_json()
            self._send_json(status, payload)
            jobs, answering.after = answering.after, None
            for job in jobs:
                self.sim._spawn(job)
        finally:
            answering.after = None

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
        if rest == ["Messages.json"] and method == "GET":
            return HTTPStatus.OK, sim.message_list(form)
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
        voice = sim.route_voice(method, path, form)
        if voice is not None:
            return voice
        if path == "/_sim/state" and method == "GET":
            return HTTPStatus.OK, sim.state()
        if path == "/_sim/accepted" and method == "GET":
            return HTTPStatus.OK, {"accepted": sim.accepted_log()}
        if method != "POST":
            raise SimulatorError(20004, f"Method {method} not allowed on {path}", 405)
        if path == "/_sim/inbound":
            result = sim.inbound_sms(
                from_=form_value(form, "From"),
                to=form_value(form, "To"),
                body=form_value(form, "Body"),
                url=form_value(form, "Url"),
            )
            return HTTPStatus.OK, result
        if path == "/_sim/numbers":
            numbers = sim.number_register(
                number=form_value(form, "PhoneNumber"), url=form_value(form, "SmsUrl")
            )
            return HTTPStatus.OK, {"numbers": numbers}
        if path == "/_sim/outcome":
            outcomes = sim.outcome_set(
                number=form_value(form, "Number"), outcome=form_value(form, "Outcome")
            )
            return HTTPStatus.OK, {"outcomes": outcomes}
        if path == "/_sim/callbacks":
            modes = sim.callback_mode_set(
                number=form_value(form, "Number"),
                mode=form_value(form, "Mode") or "normal",
                delay=_seconds(form_value(form, "Delay")),
            )
            return HTTPStatus.OK, {"callback_modes": modes}
        if path == "/_sim/latency":
            return HTTPStatus.OK, {
                "accept_delay": sim.accept_delay_set(
                    _seconds(form_value(form, "Seconds"))
                )
            }
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


def _seconds(raw: str) -> float:
    try:
        return float(raw or 0)
    except ValueError as exc:
        raise SimulatorError(21218, f"Not a number of seconds: {raw}") from exc


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
        simulator.timers.stop()
