"""Waitlist offers: a freed slot, held for a while and texted to the best-fitting patients.

The first YES wins: its reply locks the offer row, and the slot is booked
through the waitlist's own booking service, so the schedule's rules and its
exclusion constraint still decide. The others are told the slot is taken.
While the offer is open the slot is held (calls.hooks refuses other bookings).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from calls import texts
from calls.actors import Actor, acting_as, actor_label, patient_reply
from calls.models import Message, TemplateKind, WaitlistOffer, WaitlistOfferRecipient
from calls.permissions import require_offerer
from calls.policy import clinic_zone, policy_current
from calls.services.common import conversations_for_patients, current_clinic
from calls.services.consent import number_opted_out
from calls.services.replies import reply_send
from clinic.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentType,
    Provider,
)
from clinic.selectors import waitlist_matches
from clinic.services import waitlist_book
from portal.errors import ApplicationError

OStatus = WaitlistOffer.Status
RStatus = WaitlistOfferRecipient.Status


@transaction.atomic
def waitlist_offer_create(
    *,
    actor: Actor,
    provider: Provider,
    appointment_type: AppointmentType,
    start: datetime,
    entry_ids: list[int] | None = None,
    now: datetime | None = None,
) -> WaitlistOffer:
    """Hold a free slot and text it to the best-fitting waiting patients who take texts."""
    require_offerer(actor)
    now = now or timezone.now()
    start = start.astimezone(UTC)  # elapsed-time arithmetic below
    clinic = current_clinic()
    policy = policy_current()
    end = start + timedelta(minutes=appointment_type.duration_minutes)
    if start <= now + timedelta(minutes=policy.min_lead_minutes):
        raise ApplicationError(
            "This slot starts too soon to offer it by text.", status=409
        )
    if not clinic.main_phone:
        raise ApplicationError(
            "The clinic has no texting number (main phone).", status=409
        )
    busy_until = end + timedelta(minutes=appointment_type.buffer_after_minutes)
    if Appointment.objects.filter(
        provider=provider,
        status__in=ACTIVE_STATUSES,
        is_overbooked=False,
        start__lt=busy_until,
        busy_until__gt=start,
    ).exists():
        raise ApplicationError("This slot is booked already.", status=409)
    matches = waitlist_matches(
        provider=provider, appointment_type=appointment_type, start=start, end=end
    )
    chosen = [
        m.entry
        for m in matches
        if (entry_ids is None or m.entry.pk in entry_ids)
        and m.entry.patient.sms_consent
        and m.entry.patient.phone
        and not number_opted_out(m.entry.patient.phone)
    ][: policy.waitlist_offer_size]
    if not chosen:
        raise ApplicationError(
            "No waiting patient who fits this slot can be texted (consent, number, opt-out).",
            status=409,
        )
    hold_until = now + timedelta(minutes=policy.waitlist_hold_minutes)
    try:
        with transaction.atomic():
            offer = WaitlistOffer.objects.create(
                provider=provider,
                appointment_type=appointment_type,
                start=start,
                end=end,
                hold_until=hold_until,
                created_by=actor_label(actor),
            )
    except IntegrityError as exc:
        raise ApplicationError(
            "This slot is already offered to the waitlist.", status=409
        ) from exc
    conversations = conversations_for_patients([e.patient for e in chosen])
    hold_text = f"{timezone.localtime(hold_until, clinic_zone()):%H:%M}"
    for entry in chosen:
        patient = entry.patient
        message = reply_send(
            clinic=clinic,
            conversation=conversations[patient.pk],
            number=patient.phone,
            kind=TemplateKind.WAITLIST_OFFER,
            patient=patient,
            appointment=None,
            purpose=Message.Purpose.WAITLIST_OFFER,
            label=actor_label(actor),
            extra=_slot_values(
                provider, start, texts.language_of(patient.preferred_language)
            )
            | {"hold_until": hold_text},
            validity_seconds=int((hold_until - now).total_seconds()),
        )
        WaitlistOfferRecipient.objects.create(offer=offer, entry=entry, message=message)
    return offer


def _slot_values(provider: Provider, start: datetime, language: str) -> dict[str, str]:
    tz = clinic_zone()
    return {
        "provider": provider.name,
        "date": texts.format_date(start, tz, language),
        "time": texts.format_time(start, tz, language),
    }


def offer_reply(
    *, recipient: WaitlistOfferRecipient, accept: bool, inbound: Message
) -> str:
    """A recipient answered; returns what happened (booked, declined, missed)."""
    now = timezone.now()
    offer = WaitlistOffer.objects.select_for_update().get(pk=recipient.offer_id)
    recipient = WaitlistOfferRecipient.objects.select_related("entry__patient").get(
        pk=recipient.pk
    )
    if recipient.status == RStatus.MISSED:
        return "missed"  # someone was first; they were told when it happened
    if recipient.status != RStatus.OFFERED:
        return "already_answered"
    recipient.answered_at = now
    clinic = current_clinic()
    patient = recipient.entry.patient
    conversation = conversations_for_patients([patient])[patient.pk]
    language = texts.language_of(patient.preferred_language)
    if not accept:
        recipient.status = RStatus.DECLINED
        recipient.save(update_fields=["status", "answered_at"])
        return "declined"
    if offer.status != OStatus.OPEN or offer.hold_until <= now:
        recipient.status = RStatus.MISSED
        recipient.save(update_fields=["status", "answered_at"])
        reply_send(
            clinic=clinic,
            conversation=conversation,
            number=inbound.from_number,
            kind=TemplateKind.WAITLIST_TAKEN,
            patient=patient,
            extra=_slot_values(offer.provider, offer.start, language),
        )
        return "missed"
    # Closed first, so the hold does not refuse this very booking (calls.hooks).
    offer.status = OStatus.BOOKED
    offer.closed_at = now
    offer.save(update_fields=["status", "closed_at"])
    try:
        with transaction.atomic(), acting_as(patient_reply(inbound.sid)):
            appointment = waitlist_book(
                entry=recipient.entry,
                provider=offer.provider,
                start=offer.start,
                actor=patient_reply(inbound.sid),
            )
            appointment.source = Appointment.Source.REMINDER_REPLY
            appointment.save(update_fields=["source", "updated_at"])
            AppointmentEvent.objects.filter(
                appointment=appointment, kind=AppointmentEvent.Kind.BOOKED
            ).update(
                note=f"Booked by patient reply to a waitlist offer, message {inbound.sid}"
            )
    except (ApplicationError, ValidationError):
        offer.status = OStatus.WITHDRAWN
        offer.save(update_fields=["status"])
        recipient.status = RStatus.MISSED
        recipient.save(update_fields=["status", "answered_at"])
        reply_send(
            clinic=clinic,
            conversation=conversation,
            number=inbound.from_number,
            kind=TemplateKind.WAITLIST_TAKEN,
            patient=patient,
            extra=_slot_values(offer.provider, offer.start, language),
        )
        return "missed"
    offer.appointment = appointment
    offer.save(update_fields=["appointment"])
    recipient.status = RStatus.ACCEPTED
    recipient.save(update_fields=["status", "answered_at"])
    reply_send(
        clinic=clinic,
        conversation=conversation,
        number=inbound.from_number,
        kind=TemplateKind.WAITLIST_WON,
        patient=patient,
        appointment=appointment,
    )
    _tell_the_others(offer, exclude=recipient.pk, clinic=clinic)
    return "booked"


def _tell_the_others(offer: WaitlistOffer, *, exclude: int, clinic) -> None:
    others = list(
        offer.recipients.filter(status=RStatus.OFFERED)
        .exclude(pk=exclude)
        .select_related("entry__patient")
    )
    conversations = conversations_for_patients([r.entry.patient for r in others])
    for other in others:
        patient = other.entry.patient
        reply_send(
            clinic=clinic,
            conversation=conversations[patient.pk],
            number=patient.phone,
            kind=TemplateKind.WAITLIST_TAKEN,
            patient=patient,
            extra=_slot_values(
                offer.provider,
                offer.start,
                texts.language_of(patient.preferred_language),
            ),
        )
    offer.recipients.filter(pk__in=[o.pk for o in others]).update(status=RStatus.MISSED)


def offers_expire(*, now: datetime | None = None) -> int:
    """Open offers past their hold: closed, so the slot is bookable by anyone again."""
    now = now or timezone.now()
    return WaitlistOffer.objects.filter(
        status=OStatus.OPEN, hold_until__lte=now
    ).update(status=OStatus.EXPIRED, closed_at=now)
