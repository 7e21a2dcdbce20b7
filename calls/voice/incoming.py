"""Dial-in: a patient calls the clinic's number.

A known caller (matched by phone among active patients) hears their next
visit and can confirm, cancel or reach staff; a number several patients share
asks for the caller's month and day of birth first; an unknown caller is
connected to staff. Every inbound call is a session too.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.models import CallEvent, CallSession
from calls.services.voice_state import session_save
from calls.voice import flow
from clinic.models import Appointment, Patient

UPCOMING = (Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED)


def patients_calling_from(number: str) -> list[Patient]:
    return list(
        Patient.objects.filter(phone=number, status=Patient.Status.ACTIVE).order_by(
            "pk"
        )
    )


def upcoming_visit(patient: Patient) -> Appointment | None:
    return (
        Appointment.objects.filter(
            patient=patient, status__in=UPCOMING, start__gt=timezone.now()
        )
        .select_related("provider")
        .order_by("start", "id")
        .first()
    )


def call_incoming(*, sid: str, from_: str, to: str) -> str:
    """Answer an inbound call (once per CallSid: Twilio retries a slow answer)."""
    try:
        with transaction.atomic():
            return _answer(sid=sid, from_=from_, to=to)
    except IntegrityError:  # the same call twice at once: answer what the first chose
        with transaction.atomic():
            return flow.flow_start(session_id=None, sid=sid)


def _answer(*, sid: str, from_: str, to: str) -> str:
    existing = CallSession.objects.select_for_update().filter(sid=sid).first()
    if existing is not None:
        return flow.flow_start(session_id=existing.pk, sid=sid)
    callers = patients_calling_from(from_)
    patient = callers[0] if len(callers) == 1 else None
    language = "en"
    if patient is not None and patient.preferred_language in ("en", "es"):
        language = patient.preferred_language
    now = timezone.now()
    session = CallSession.objects.create(
        patient=patient,
        workflow_id=patient.workflow_id if patient else None,
        appointment=upcoming_visit(patient) if patient else None,
        purpose=CallSession.Purpose.INBOUND,
        direction=CallSession.Direction.INBOUND,
        language=language,
        status=CallSession.Status.IN_PROGRESS,
        sid=sid,
        from_number=from_,
        to_number=to,
        answered_at=now,
        started_by_label="Patient called",
    )
    CallEvent.objects.create(
        session=session,
        source=CallEvent.Source.FLOW,
        carrier_status="ringing",
        to_status=session.status,
        detail="Inbound call",
    )
    session_save(session, "incoming")
    if len(callers) > 1:
        return flow._serve(session, "dob")
    if patient is None:
        return flow._serve(session, "transfer", "unknown_caller")
    if session.appointment is None:
        return flow._serve(session, "transfer", "no_visit")
    return flow._serve(session, "main")
