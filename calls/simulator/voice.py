"""The simulator walks our TwiML as Twilio would, with a scripted callee per number.

For a placed call that asked for answering-machine detection, or to a number
with a script, the simulator answers the call, fetches its Url (signed), and
reads the document: Say (one step of speaking each, a callee may hang up in
the middle of one), Pause, Gather (its nested Says, then the callee's next
scripted answer posted to the action as Digits, or SpeechResult with
Confidence; nothing heard falls through to the next verb), Dial (the staff
leg answers and ends; DialCallStatus posted to the action), Redirect, Hangup.
Asynchronous AMD posts AnsweredBy to its own callback while the TwiML runs;
new TwiML given to the live call (`POST Calls/{Sid}.json` with Twiml or Url)
replaces what is being read, as on Twilio.

Helpers under ``/_sim/``:

- ``POST /_sim/callee`` (Number, Script): what the callee at Number does, as
  JSON: ``{"answer": "human" | "machine" | "busy" | "no-answer" | "failed",
  "inputs": ["1", {"speech": "no", "confidence": 0.91}, null, ...],
  "hangup_after_says": 2}`` (null is silence). An empty Script forgets it.
- ``POST /_sim/call-in`` (From, To, Url, StatusCallback): the caller at From
  dials To; the simulator posts Twilio's incoming-call webhook to Url and
  walks the answer with From's script.
- ``GET /_sim/voice``: per call, what the callee heard and answered.
"""

from __future__ import annotations

import json
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from calls.simulator.api import TwilioApi
from calls.simulator.protocol import (
    API_VERSION,
    CALL_FINAL,
    SimulatorError,
    form_value,
    is_http_url,
    new_sid,
    parse_e164,
    rfc2822,
)
from calls.simulator.state import SimulatedCall

ANSWERS = {"human", "machine", "busy", "no-answer", "failed"}
MAX_DOCUMENTS = 50  # a flow that redirects forever is cut off, as Twilio does


class _HungUp(Exception):
    pass


@dataclass
class VoiceCall:
    """What the walker needs of one call beyond the REST resource."""

    amd_callback: str = ""
    script: dict = field(default_factory=dict)
    heard: list[dict[str, Any]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # new TwiML from call_update
    changed: threading.Event = field(default_factory=threading.Event)


class VoiceWalker(TwilioApi):
    """Calls that run our TwiML, scripted callees, and dial-in."""

    def __init__(self) -> None:
        super().__init__()
        self.callees: dict[str, dict] = {}
        self.voice: dict[str, VoiceCall] = {}
        # Outbound calls not yet ended, and the most there ever were at once.
        self.live_outbound = 0
        self.peak_outbound = 0
        self._counted: set[str] = set()
        self._held: dict[str, list[dict[str, str]]] = {}  # status callbacks posted

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.callees.clear()
            self.voice.clear()
            self.live_outbound = self.peak_outbound = 0

    # --- Scripts ---------------------------------------------------------------

    def callee_set(self, *, number: str, script: str) -> dict[str, dict]:
        if parse_e164(number) is None:
            raise SimulatorError(21211, "Number must be E.164.")
        try:
            parsed = json.loads(script) if script else None
        except ValueError as exc:
            raise SimulatorError(21218, "Script is JSON.") from exc
        if parsed is not None and (
            not isinstance(parsed, dict)
            or parsed.get("answer", "human") not in ANSWERS
            or not isinstance(parsed.get("inputs", []), list)
        ):
            raise SimulatorError(
                21218, "Script: answer is one of " + ", ".join(sorted(ANSWERS))
            )
        with self.lock:
            if parsed is None:
                self.callees.pop(number, None)
            else:
                self.callees[number] = parsed
            return dict(self.callees)

    def voice_log(self) -> dict[str, Any]:
        with self.lock:
            return self._calls_heard()

    def _calls_heard(self) -> dict[str, Any]:
        with self.lock:
            return {
                sid: {
                    "to": self.calls[sid].resource["to"] if sid in self.calls else "",
                    "from": self.calls[sid].resource["from"]
                    if sid in self.calls
                    else "",
                    "status": self.calls[sid].resource["status"]
                    if sid in self.calls
                    else "",
                    "heard": list(v.heard),
                }
                for sid, v in self.voice.items()
            }

    # --- Outbound calls ----------------------------------------------------------

    def call_create(self, form: dict[str, list[str]]) -> dict[str, Any]:
        resource = super().call_create(form)
        with self.lock:
            self.live_outbound += 1
            self.peak_outbound = max(self.peak_outbound, self.live_outbound)
        amd = form_value(form, "MachineDetection")
        callback = form_value(form, "AsyncAmdStatusCallback")
        if callback and not is_http_url(callback):
            raise SimulatorError(
                21609, f"Invalid AsyncAmdStatusCallback URL: {callback}"
            )
        with self.lock:
            script = self.callees.get(resource["to"])
            if amd or script is not None:
                self.voice[resource["sid"]] = VoiceCall(
                    amd_callback=callback if amd else "", script=dict(script or {})
                )
        return resource

    def call_update(self, sid: str, form: dict[str, list[str]]) -> dict[str, Any]:
        twiml, url = form_value(form, "Twiml"), form_value(form, "Url")
        if twiml or url:
            with self.lock:
                call, voice = self.calls.get(sid), self.voice.get(sid)
                if call is None:
                    raise SimulatorError(20404, f"Call {sid} was not found", 404)
                if call.ended:
                    raise SimulatorError(
                        21220, "Call is not in-progress. Cannot redirect."
                    )
                if voice is not None:
                    voice.pending.append(
                        twiml or f"<Response><Redirect>{url}</Redirect></Response>"
                    )
                    voice.changed.set()
        return super().call_update(sid, form)

    def _progress_call(self, sid: str, outcome: str) -> None:
        with self.lock:
            voice = self.voice.get(sid)
        if voice is None:
            return super()._progress_call(sid, outcome)
        answer = voice.script.get("answer", "human")
        if answer in ("busy", "no-answer", "failed"):
            return super()._progress_call(sid, answer)
        if outcome in ("busy", "no-answer", "failed"):
            return super()._progress_call(sid, outcome)
        call = self.calls[sid]
        for status in ("initiated", "ringing"):
            if self._wait(self.step_delay, call.hangup) or not self._advance(
                call, status, status
            ):
                return self._end_call(call)
        if self._wait(self.answer_after, call.hangup) or not self._advance(
            call, "in-progress", "answered"
        ):
            return self._end_call(call)
        if voice.amd_callback:
            self.timers.later(
                self.step_delay * (1.5 if answer == "machine" else 1),
                lambda: self._post_amd(call, voice, answer),
            )
        self._run_call(call, voice, call.url, call.method)

    def _end_call(self, call: SimulatedCall, outcome: str | None = None) -> None:
        with self.lock:
            sid = call.resource["sid"]
            if (
                sid not in self._counted
                and call.resource.get("direction") == "outbound-api"
            ):
                self._counted.add(sid)
                self.live_outbound -= 1
        super()._end_call(call, outcome)

    def _report(
        self,
        call: SimulatedCall,
        status: str,
        event: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        """Post one status callback, in the number's mode (``/_sim/callbacks``).

        ``duplicate`` posts each twice (a retry); ``out_of_order`` holds them all
        and posts them last first once the call has ended; ``late`` posts the
        earlier ones again `Delay` seconds after the final one.
        """
        if not call.callback or event not in call.events or self._stopping.is_set():
            return
        params = self._call_params(call, status)
        params.update(
            CallbackSource="call-progress-events",
            SequenceNumber=str(next(call.sequence)),
            Timestamp=rfc2822(),
        )
        params.update(extra or {})
        final = status in CALL_FINAL
        with self.lock:
            mode, delay = self.callback_modes.get(call.resource["to"], ("normal", 0.0))
            held = self._held.setdefault(call.resource["sid"], [])
            held.append(params)
            earlier = list(held)
        if mode == "out_of_order":
            if final:
                for posted in reversed(earlier):
                    self.post_webhook(call.callback, posted, call.callback_method)
            return
        for _ in range(2 if mode == "duplicate" else 1):
            self.post_webhook(call.callback, params, call.callback_method)
        if mode == "late" and final and len(earlier) > 1:
            self.timers.later(
                delay,
                lambda: [
                    self.post_webhook(call.callback, p, call.callback_method)
                    for p in earlier[:-1]
                ],
            )

    def _post_amd(self, call: SimulatedCall, voice: VoiceCall, answer: str) -> None:
        if call.ended:
            return
        params = self._call_params(call, "in-progress")
        params["AnsweredBy"] = "machine_end_beep" if answer == "machine" else "human"
        params["MachineDetectionDuration"] = "2100"
        self.post_webhook(voice.amd_callback, params)

    # --- Walking TwiML -----------------------------------------------------------

    def _run_call(
        self, call: SimulatedCall, voice: VoiceCall, url: str, method: str
    ) -> None:
        try:
            document = self._fetch(call, url, {}, method) if url else call.twiml
            for _ in range(MAX_DOCUMENTS):
                document = self._walk(call, voice, document)
                if document is None:
                    break
        except _HungUp:
            with self.lock:
                self._close(call, None)
        self._end_call(call, "completed")

    def _fetch(
        self, call: SimulatedCall, url: str, extra: dict[str, str], method: str = "POST"
    ) -> str:
        params = self._call_params(call, call.resource["status"])
        params.update(extra)
        return self.post_webhook(url, params, method).body

    def _speak(self, call: SimulatedCall, voice: VoiceCall, text: str) -> None:
        """One Say: a step of speaking; the callee may hang up in the middle."""
        with self.lock:
            voice.heard.append({"say": text})
            says = sum(1 for h in voice.heard if "say" in h)
        limit = voice.script.get("hangup_after_says")
        if limit and says >= int(limit):
            self._wait(self.step_delay / 2, call.hangup)
            raise _HungUp
        if self._wait(self.step_delay, call.hangup) or call.ended:
            raise _HungUp

    def _interrupted(self, voice: VoiceCall) -> str | None:
        with self.lock:
            if voice.pending:
                voice.changed.clear()
                return voice.pending.pop(0)
        return None

    def _walk(self, call: SimulatedCall, voice: VoiceCall, document: str) -> str | None:
        """Read one document; the next one to read (an action's answer), or None at the end."""
        try:
            root = ET.fromstring(document or "<Response/>")
        except ET.ParseError:
            with self.lock:
                voice.heard.append({"error": "unreadable TwiML"})
            return None
        for verb in list(root):
            if (new := self._interrupted(voice)) is not None:
                return new
            if verb.tag == "Say":
                self._speak(call, voice, (verb.text or "").strip())
            elif verb.tag == "Pause":
                if self._wait(self.step_delay, call.hangup):
                    raise _HungUp
            elif verb.tag == "Gather":
                for inner in verb:
                    if inner.tag == "Say":
                        self._speak(call, voice, (inner.text or "").strip())
                    if (new := self._interrupted(voice)) is not None:
                        return new
                answer = self._next_input(voice)
                if answer is None:
                    with self.lock:
                        voice.heard.append({"gather": verb.attrib, "answer": None})
                    continue  # nothing heard: on to the next verb
                with self.lock:
                    voice.heard.append({"gather": verb.attrib, "answer": answer})
                if (new := self._interrupted(voice)) is not None:
                    return new
                return self._fetch(call, verb.get("action", call.url), answer)
            elif verb.tag == "Dial":
                number = (verb.text or "").strip()
                with self.lock:
                    voice.heard.append({"dial": number})
                if self._wait(self.step_delay, call.hangup):
                    raise _HungUp
                if verb.get("action"):
                    return self._fetch(
                        call,
                        verb.get("action"),
                        {"DialCallStatus": "completed", "DialCallDuration": "1"},
                    )
            elif verb.tag == "Redirect":
                return self._fetch(
                    call, (verb.text or "").strip(), {}, verb.get("method", "POST")
                )
            elif verb.tag in ("Hangup", "Reject"):
                return None
        # The end of a document hangs up, unless new TwiML arrived meanwhile.
        return self._interrupted(voice)

    def _next_input(self, voice: VoiceCall) -> dict[str, str] | None:
        with self.lock:
            inputs = voice.script.setdefault("inputs", [])
            item = inputs.pop(0) if inputs else None
        if item is None:
            return None
        if isinstance(item, dict) and "speech" in item:
            return {
                "SpeechResult": str(item["speech"]),
                "Confidence": str(item.get("confidence", 0.9)),
            }
        return {"Digits": str(item.get("digits") if isinstance(item, dict) else item)}

    # --- Dial-in -------------------------------------------------------------------

    def call_in(
        self, *, from_: str, to: str, url: str, status_callback: str
    ) -> dict[str, Any]:
        if parse_e164(from_) is None or parse_e164(to) is None:
            raise SimulatorError(21211, "From and To must be valid E.164 numbers.")
        if not is_http_url(url) or (
            status_callback and not is_http_url(status_callback)
        ):
            raise SimulatorError(
                21205, "Url (and StatusCallback) must be http(s) URLs."
            )
        sid = new_sid("CA")
        now = rfc2822()
        resource = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "sid": sid,
            "from": from_,
            "to": to,
            "direction": "inbound",
            "status": "ringing",
            "date_created": now,
            "date_updated": now,
            "start_time": None,
            "end_time": None,
            "duration": None,
            "answered_by": None,
        }
        with self.lock:
            script = dict(self.callees.get(from_, {}))
            call = SimulatedCall(
                resource=resource,
                url=url,
                method="POST",
                twiml="",
                callback=status_callback,
                callback_method="POST",
                events={"completed"},
            )
            self.calls[sid] = call
            voice = self.voice[sid] = VoiceCall(script=script)

        def run() -> None:
            with self.lock:
                call.answered_at = time.time()
                resource.update(status="in-progress", start_time=rfc2822())
            self._run_call(call, voice, url, "POST")

        self._after_response(run)
        return {"sid": sid}

    def _call_params(self, call: SimulatedCall, status: str) -> dict[str, str]:
        params = super()._call_params(call, status)
        params["Direction"] = call.resource.get("direction", "outbound-api")
        return params

    # --- Routes ----------------------------------------------------------------------

    def route_voice(self, method: str, path: str, form: dict[str, list[str]]):
        """The /_sim/ helpers of voice; None when the path is not one of them."""
        if path == "/_sim/voice" and method == "GET":
            with self.lock:
                peak = self.peak_outbound
            return 200, {"calls": self.voice_log(), "peak_outbound": peak}
        if path == "/_sim/callee" and method == "POST":
            return 200, {
                "callees": self.callee_set(
                    number=form_value(form, "Number"), script=form_value(form, "Script")
                )
            }
        if path == "/_sim/call-in" and method == "POST":
            return 200, self.call_in(
                from_=form_value(form, "From"),
                to=form_value(form, "To"),
                url=form_value(form, "Url"),
                status_callback=form_value(form, "StatusCallback"),
            )
        return None
