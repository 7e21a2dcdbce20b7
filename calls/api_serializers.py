"""JSON of the messaging API: parsing input and shaping rows, nothing else.

Timestamps are UTC with `Z`; a reminder's `visit_start` and `due_at` carry the
clinic's offset, as appointment times do in the schedule API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rest_framework import serializers

from calls.models import Conversation, Message, Reminder
from clinic.models import Patient


def _utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _local(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None


def message_to_dict(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "conversation": message.conversation_id,
        "patient": message.patient_id,
        "appointment": message.appointment_id,
        "reminder": message.reminder_id,
        "direction": message.direction,
        "purpose": message.purpose,
        "status": message.status,
        "to": message.to_number,
        "from": message.from_number,
        "body": message.body,
        "segments": message.segments,
        "sid": message.sid,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "sent_by": message.sent_by_label,
        "created_at": _utc(message.created_at),
        "queued_at": _utc(message.queued_at),
        "sent_at": _utc(message.sent_at),
        "delivered_at": _utc(message.delivered_at),
        "failed_at": _utc(message.failed_at),
        "read_at": _utc(message.read_at),
    }


def conversation_to_dict(
    conversation: Conversation, *, opted_out: bool
) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "patient": conversation.patient_id,
        "number": conversation.number,
        "last_message_at": _utc(conversation.last_message_at),
        "unread_count": conversation.unread_count,
        "needs_attention": conversation.needs_attention,
        "attention_reason": conversation.attention_reason,
        "opted_out": opted_out,
    }


def reminder_to_dict(reminder: Reminder, tz: ZoneInfo) -> dict[str, Any]:
    message = getattr(reminder, "message", None)
    return {
        "id": reminder.pk,
        "kind": reminder.kind,
        "offset_minutes": reminder.offset_minutes,
        "channel": reminder.channel,
        "visit_start": _local(reminder.visit_start, tz),
        "due_at": _local(reminder.due_at, tz),
        "status": reminder.status,
        "reason": reminder.reason,
        "detail": reminder.detail,
        "reply_outcome": reminder.reply_outcome,
        "message": message_to_dict(message) if message is not None else None,
    }


# --- Documented shapes ------------------------------------------------------------


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    conversation = serializers.IntegerField()
    patient = serializers.IntegerField(allow_null=True)
    appointment = serializers.IntegerField(allow_null=True)
    reminder = serializers.IntegerField(allow_null=True)
    direction = serializers.ChoiceField(choices=Message.Direction.choices)
    purpose = serializers.ChoiceField(choices=Message.Purpose.choices)
    status = serializers.ChoiceField(
        choices=Message.Status.choices,
        help_text="Forward only: pending (in the outbox), sending, queued, sent, then a final "
        "delivered, undelivered, failed, canceled (not sent) or read; inbound texts are received.",
    )
    to = serializers.CharField()
    body = serializers.CharField()
    segments = serializers.IntegerField()
    sid = serializers.CharField(
        allow_null=True, help_text="Twilio's SID once the carrier has it."
    )
    error_code = serializers.IntegerField(
        allow_null=True, help_text="Twilio's error code (21610: opted out)."
    )
    error_message = serializers.CharField()
    sent_by = serializers.CharField(
        help_text="The member who wrote it, or what sent it (System: ...)."
    )
    created_at = serializers.DateTimeField()
    queued_at = serializers.DateTimeField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)
    read_at = serializers.DateTimeField(allow_null=True)


# `from` is a Python keyword, so it cannot be written as a class attribute.
MessageSerializer._declared_fields["from"] = serializers.CharField(
    help_text="The clinic's number for texts out."
)


class MessageCreateSerializer(serializers.Serializer):
    patient = serializers.PrimaryKeyRelatedField(
        queryset=Patient.objects.all(), help_text="The patient to text (their id)."
    )
    body = serializers.CharField(max_length=1600, trim_whitespace=True)


class SendRefusalSerializer(serializers.Serializer):
    detail = serializers.CharField()
    reason = serializers.ChoiceField(
        choices=[
            "opted_out",
            "no_sms_consent",
            "no_phone",
            "archived",
            "no_clinic_number",
        ]
    )


class ConversationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.IntegerField(
        allow_null=True, help_text="Empty: a number no single patient owns."
    )
    number = serializers.CharField()
    last_message_at = serializers.DateTimeField(allow_null=True)
    unread_count = serializers.IntegerField()
    needs_attention = serializers.BooleanField(
        help_text="A reply staff must settle (e.g. an ambiguous C)."
    )
    attention_reason = serializers.CharField()
    opted_out = serializers.BooleanField()


class ConversationThreadSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    conversation = ConversationSerializer(allow_null=True)
    can_text = serializers.BooleanField()
    cannot_text_reason = serializers.CharField(allow_blank=True)
    next = serializers.URLField(allow_null=True, help_text="Older texts.")
    previous = serializers.URLField(allow_null=True)
    results = MessageSerializer(many=True)


class ReminderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Reminder.Kind.choices)
    offset_minutes = serializers.IntegerField()
    channel = serializers.CharField()
    visit_start = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Reminder.Status.choices)
    reason = serializers.ChoiceField(
        choices=Reminder.Reason.choices, help_text="Why it was skipped or cancelled."
    )
    detail = serializers.CharField()
    reply_outcome = serializers.CharField()
    message = MessageSerializer(allow_null=True)
