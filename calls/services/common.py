"""What the text services share: the clinic in hand, conversations, rendering."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers
from django.db import connection
from django.db.models import F

from calls import texts
from calls.models import Conversation, MessageTemplate, TemplateKind
from clinic.models import Appointment, Patient
from portal.links import clinic_url
from portal.models import Clinic


def current_clinic() -> Clinic:
    """The clinic whose schema is active, read afresh (its number may have changed)."""
    return Clinic.objects.get(schema_name=connection.schema_name)


def status_callback_url(clinic: Clinic, message_id: int) -> str:
    # The outbox row's id rides in the (signed) URL, so a callback can find its
    # row even when the worker that sent it died before storing the SID.
    return clinic_url(clinic, f"/twilio/sms/status/?outbox={message_id}")


def national(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


# --- Conversations ------------------------------------------------------------------


def conversations_for_patients(patients: Iterable[Patient]) -> dict[int, Conversation]:
    """Each patient's conversation, created when missing (one query each way)."""
    by_id = {p.pk: p for p in patients}
    found = {c.patient_id: c for c in Conversation.objects.filter(patient_id__in=by_id)}
    missing = [
        Conversation(patient=p, number=p.phone)
        for pk, p in by_id.items()
        if pk not in found
    ]
    if missing:
        Conversation.objects.bulk_create(missing, ignore_conflicts=True)
        found = {
            c.patient_id: c for c in Conversation.objects.filter(patient_id__in=by_id)
        }
    return found


def conversation_for(*, patient: Patient | None, number: str) -> Conversation:
    """The patient's conversation, or the one of a number no single patient owns."""
    if patient is not None:
        return conversations_for_patients([patient])[patient.pk]
    conversation = Conversation.objects.filter(
        patient__isnull=True, number=number
    ).first()
    if conversation is None:
        Conversation.objects.bulk_create(
            [Conversation(number=number)], ignore_conflicts=True
        )
        conversation = Conversation.objects.get(patient__isnull=True, number=number)
    return conversation


def conversations_touch(ids: Iterable[int], *, at: datetime, unread: int = 0) -> None:
    ids = list(set(ids))
    if not ids:
        return
    updates: dict = {"last_message_at": at}
    if unread:
        updates["unread_count"] = F("unread_count") + unread
    Conversation.objects.filter(pk__in=ids).update(**updates)


# --- Rendering --------------------------------------------------------------------


class Templates:
    """The clinic's own wording, read once, with the shipped wording behind it."""

    def __init__(self) -> None:
        self.rows = {
            (t.kind, t.language, t.appointment_type_id): t.body
            for t in MessageTemplate.objects.all()
        }

    def body(
        self, kind: str, language: str, appointment_type_id: int | None = None
    ) -> str:
        for key in (
            (kind, language, appointment_type_id),
            (kind, language, None),
        ):
            if key in self.rows:
                return self.rows[key]
        return texts.DEFAULTS[TemplateKind(kind)][language]


def visit_values(
    *, clinic: Clinic, appointment: Appointment, language: str, ask_to_confirm: bool
) -> dict[str, str]:
    tz = _zone(clinic)
    confirm, cancel_only = texts.REPLY_INSTRUCTIONS[language]
    return {
        "first_name": appointment.patient.first_name,
        "clinic": clinic.name,
        "clinic_phone": national(clinic.main_phone) if clinic.main_phone else "",
        "provider": appointment.provider.name,
        "date": texts.format_date(appointment.start, tz, language),
        "time": texts.format_time(appointment.start, tz, language),
        "location": appointment.location.name,
        "reply_instructions": confirm if ask_to_confirm else cancel_only,
    }


def clinic_values(clinic: Clinic, patient: Patient | None = None) -> dict[str, str]:
    return {
        "first_name": patient.first_name if patient else "",
        "clinic": clinic.name,
        "clinic_phone": national(clinic.main_phone) if clinic.main_phone else "",
    }


def _zone(clinic: Clinic) -> ZoneInfo:
    return ZoneInfo(clinic.timezone or "UTC")
