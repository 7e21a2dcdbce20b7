"""The simulator walks TwiML as Twilio would: signed fetches, Gather answers from the
callee's script, silence falling through, status callbacks in sequence, and dial-in."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from twilio.request_validator import RequestValidator

from calls.tests.sim_support import AUTH_TOKEN, WAIT, _MultiDict, _sim_post

ASK = (
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    '<Gather input="dtmf speech" action="{action}" numDigits="1">'
    "<Say>Press 1.</Say></Gather><Say>Goodbye.</Say></Response>"
)


class TwimlApp:
    """A webhook endpoint answering each path with its own TwiML, recording every hit."""

    def __init__(self) -> None:
        self.documents: dict[str, str] = {}
        self.hits: list[tuple[str, str, _MultiDict, str]] = []
        self.changed = threading.Condition()
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                host, port = app.server.server_address[:2]
                path = urlsplit(self.path).path
                with app.changed:
                    app.hits.append(
                        (
                            path,
                            f"http://{host}:{port}{self.path}",
                            _MultiDict(parse_qs(body.decode(), keep_blank_values=True)),
                            self.headers.get("X-Twilio-Signature", ""),
                        )
                    )
                    app.changed.notify_all()
                payload = app.documents.get(path, "<Response/>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def on(self, path: str) -> list[_MultiDict]:
        with self.changed:
            return [params for p, _, params, _ in self.hits if p == path]

    def wait_for_status(self, status: str) -> None:
        with self.changed:
            assert self.changed.wait_for(
                lambda: any(
                    p == "/status" and params["CallStatus"] == [status]
                    for p, _, params, _ in self.hits
                ),
                timeout=WAIT,
            ), self.hits


@pytest.fixture
def app() -> Iterator[TwimlApp]:
    served = TwimlApp()
    yield served
    served.server.shutdown()
    served.server.server_close()


def test_a_placed_call_fetches_its_twiml_and_posts_the_scripted_answer(
    simulator, twilio, app
):
    app.documents["/flow"] = ASK.format(action=app.url("/answer"))
    app.documents["/answer"] = "<Response><Say>Thanks.</Say><Hangup/></Response>"
    _sim_post(
        simulator,
        "/_sim/callee",
        Number="+16175550142",
        Script=json.dumps({"inputs": ["1"]}),
    )
    call = twilio.calls.create(
        to="+16175550142",
        from_="+12125550100",
        url=app.url("/flow"),
        status_callback=app.url("/status"),
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    app.wait_for_status("completed")
    (answer,) = app.on("/answer")
    assert answer["Digits"] == ["1"] and answer["CallSid"] == [call.sid]
    validator = RequestValidator(AUTH_TOKEN)
    for path, url, params, signature in app.hits:
        assert validator.validate(url, params, signature), path
    heard = simulator.voice_log()[call.sid]["heard"]
    assert [h["say"] for h in heard if "say" in h] == ["Press 1.", "Thanks."]
    sequences = [int(p["SequenceNumber"][0]) for p in app.on("/status")]
    assert sequences == sorted(sequences) and len(sequences) == 4


def test_silence_falls_through_and_dial_in_posts_the_incoming_webhook(simulator, app):
    app.documents["/incoming"] = ASK.format(action=app.url("/answer"))
    result = _sim_post(
        simulator,
        "/_sim/call-in",
        From="+16175550142",
        To="+12125550100",
        Url=app.url("/incoming"),
        StatusCallback=app.url("/status"),
    )
    app.wait_for_status("completed")
    (incoming,) = app.on("/incoming")
    assert incoming["Direction"] == ["inbound"]
    assert incoming["CallSid"] == [result["sid"]]
    assert app.on("/answer") == []  # nothing was said: no Gather answer
    heard = simulator.voice_log()[result["sid"]]["heard"]
    assert [h["say"] for h in heard if "say" in h] == ["Press 1.", "Goodbye."]


def test_a_busy_callee_never_fetches_the_twiml(simulator, twilio, app):
    _sim_post(
        simulator,
        "/_sim/callee",
        Number="+16175550143",
        Script=json.dumps({"answer": "busy"}),
    )
    twilio.calls.create(
        to="+16175550143",
        from_="+12125550100",
        url=app.url("/flow"),
        status_callback=app.url("/status"),
    )
    app.wait_for_status("busy")
    assert app.on("/flow") == []
