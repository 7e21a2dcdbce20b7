"""What the schedule's services call, inside their own transactions.

`clinic.services.scheduling` calls these on booking, rescheduling and every
status change, so a visit's reminders are created, moved or dropped in the
same transaction as the visit itself: no reminder can outlive its visit's
old time or its cancellation, whatever commits or rolls back.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from calls.models import Reminder, WaitlistOffer
from calls.policy import policy_current
from calls.services.reminders import reminders_drop, reminders_plan
from clinic.models import Appointment
from portal.errors import ApplicationError

Status = Appointment.Status
Reason = Reminder.Reason


def _check_hold(appointment: Appointment) -> None:
    """A slot held for a waitlist offer is not booked by anyone else until it lapses."""
    held = (
        WaitlistOffer.objects.filter(
            status=WaitlistOffer.Status.OPEN,
            provider_id=appointment.provider_id,
            start__lt=appointment.busy_until,
            end__gt=appointment.start,
            hold_until__gt=timezone.now(),
        )
        .order_by("hold_until")
        .first()
    )
    if held is not None:
        raise ApplicationError(
            "This time is held for patients on the waitlist until "
            f"{timezone.localtime(held.hold_until, _zone()):%H:%M}.",
            status=409,
            extra={"held_until": held.hold_until.isoformat()},
        )


def _zone():
    from calls.policy import clinic_zone

    return clinic_zone()


def reminders_on_booked(*, appointment: Appointment) -> None:
    _check_hold(appointment)
    reminders_plan(appointment=appointment, with_confirmation=True, fresh=True)


def reminders_on_rescheduled(*, appointment: Appointment) -> None:
    _check_hold(appointment)
    reminders_drop(
        appointment=appointment,
        reason=Reason.VISIT_MOVED,
        detail="The visit was moved to another time.",
        other_times_only=True,
    )
    # The new time gets its own steps, and a text telling the patient of it.
    reminders_plan(appointment=appointment, with_confirmation=True)


def reminders_on_status_change(*, appointment: Appointment, previous: str) -> None:
    status = appointment.status
    if status == Status.CANCELLED:
        reminders_drop(
            appointment=appointment,
            reason=Reason.VISIT_CANCELLED,
            detail="The visit was cancelled.",
        )
        _offer_freed_slot(appointment)
    elif status in (Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW):
        reminders_drop(
            appointment=appointment,
            reason=Reason.VISIT_CLOSED,
            detail=f"The visit is {appointment.get_status_display().lower()}.",
        )
    elif status == Status.CONFIRMED and not policy_current().remind_after_confirmation:
        reminders_drop(
            appointment=appointment,
            reason=Reason.CONFIRMED,
            detail="The patient already confirmed.",
            kinds=(Reminder.Kind.REMINDER,),
        )


def _offer_freed_slot(appointment: Appointment) -> None:
    """When the clinic lets the system do it, text the waitlist about the freed slot."""
    if appointment.start <= timezone.now() or not policy_current().waitlist_auto_offer:
        return
    args = (
        appointment.provider_id,
        appointment.appointment_type_id,
        appointment.start.isoformat(),
    )

    def enqueue() -> None:
        from calls.tasks import waitlist_offer_auto

        try:
            waitlist_offer_auto.delay(*args)
        except Exception:  # noqa: BLE001 - staff can still offer it from the panel
            import logging

            logging.getLogger(__name__).warning("automatic waitlist offer not enqueued")

    transaction.on_commit(enqueue)
