"""What staff do with texts: write to a patient, read a conversation, settle it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from calls import texts
from calls.actors import Actor, actor_label, actor_user
from calls.events import publish_messages
from calls.models import Conversation, Message
from calls.permissions import can_read_messages, require_sender
from calls.services.common import conversation_for, conversations_touch, current_clinic
from calls.services.consent import number_opted_out
from calls.services.outbox import message_queue
from clinic.models import Patient
from portal.errors import ApplicationError

MAX_BODY = 1600


def sending_problem(patient: Patient) -> tuple[str, str]:
    """Why this patient cannot be texted now, as (code, sentence); ("", "") if they can."""
    if patient.status != Patient.Status.ACTIVE:
        return "archived", "This patient is archived."
    if not patient.phone:
        return "no_phone", "This patient has no phone number."
    if not patient.sms_consent:
        return "no_sms_consent", "This patient has not agreed to text messages."
    if number_opted_out(patient.phone):
        return (
            "opted_out",
            "This number opted out of texts (it texted STOP); only the patient can opt back in by texting START.",
        )
    return "", ""


@transaction.atomic
def message_send_staff(*, actor: Actor, patient: Patient, body: str) -> Message:
    """A staff member texts a patient; refused (409) without consent or after an opt-out."""
    require_sender(actor)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["Write a message."]})
    if len(body) > MAX_BODY or "\x00" in body:
        raise ValidationError(
            {"body": [f"A text can be at most {MAX_BODY} characters."]}
        )
    code, problem = sending_problem(patient)
    if not code and not current_clinic().main_phone:
        code, problem = (
            "no_clinic_number",
            "The clinic has no texting number (main phone).",
        )
    if code:
        raise ApplicationError(problem, status=409, extra={"reason": code})
    clinic = current_clinic()
    conversation = conversation_for(patient=patient, number=patient.phone)
    message = message_queue(
        conversation=conversation,
        patient=patient,
        purpose=Message.Purpose.STAFF,
        to_number=patient.phone,
        from_number=clinic.main_phone,
        body=body,
        segments=texts.segments(body).count,
        sent_by=actor_user(actor),
        sent_by_label=actor_label(actor),
    )
    conversations_touch([conversation.pk], at=message.created_at)
    return message


@transaction.atomic
def conversation_mark_read(*, actor: Actor, conversation: Conversation) -> int:
    """Staff opened the thread: its texts count as read."""
    if not can_read_messages(actor):
        raise ApplicationError("Your role does not allow reading messages.", status=403)
    now = timezone.now()
    count = Message.objects.filter(
        conversation=conversation,
        direction=Message.Direction.INBOUND,
        read_at__isnull=True,
    ).update(read_at=now)
    if count or conversation.unread_count:
        Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)
        publish_messages(conversation_ids=[conversation.pk], change="read")
    return count


@transaction.atomic
def conversation_settle(*, actor: Actor, conversation: Conversation) -> None:
    """Staff dealt with what needed them (an ambiguous reply)."""
    require_sender(actor)
    Conversation.objects.filter(pk=conversation.pk).update(
        needs_attention=False, attention_reason=""
    )
    publish_messages(conversation_ids=[conversation.pk], change="settled")
