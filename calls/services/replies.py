"""Texts the portal answers with (HELP, confirmations, offers' outcomes), through the outbox."""

from __future__ import annotations

from calls import texts
from calls.models import Conversation, Message, TemplateKind
from calls.services.common import Templates, clinic_values, visit_values
from calls.services.consent import number_opted_out
from calls.services.outbox import message_queue
from clinic.models import Appointment, Patient
from portal.models import Clinic


def reply_send(
    *,
    clinic: Clinic,
    conversation: Conversation,
    number: str,
    kind: str,
    patient: Patient | None,
    appointment: Appointment | None = None,
    purpose: str = Message.Purpose.AUTO_REPLY,
    extra: dict[str, str] | None = None,
    label: str = "System: automatic reply",
    validity_seconds: int | None = None,
) -> Message | None:
    """Queue an automatic text in the patient's language; None when it must not go."""
    if not clinic.main_phone or number_opted_out(number):
        return None
    language = texts.language_of(patient.preferred_language if patient else "en")
    type_id = appointment.appointment_type_id if appointment else None
    template = Templates().body(TemplateKind(kind), language, type_id)
    values = (
        visit_values(
            clinic=clinic,
            appointment=appointment,
            language=language,
            ask_to_confirm=False,
        )
        if appointment is not None
        else clinic_values(clinic, patient)
    )
    values.update(extra or {})
    body = texts.render(template, values)
    return message_queue(
        conversation=conversation,
        patient=patient,
        appointment=appointment,
        purpose=purpose,
        to_number=number,
        from_number=clinic.main_phone,
        body=body,
        segments=texts.segments(body).count,
        sent_by_label=label,
        validity_seconds=validity_seconds,
    )
