"""Template tags of texting: the navigation's unread count, reminders on the visit and patient pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from calls import selectors
from calls.models import Conversation, Message, Reminder, WaitlistOffer
from calls.permissions import can_edit_policy, can_export_consent, can_send_messages
from calls.services.staff import sending_problem
from clinic.models import ACTIVE_STATUSES, Appointment, Patient

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_messages(context: template.Context) -> int:
    return selectors.unread_total() if context.get("membership") else 0


@register.filter
def may_send(membership) -> bool:
    return can_send_messages(membership)


@register.filter
def may_edit_policy(membership) -> bool:
    return can_edit_policy(membership)


@register.filter
def may_export(membership) -> bool:
    return can_export_consent(membership)


STATE_CLASS = {
    "delivered": "ok",
    "read": "ok",
    "sent": "ok",
    "queued": "ok",
    "confirmed": "ok",
    "failed": "bad",
    "undelivered": "bad",
    "cancelled": "bad",
    "skipped": "muted",
    "canceled": "muted",
    "planned": "plain",
    "sending": "plain",
    "pending": "plain",
}


@register.filter
def reminder_state(reminder: Reminder) -> dict[str, str]:
    """What staff read about a reminder: planned, sent, delivered, replied, skipped and why."""
    message: Message | None = getattr(reminder, "message", None)
    if reminder.reply_outcome:
        return {
            "label": f"Replied: {reminder.reply_outcome}",
            "css": "ok",
            "note": f"“{reminder.reply.body[:40]}”" if reminder.reply else "",
        }
    if reminder.status in (Reminder.Status.SKIPPED, Reminder.Status.CANCELLED):
        return {
            "label": f"{reminder.get_status_display()}: {reminder.get_reason_display().lower()}",
            "css": STATE_CLASS[reminder.status],
            "note": reminder.detail,
        }
    if reminder.status == Reminder.Status.FAILED:
        return {"label": "Failed", "css": "bad", "note": reminder.detail}
    if message is not None and reminder.status in (
        Reminder.Status.SENT,
        Reminder.Status.SENDING,
    ):
        note = (
            f"{message.error_code}: {message.error_message}"
            if message.error_code
            else ""
        )
        return {
            "label": message.get_status_display(),
            "css": STATE_CLASS.get(message.status, "plain"),
            "note": note,
        }
    return {
        "label": reminder.get_status_display(),
        "css": STATE_CLASS.get(reminder.status, "plain"),
        "note": "",
    }


def _slot_offerable(appointment: Appointment) -> tuple[bool, WaitlistOffer | None]:
    if (
        appointment.status != Appointment.Status.CANCELLED
        or appointment.start <= timezone.now()
    ):
        return False, None
    open_offer = WaitlistOffer.objects.filter(
        status=WaitlistOffer.Status.OPEN,
        provider_id=appointment.provider_id,
        start=appointment.start,
        hold_until__gt=timezone.now(),
    ).first()
    taken = Appointment.objects.filter(
        provider_id=appointment.provider_id,
        status__in=ACTIVE_STATUSES,
        start__lt=appointment.busy_until,
        busy_until__gt=appointment.start,
    ).exists()
    return not taken and open_offer is None, open_offer


@register.inclusion_tag("calls/_appointment_reminders.html", takes_context=True)
def appointment_reminders(
    context: template.Context, appointment: Appointment
) -> dict[str, Any]:
    membership = context.get("membership")
    offerable, open_offer = _slot_offerable(appointment)
    return {
        "appointment": appointment,
        "reminders": selectors.appointment_reminders(appointment=appointment),
        "can_offer": offerable and can_send_messages(membership),
        "open_offer": open_offer,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("calls/_patient_texting.html", takes_context=True)
def patient_texting(context: template.Context, patient: Patient) -> dict[str, Any]:
    code, problem = sending_problem(patient)
    conversation = Conversation.objects.filter(patient=patient).first()
    return {
        "patient": patient,
        "conversation": conversation,
        "opted_out": code == "opted_out",
        "problem": problem,
        "reminders": selectors.patient_reminders(patient=patient),
        "membership": context.get("membership"),
    }
