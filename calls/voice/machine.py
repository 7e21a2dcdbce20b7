"""Answering-machine detection (asynchronous): a machine gets a short message after the beep.

Twilio reports AnsweredBy on its own callback while the call already runs our
TwiML. For a machine (DetectMessageEnd waits for the beep) the live call is
given new TwiML: the clinic's name and number, no details of the visit. The
session ends Voicemail. The report is applied once.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from calls import gateway
from calls.models import CallEvent, CallSession
from calls.services.voice_state import (
    answered_by_of,
    session_locked,
    session_move,
    session_save,
    turn_record,
)
from calls.voice import twiml
from calls.voice.flow import _values
from calls.voice.prompts import say

logger = logging.getLogger(__name__)


@transaction.atomic
def amd_apply(*, session_id: int | None, sid: str, answered_by: str) -> str:
    """Record who answered; "voicemail" when a message is being left, else "recorded"."""
    session = session_locked(session_id=session_id, sid=sid)
    if session is None or (session.sid and session.sid != sid):
        return "unknown"
    kind = answered_by_of(answered_by)
    try:
        with transaction.atomic():
            CallEvent.objects.create(
                session=session,
                source=CallEvent.Source.AMD,
                carrier_status=answered_by[:24],
                from_status=session.status,
                to_status=session.status,
            )
    except IntegrityError:
        return "duplicate"
    if not session.sid:
        session.sid = sid
    session.answered_by = kind
    if (
        kind != CallSession.AnsweredBy.MACHINE
        or session.ended_at is not None
        # A person already answered the questions: nobody to leave a message for.
        or session.flow_state.partition(":")[0] in ("done", "transfer", "bye")
    ):
        session_save(session, "answered_by")
        if kind == CallSession.AnsweredBy.FAX and session.ended_at is None:
            transaction.on_commit(lambda: _push(sid, twiml.hangup()))
        return "recorded"
    if not session_move(
        session, CallSession.Status.VOICEMAIL, source=CallEvent.Source.FLOW
    ):
        session_save(session, "answered_by")
        return "recorded"
    session.outcome = CallSession.Outcome.VOICEMAIL
    session.flow_step += 1
    session.flow_state = "voicemail"
    text = say("voicemail", session.language, **_values(session))
    session_save(session, "voicemail")
    turn_record(
        session, step=session.flow_step, speaker="portal", kind="prompt", text=text
    )
    document = twiml.tell(lines=[text], language=session.language)
    transaction.on_commit(lambda: _push(sid, document))
    return "voicemail"


def _push(sid: str, document: str) -> None:
    try:
        gateway.call_update(sid=sid, twiml=document)
    except gateway.GatewayError as exc:
        logger.warning("new TwiML for a live call not accepted: %s", exc.message)
