"""Beat's tidying of the schedule: lapsed offers, unconfirmed visits, no-shows.

Each visit is changed in a transaction of its own through the schedule's
services, as the system, so one refusal does not stop the rest.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from calls.actors import HOUSEKEEPING, SystemActor, acting_as
from calls.models import Message, Reminder, TemplateKind
from calls.policy import policy_current
from calls.services.common import conversations_for_patients, current_clinic
from calls.services.offers import offers_expire
from calls.services.replies import reply_send
from clinic.models import Appointment
from clinic.services import appointment_cancel, appointment_no_show
from portal.errors import ApplicationError

BATCH = 500
Status = Appointment.Status


def housekeeping_run(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    policy = policy_current()
    done = {
        "offers_expired": offers_expire(now=now),
        "auto_cancelled": 0,
        "no_shows": 0,
    }
    if policy.auto_cancel_unconfirmed:
        done["auto_cancelled"] = unconfirmed_cancel(
            now=now, hours=policy.auto_cancel_hours_before
        )
    done["no_shows"] = no_shows_mark(
        now=now, after_minutes=policy.no_show_after_minutes
    )
    return done


def unconfirmed_cancel(*, now: datetime, hours: int) -> int:
    """Visits still unconfirmed this close to their start, that were asked to confirm."""
    asked = Reminder.objects.filter(
        status=Reminder.Status.SENT,
        message__status__in=[
            Message.Status.QUEUED,
            Message.Status.SENT,
            Message.Status.DELIVERED,
            Message.Status.READ,
        ],
    ).values("appointment_id")
    due = list(
        Appointment.objects.filter(
            status=Status.SCHEDULED,
            start__gt=now,
            start__lte=now + timedelta(hours=hours),
            pk__in=asked,
        )
        .select_related("patient", "provider", "location", "appointment_type")
        .order_by("start")[:BATCH]
    )
    actor = SystemActor("housekeeping", f"not confirmed {hours} h before the visit")
    clinic = current_clinic()
    count = 0
    for appointment in due:
        try:
            with transaction.atomic(), acting_as(actor):
                appointment = appointment_cancel(
                    appointment=appointment,
                    actor=actor,
                    reason=f"Not confirmed {hours} hours before the visit (automatic)",
                )
                patient = appointment.patient
                if patient.phone and patient.sms_consent:
                    reply_send(
                        clinic=clinic,
                        conversation=conversations_for_patients([patient])[patient.pk],
                        number=patient.phone,
                        kind=TemplateKind.AUTO_CANCEL,
                        patient=patient,
                        appointment=appointment,
                        purpose=Message.Purpose.AUTO_CANCEL,
                        label=actor.label,
                    )
        except ApplicationError:
            continue  # it changed meanwhile (confirmed, checked in): leave it
        count += 1
    return count


def no_shows_mark(*, now: datetime, after_minutes: int) -> int:
    """Scheduled or confirmed visits long past their end become no-shows (checked-in ones are not)."""
    due = list(
        Appointment.objects.filter(
            status__in=[Status.SCHEDULED, Status.CONFIRMED],
            # start bounds the index range (clinic_appt_status_start); end decides.
            start__lt=now - timedelta(minutes=after_minutes),
            end__lt=now - timedelta(minutes=after_minutes),
        ).order_by("start")[:BATCH]
    )
    count = 0
    for appointment in due:
        try:
            with transaction.atomic(), acting_as(HOUSEKEEPING):
                appointment_no_show(appointment=appointment, actor=HOUSEKEEPING, at=now)
        except ApplicationError:
            continue
        count += 1
    return count
