"""The call flow: what the portal says at each step, and what each answer does.

A session's `flow_state` names the prompt the caller is at and `flow_step`
counts the prompts served; every Gather's action URL carries its step, so a
retried or stale request re-renders the current prompt and changes nothing.
Each prompt spoken and each answer is a transcript turn.

States: "main" asks about the visit (or the recall), "dob" asks a shared
family number for a birthday, "bye" ends after no answer twice, "done" says
the result and hangs up, "transfer" connects the caller to staff (Supervisor
Dialed), "voicemail" leaves the short message without details of the visit.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from calls.actors import SystemActor, acting_as
from calls.models import CallEvent, CallSession
from calls.services.common import current_clinic, national
from calls.services.voice_state import (
    session_locked,
    session_move,
    session_save,
    turn_record,
)
from calls.voice import twiml
from calls.voice.prompts import choice, say, spoken_date, spoken_time
from clinic.models import Appointment
from clinic.services import appointment_cancel, appointment_confirm
from portal.errors import ApplicationError
from portal.links import clinic_url

Status = CallSession.Status
Outcome = CallSession.Outcome
Speaker = "portal"
UPCOMING = (Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED)


def patient_call(sid: str) -> SystemActor:
    # The visit's history reads "Confirmed by patient, call CA...".
    return SystemActor("patient", f"call {sid}")


def _url(session: CallSession, path: str) -> str:
    return clinic_url(
        current_clinic(),
        f"/twilio/voice/{path}/?session={session.pk}&step={session.flow_step}",
    )


def _values(session: CallSession) -> dict[str, str]:
    clinic = current_clinic()
    values = {
        "clinic": clinic.name,
        "phone": national(clinic.main_phone) if clinic.main_phone else "",
        "message": session.custom_message,
    }
    visit = session.appointment
    if visit is not None:
        tz = ZoneInfo(clinic.timezone or "UTC")
        values.update(
            date=spoken_date(visit.start, tz, session.language),
            time=spoken_time(visit.start, tz, session.language),
            provider=visit.provider.name,
        )
    return values


def _state(session: CallSession) -> str:
    return session.flow_state.partition(":")[0]


def _lines(session: CallSession) -> list[str]:
    """What the current prompt says (deterministic: a retry re-renders it)."""
    lang, values = session.language, _values(session)
    state, _, result = session.flow_state.partition(":")
    if state == "main":
        intro = "visit" if session.appointment_id else "recall"
        ask = "ask_visit" if session.appointment_id else "ask_recall"
        lines = [say(intro, lang, **values), say(ask, lang)]
        return [say("again", lang), *lines[1:]] if session.misses else lines
    if state == "dob":
        return [say("dob", lang, **values)]
    if state == "bye":
        return [say("goodbye", lang)]
    if state == "voicemail":
        return [say("voicemail", lang, **values)]
    if state == "message":
        return [say("message", lang, **values)]
    if state == "transfer":
        return [
            *([say(result, lang, **values)] if result else []),
            say("transfer", lang),
        ]
    return [say(result or "goodbye", lang, **values)]


def _render(session: CallSession, lines: list[str]) -> str:
    lang, state = session.language, _state(session)
    if state in ("main", "dob"):
        return twiml.ask(
            lines=lines,
            language=lang,
            action=_url(session, "gather"),
            no_input=_url(session, "noinput"),
            digits=4 if state == "dob" else 1,
        )
    if state == "transfer":
        staff = current_clinic().staff_phone
        if staff:
            return twiml.transfer(
                lines=lines, language=lang, number=staff, action=_url(session, "dial")
            )
        return twiml.tell(lines=[*lines[:-1], say("no_staff", lang)], language=lang)
    return twiml.tell(lines=lines, language=lang)


def _serve(session: CallSession, state: str, result: str = "") -> str:
    """Move to the next prompt, record it as a turn, and answer its TwiML."""
    session.flow_step += 1
    # A result prompt (confirmed, cancelled, ...) rides in the state: a retry says it again.
    session.flow_state = f"{state}:{result}" if result else state
    lines = _lines(session)
    if state == "transfer" and not current_clinic().staff_phone:
        lines = [*lines[:-1], say("no_staff", session.language)]
        session.outcome = session.outcome or Outcome.FAILED
        session.detail = "The clinic has no staff phone to transfer to."
    elif state == "transfer":
        session_move(session, Status.SUPERVISOR_DIALED, source=CallEvent.Source.FLOW)
        session.outcome = Outcome.TRANSFERRED
    session_save(session, "flow")
    turn_record(
        session,
        step=session.flow_step,
        speaker=Speaker,
        kind="prompt",
        text=" ".join(lines),
    )
    return _render(session, lines)


def _again(session: CallSession) -> str:
    lines = _lines(session)
    if _state(session) == "transfer" and not current_clinic().staff_phone:
        lines = [*lines[:-1], say("no_staff", session.language)]
    return _render(session, lines)


def _answered(session: CallSession, sid: str) -> None:
    if not session.sid and sid:
        session.sid = sid
    if session.answered_at is None:
        session.answered_at = timezone.now()
    session_move(session, Status.IN_PROGRESS, source=CallEvent.Source.FLOW)


def _opening(session: CallSession) -> str:
    if session.purpose == CallSession.Purpose.CUSTOM:
        session.outcome = Outcome.LISTENED
        return _serve(session, "message")
    return _serve(session, "main")


@transaction.atomic
def flow_start(*, session_id: int | None, sid: str) -> str:
    """The call was answered and Twilio asks what to say."""
    session = session_locked(session_id=session_id, sid=sid)
    if session is None or (session.sid and sid and session.sid != sid):
        return twiml.hangup()
    if session.flow_step:
        return _again(session)
    if session.is_final:
        return twiml.hangup()
    _answered(session, sid)
    return _opening(session)


def _confidence(raw: str) -> Decimal | None:
    try:
        value = Decimal(raw).quantize(Decimal("0.001"))
    except (InvalidOperation, TypeError, ValueError):
        return None
    return value if 0 <= value <= 1 else None


@transaction.atomic
def flow_answer(
    *,
    session_id: int | None,
    sid: str,
    step: int | None,
    digits: str,
    speech: str,
    confidence: str,
) -> str:
    """A Gather heard something: record it and act on it."""
    session = session_locked(session_id=session_id, sid=sid)
    if session is None or session.sid != sid:
        return twiml.hangup()
    if step != session.flow_step or _state(session) not in ("main", "dob"):
        return _again(session)  # a retry, or an answer to an old prompt
    if session.status in (Status.VOICEMAIL, Status.TERMINATED) or session.ended_at:
        return twiml.hangup()  # a machine, or staff hung up: nothing more is acted on
    heard = digits or speech
    turn_record(
        session,
        step=session.flow_step,
        speaker="caller",
        kind="digits" if digits else "speech",
        text=heard[:500],
        confidence=None if digits else _confidence(confidence),
    )
    if _state(session) == "dob":
        return _match_birthday(session, digits)
    picked = choice(digits=digits, speech=speech)
    if not picked:
        return _missed(session)
    if picked == "staff":
        return _serve(session, "transfer")
    if session.appointment_id is None:
        session.outcome = (
            Outcome.CONFIRMED if picked == "confirm" else Outcome.CANCELLED
        )
        return _serve(
            session, "done", "recall_yes" if picked == "confirm" else "recall_no"
        )
    return _visit_answer(session, confirm=picked == "confirm")


def _visit_answer(session: CallSession, *, confirm: bool) -> str:
    visit = Appointment.objects.get(pk=session.appointment_id)
    note = f"Cancelled by patient, call {session.sid}"
    actor = patient_call(session.sid)
    try:
        with transaction.atomic(), acting_as(actor):
            if confirm and visit.status == Appointment.Status.SCHEDULED:
                appointment_confirm(appointment=visit, actor=actor)
            elif confirm and visit.status != Appointment.Status.CONFIRMED:
                raise ApplicationError("The visit is no longer upcoming.")
            elif not confirm:
                appointment_cancel(appointment=visit, actor=actor, reason=note)
    except ApplicationError:
        return _serve(session, "transfer", "unavailable")
    session.outcome = Outcome.CONFIRMED if confirm else Outcome.CANCELLED
    return _serve(session, "done", "confirmed" if confirm else "cancelled")


def _missed(session: CallSession) -> str:
    """Nothing usable was heard: ask once more, then end politely."""
    session.misses += 1
    if session.misses >= 2:
        session.outcome = Outcome.NO_RESPONSE
        return _serve(session, "bye")
    return _serve(session, _state(session))


@transaction.atomic
def flow_no_input(*, session_id: int | None, sid: str, step: int | None) -> str:
    session = session_locked(session_id=session_id, sid=sid)
    if session is None or session.sid != sid:
        return twiml.hangup()
    if step != session.flow_step or _state(session) not in ("main", "dob"):
        return _again(session)
    if session.status in (Status.VOICEMAIL, Status.TERMINATED) or session.ended_at:
        return twiml.hangup()  # a machine, or staff hung up: nothing more is acted on
    turn_record(
        session,
        step=session.flow_step,
        speaker="caller",
        kind="silence",
        text="(no answer)",
    )
    if _state(session) == "dob":
        return _serve(session, "transfer")
    return _missed(session)


@transaction.atomic
def flow_dial_done(*, session_id: int | None, sid: str, dial_status: str) -> str:
    session = session_locked(session_id=session_id, sid=sid)
    if session is not None and session.sid == sid:
        CallEvent.objects.create(
            session=session,
            source=CallEvent.Source.DIAL,
            carrier_status=dial_status[:24],
        )
    return twiml.hangup()


def _match_birthday(session: CallSession, digits: str) -> str:
    from calls.voice.incoming import patients_calling_from, upcoming_visit

    found = [
        p
        for p in patients_calling_from(session.from_number)
        if f"{p.date_of_birth:%m%d}" == digits
    ]
    if len(found) != 1:
        return _serve(session, "transfer")
    session.patient = found[0]
    session.appointment = upcoming_visit(found[0])
    session.language = (
        found[0].preferred_language
        if found[0].preferred_language in ("en", "es")
        else "en"
    )
    if session.appointment is None:
        return _serve(session, "transfer", "no_visit")
    return _serve(session, "main")
