"""What the simulator holds in memory: messages, calls, numbers, outcomes, opt-outs."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from calls.simulator.protocol import (
    CALL_OUTCOMES,
    CALLBACK_MODES,
    HELP_WORDS,
    MESSAGE_OUTCOMES,
    START_WORDS,
    STOP_WORDS,
    SimulatorError,
    is_http_url,
    parse_e164,
)


@dataclass
class Delivery:
    """One webhook the simulator posted, and what came back."""

    url: str
    params: dict[str, str]
    status: int | None
    body: str = ""
    error: str = ""


@dataclass
class SimulatedCall:
    """One outbound call: its Twilio resource and what its progress needs."""

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


class SimulatorState:
    """The carrier's memory; every read and write of it holds `lock`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.messages: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, SimulatedCall] = {}
        self.opt_outs: set[tuple[str, str]] = set()  # (subscriber, our number)
        self.outcomes: dict[str, str] = {}
        self.numbers: dict[str, str] = {}  # our number -> inbound SMS webhook URL
        # The latest webhooks posted (bounded: a simulator may run for days).
        self.deliveries: deque[Delivery] = deque(maxlen=10_000)
        # Every message the carrier accepted, in order: the judge of exactly-once.
        self.accepted: list[dict[str, Any]] = []
        # number -> (mode, delay) for the status callbacks of texts to it.
        self.callback_modes: dict[str, tuple[str, float]] = {}
        # Seconds the carrier takes to answer a new message (after recording it).
        self.accept_delay = 0.0

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
            self.accepted.clear()
            self.callback_modes.clear()
            self.accept_delay = 0.0

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "messages": list(self.messages.values()),
                "calls": [dict(c.resource) for c in self.calls.values()],
                "opt_outs": [{"from": a, "to": b} for a, b in sorted(self.opt_outs)],
                "outcomes": dict(self.outcomes),
                "numbers": dict(self.numbers),
                "callback_modes": {
                    n: {"mode": m, "delay": d}
                    for n, (m, d) in self.callback_modes.items()
                },
                "accept_delay": self.accept_delay,
                "accepted": len(self.accepted),
            }

    def accepted_log(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(entry) for entry in self.accepted]

    def callback_mode_set(
        self, *, number: str, mode: str, delay: float
    ) -> dict[str, Any]:
        """Post the status callbacks of texts to `number` duplicated, out of order or late."""
        if mode not in CALLBACK_MODES or delay < 0 or delay > 60:
            raise SimulatorError(
                21218,
                "Mode is one of "
                + ", ".join(sorted(CALLBACK_MODES))
                + "; Delay 0-60 s.",
            )
        with self.lock:
            if mode == "normal":
                self.callback_modes.pop(number, None)
            else:
                self.callback_modes[number] = (mode, delay)
            return {
                n: {"mode": m, "delay": d} for n, (m, d) in self.callback_modes.items()
            }

    def accept_delay_set(self, seconds: float) -> float:
        if not 0 <= seconds <= 10:
            raise SimulatorError(21218, "Seconds is 0 to 10.")
        with self.lock:
            self.accept_delay = seconds
            return seconds

    def number_register(self, *, number: str, url: str) -> dict[str, str]:
        """Send inbound texts to `number` to `url` (an empty `url` forgets it)."""
        if parse_e164(number) is None or (url and not is_http_url(url)):
            raise SimulatorError(
                21211, "PhoneNumber must be E.164 and SmsUrl an http(s) URL."
            )
        with self.lock:
            if url:
                self.numbers[number] = url
            else:
                self.numbers.pop(number, None)
            return dict(self.numbers)

    def outcome_set(self, *, number: str, outcome: str) -> dict[str, str]:
        """What happens to sends to `number` (an empty `outcome` clears it)."""
        if outcome and outcome not in MESSAGE_OUTCOMES | CALL_OUTCOMES:
            raise SimulatorError(
                21218,
                "Outcome is one of "
                + ", ".join(sorted(MESSAGE_OUTCOMES | CALL_OUTCOMES))
                + ".",
            )
        with self.lock:
            if outcome:
                self.outcomes[number] = outcome
            else:
                self.outcomes.pop(number, None)
            return dict(self.outcomes)

    def opt_out_keyword(self, *, subscriber: str, number: str, body: str) -> str:
        """Apply a STOP/START keyword to the opt-out set; Twilio's OptOutType or ""."""
        word = " ".join(body.strip().upper().split())
        with self.lock:
            if word in STOP_WORDS:
                self.opt_outs.add((subscriber, number))
                return "STOP"
            if word in START_WORDS:
                self.opt_outs.discard((subscriber, number))
                return "START"
        return "HELP" if word in HELP_WORDS else ""
