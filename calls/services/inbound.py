"""A patient's text: carrier keywords first, then replies to a reminder, then the inbox.

Order matters. STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE and
OPTOUT opt the number out of every text from this clinic (CANCEL is an opt-out
word at the carriers, so it never cancels a visit). START, UNSTOP and YES from
an opted-out number opt it back in. HELP is answered with the clinic's name and
phone. Then C, YES, Y, 1, SI, SÍ confirm and N, NO, 2 cancel the visit the
latest reminder to that number was about; a number several patients share
follows the same rule, and when the latest reminder does not settle it the text
goes to staff. Anything else lands in the patient's conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from calls import texts
from calls.actors import acting_as, patient_reply
from calls.events import publish_messages
from calls.models import (
    Conversation,
    Message,
    Reminder,
    TemplateKind,
    WaitlistOfferRecipient,
)
from calls.policy import policy_current
from calls.services.common import conversation_for, conversations_touch, current_clinic
from calls.services.consent import number_opt_in, number_opt_out, number_opted_out
from calls.services.offers import offer_reply
from calls.services.replies import reply_send
from clinic.models import Appointment, AppointmentEvent, Patient
from clinic.services import appointment_cancel, appointment_confirm
from clinic.services.record_hooks import on_patient_text
from portal.errors import ApplicationError

UPCOMING = (Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED)
# Reminders about different visits this close together make a bare "C" ambiguous.
AMBIGUITY_WINDOW = timedelta(hours=1)
ASKING = (
    Message.Purpose.REMINDER,
    Message.Purpose.BOOKING_CONFIRMATION,
    Message.Purpose.WAITLIST_OFFER,
)


@dataclass
class Target:
    """What a reply answers: a visit (through its reminder), an offer, or nothing clear."""

    patient: Patient | None = None
    appointment: Appointment | None = None
    reminder: Reminder | None = None
    recipient: WaitlistOfferRecipient | None = None
    problem: str = ""


@dataclass
class Inbound:
    message: Message
    action: str


def reply_target(*, number: str, now: datetime) -> Target:
    """The visit or offer the latest asking text to this number was about."""
    window = timedelta(days=policy_current().reply_window_days)
    recent = list(
        Message.objects.filter(
            direction=Message.Direction.OUTBOUND,
            to_number=number,
            purpose__in=ASKING,
            sid__isnull=False,
            created_at__gte=now - window,
        )
        .exclude(
            status__in=[
                Message.Status.FAILED,
                Message.Status.UNDELIVERED,
                Message.Status.CANCELED,
            ]
        )
        .select_related("appointment__patient", "reminder", "patient")
        .order_by("-created_at", "-id")[:10]
    )
    if not recent:
        return Target(
            problem="No reminder or offer was texted to this number recently."
        )
    latest = recent[0]
    if latest.purpose == Message.Purpose.WAITLIST_OFFER:
        recipient = WaitlistOfferRecipient.objects.filter(message=latest).first()
        return Target(
            patient=latest.patient,
            recipient=recipient,
            problem="" if recipient else "The offer is no longer on record.",
        )
    appointment = latest.appointment
    rivals = {
        m.appointment_id
        for m in recent[1:]
        if m.appointment_id not in (None, appointment.pk)
        and latest.created_at - m.created_at < AMBIGUITY_WINDOW
        and m.appointment.status in UPCOMING
        and m.appointment.start > now
    }
    if rivals:
        return Target(
            problem="Reminders about several visits went to this number close "
            "together; the reply could be about any of them."
        )
    if appointment.status not in UPCOMING or appointment.start <= now:
        return Target(
            patient=appointment.patient,
            problem="The visit the last reminder was about is no longer upcoming.",
        )
    return Target(
        patient=appointment.patient, appointment=appointment, reminder=latest.reminder
    )


def _owner(number: str, patients: list[Patient]) -> Patient | None:
    """Whose conversation a text from this number belongs in, when the text itself does not say."""
    if len(patients) == 1:
        return patients[0]
    if patients:
        last = (
            Message.objects.filter(
                direction=Message.Direction.OUTBOUND,
                to_number=number,
                patient__in=patients,
            )
            .order_by("-created_at")
            .select_related("patient")
            .first()
        )
        return last.patient if last else None
    return None


def inbound_receive(
    *, sid: str, from_: str, to: str, body: str, now: datetime | None = None
) -> Inbound:
    """Record a patient's text once (Twilio retries) and act on it."""
    now = now or timezone.now()
    with transaction.atomic():
        existing = Message.objects.filter(sid=sid).first()
        if existing is not None:
            return Inbound(existing, "duplicate")
        clinic = current_clinic()
        word = texts.keyword(body)
        patients = list(
            Patient.objects.filter(phone=from_, status=Patient.Status.ACTIVE).order_by(
                "pk"
            )
        )
        opted_out = number_opted_out(from_)
        target = None
        if word in texts.CONFIRM_WORDS | texts.DECLINE_WORDS and not (
            opted_out and word in texts.OPT_IN_WORDS
        ):
            target = reply_target(number=from_, now=now)
        if target is not None and target.patient is not None:
            patient = target.patient
        elif target is not None and target.problem and len(patients) > 1:
            patient = None  # a shared number, and nothing says whose visit: the number's thread
        else:
            patient = _owner(from_, patients)
        conversation = conversation_for(patient=patient, number=from_)
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    conversation=conversation,
                    patient=patient,
                    direction=Message.Direction.INBOUND,
                    purpose=Message.Purpose.INBOUND,
                    to_number=to,
                    from_number=from_,
                    body=body[:1600],
                    segments=texts.segments(body).count,
                    status=Message.Status.RECEIVED,
                    sid=sid,
                    appointment=target.appointment if target else None,
                )
        except IntegrityError:  # the same text delivered twice at once
            return Inbound(Message.objects.get(sid=sid), "duplicate")
        action = _act(
            word=word,
            message=message,
            conversation=conversation,
            patient=patient,
            target=target,
            opted_out=opted_out,
            clinic=clinic,
            now=now,
        )
        on_patient_text(message=message, action=action)
        conversations_touch([conversation.pk], at=now, unread=1)
        publish_messages(conversation_ids=[conversation.pk], change="received")
    return Inbound(message, action)


def _act(
    *,
    word: str,
    message: Message,
    conversation: Conversation,
    patient: Patient | None,
    target: Target | None,
    opted_out: bool,
    clinic,
    now: datetime,
) -> str:
    number, sid = message.from_number, message.sid
    if word in texts.OPT_OUT_WORDS:
        number_opt_out(
            number=number,
            keyword=word,
            source="patient_text",
            at=now,
            sid=sid,
            patient=patient,
        )
        return "opted_out"
    if word in texts.OPT_IN_WORDS and opted_out:
        number_opt_in(number=number, keyword=word, at=now, sid=sid, patient=patient)
        return "opted_in"
    if word in texts.HELP_WORDS:
        reply_send(
            clinic=clinic,
            conversation=conversation,
            number=number,
            kind=TemplateKind.HELP,
            patient=patient,
        )
        return "help"
    if target is None:
        return "conversation"
    if target.problem:
        _needs_staff(conversation, f"“{message.body[:60]}”: {target.problem}")
        return "needs_staff"
    confirm = word in texts.CONFIRM_WORDS
    if target.recipient is not None:
        return "offer_" + offer_reply(
            recipient=target.recipient, accept=confirm, inbound=message
        )
    return _answer_visit(
        target=target,
        confirm=confirm,
        message=message,
        conversation=conversation,
        clinic=clinic,
    )


def _answer_visit(
    *,
    target: Target,
    confirm: bool,
    message: Message,
    conversation: Conversation,
    clinic,
) -> str:
    appointment, sid = target.appointment, message.sid
    try:
        with transaction.atomic(), acting_as(patient_reply(sid)):
            if confirm:
                if appointment.status == Appointment.Status.SCHEDULED:
                    appointment = appointment_confirm(
                        appointment=appointment, actor=patient_reply(sid)
                    )
                    _note(
                        appointment,
                        AppointmentEvent.Kind.CONFIRMED,
                        f"Confirmed by patient reply, message {sid}",
                    )
            else:
                appointment = appointment_cancel(
                    appointment=appointment,
                    actor=patient_reply(sid),
                    reason=f"Cancelled by patient reply, message {sid}",
                )
    except ApplicationError as exc:
        _needs_staff(conversation, f"“{message.body[:60]}”: {exc.message}")
        return "needs_staff"
    if target.reminder is not None:
        Reminder.objects.filter(pk=target.reminder.pk).update(
            reply=message,
            reply_outcome="confirmed" if confirm else "cancelled",
            updated_at=timezone.now(),
        )
    reply_send(
        clinic=clinic,
        conversation=conversation,
        number=message.from_number,
        kind=TemplateKind.CONFIRM_ACK if confirm else TemplateKind.CANCEL_ACK,
        patient=appointment.patient,
        appointment=appointment,
    )
    return "confirmed" if confirm else "cancelled"


def _note(appointment: Appointment, kind: str, note: str) -> None:
    """Say in the visit's history who did it: the patient, by this text."""
    event = appointment.events.filter(kind=kind).order_by("-at", "-id").first()
    if event is not None and not event.note:
        event.note = note[:300]
        event.save(update_fields=["note"])


def _needs_staff(conversation: Conversation, reason: str) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(
        needs_attention=True, attention_reason=reason[:300]
    )
