"""The carrier simulator for tests: a webhook receiver, a simulator, a client pointed at it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import Request, urlopen

import pytest
from twilio.rest import Client

from calls.simulator import CarrierSimulator

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "simulator-test-token"
CLINIC_NUMBER = "+12125550100"
PATIENT_NUMBER = "+16175550142"
WAIT = 10.0


class _MultiDict(dict):
    """Form values as lists, with the getlist() that RequestValidator understands."""

    def getlist(self, name: str) -> list[str]:
        return self[name]


@dataclass
class Hit:
    path: str
    url: str
    params: _MultiDict
    signature: str
    method: str

    def one(self, name: str) -> str:
        return self.params[name][0]


class Receiver:
    """A tiny webhook endpoint that records what it receives."""

    def __init__(self, reply: str = "<Response/>") -> None:
        self.hits: list[Hit] = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _record(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                host, port = receiver.server.server_address[:2]
                hit = Hit(
                    path=urlsplit(self.path).path,
                    url=f"http://{host}:{port}{self.path}",
                    params=_MultiDict(parse_qs(body, keep_blank_values=True)),
                    signature=self.headers.get("X-Twilio-Signature", ""),
                    method=method,
                )
                # Record before answering, so whoever waits on the answer sees the hit.
                with receiver.changed:
                    receiver.hits.append(hit)
                    receiver.changed.notify_all()
                payload = reply.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:  # noqa: N802
                self._record("POST")

            def do_GET(self) -> None:  # noqa: N802
                self._record("GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def on(self, path: str) -> list[Hit]:
        with self.changed:
            return [hit for hit in self.hits if hit.path == path]

    def wait_for(self, predicate: Callable[[list[Hit]], bool], what: str) -> None:
        with self.changed:
            if not self.changed.wait_for(
                lambda: predicate(list(self.hits)), timeout=WAIT
            ):
                seen = [(h.path, dict(h.params)) for h in self.hits]
                raise AssertionError(f"timed out waiting for {what}; received {seen}")


@pytest.fixture
def simulator() -> Iterator[CarrierSimulator]:
    sim = CarrierSimulator(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, port=0, step_delay=0.02
    ).start()
    yield sim
    sim.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    rec.thread.start()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


@pytest.fixture
def twilio(simulator) -> Client:
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    # Every v2010 resource URL is built from the Api domain's base_url.
    client.api.base_url = simulator.url
    return client


def _sim_post(simulator: CarrierSimulator, path: str, **form: str) -> dict:
    request = Request(
        simulator.url + path, data=urlencode(form).encode(), method="POST"
    )
    with urlopen(request, timeout=WAIT) as response:
        return json.loads(response.read())
