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
- ``GET .../Messages.json``: the message list, newest first, filtered by To,
  From and DateSent / DateSent< / DateSent> (GMT days), paged like Twilio.
- ValidityPeriod on a new message: a message still queued when it ends is
  failed with 30001 (see the ``stuck`` outcome).
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
  (delivered, undelivered, failed, or stuck in the queue until its
  ValidityPeriod ends, for texts; completed, busy, no-answer, failed for
  calls; an empty Outcome clears it).
- ``POST /_sim/callbacks`` (Number, Mode, Delay): how status callbacks of
  texts to a number are posted: ``duplicate`` (each twice, as Twilio's
  retries do), ``out_of_order`` (all of them, last first, once the message
  is final), ``late`` (the earlier ones again, Delay seconds after the final
  one), ``normal``.
- ``POST /_sim/latency`` (Seconds): the carrier records a new message at once
  but answers only after this long (a worker killed meanwhile never learns
  the SID).
- ``GET /_sim/accepted``: every message the carrier accepted, in order (SID,
  To, From, Body, ValidityPeriod): the judge of exactly-once.
- ``GET /_sim/state``: messages, calls, opt-outs, outcomes as JSON.
- ``POST /_sim/reset``: forget everything.

Host names ending in ``.localhost`` (``demo.localhost``) are delivered to
127.0.0.1 with the original Host header, as browsers do (RFC 6761).

Voice calls that ask for answering-machine detection (or go to a scripted
number) walk the portal's TwiML as Twilio would: see ``calls.simulator.voice``
for ``/_sim/callee``, ``/_sim/call-in`` and ``/_sim/voice``.

The package, by layer: ``protocol`` (Twilio's constants, error JSON and number
rules), ``state`` (what it holds in memory), ``callbacks`` (signed webhooks and
the background progress that sends them), ``api`` (the REST resources and
inbound texts), ``voice`` (calls walking TwiML, scripted callees, dial-in), ``server`` (the
HTTP server, its routes and life cycle).
"""

from __future__ import annotations

from calls.simulator.protocol import SimulatorError
from calls.simulator.server import CarrierSimulator, run
from calls.simulator.state import Delivery

__all__ = ["CarrierSimulator", "Delivery", "SimulatorError", "run"]
