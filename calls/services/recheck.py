"""The check every reminder passes again at the moment it is sent.

A reminder is planned at booking, but the visit can be cancelled, moved or
confirmed afterwards, and the patient can withdraw consent: whatever the
planning said, this decides with the visit's state at sending time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from calls.models import Reminder, ReminderPolicy
from clinic.models import Appointment

Reason = Reminder.Reason
UPCOMING = (Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED)
# Reasons that end a reminder for good because its visit changed.
VISIT_REASONS = frozenset(
    {Reason.VISIT_CANCELLED, Reason.VISIT_MOVED, Reason.VISIT_CLOSED}
)


def status_for(reason: str) -> str:
    return (
        Reminder.Status.CANCELLED
        if reason in VISIT_REASONS
        else Reminder.Status.SKIPPED
    )


def visit_problem(reminder: Reminder, appointment: Appointment) -> tuple[str, str]:
    if appointment.status == Appointment.Status.CANCELLED:
        return Reason.VISIT_CANCELLED, "The visit was cancelled."
    if appointment.status not in UPCOMING:
        return (
            Reason.VISIT_CLOSED,
            f"The visit is {appointment.get_status_display().lower()}.",
        )
    if appointment.start != reminder.visit_start:
        return Reason.VISIT_MOVED, "The visit was moved to another time."
    return "", ""


def reminder_problem(
    reminder: Reminder,
    appointment: Appointment,
    *,
    now: datetime,
    policy: ReminderPolicy | None = None,
) -> tuple[str, str]:
    """Why this reminder must not go out now, as (reason, detail); ("", "") if it may."""
    reason, detail = visit_problem(reminder, appointment)
    if reason:
        return reason, detail
    lead = timedelta(minutes=policy.min_lead_minutes if policy else 0)
    if now >= appointment.start.astimezone(UTC) - lead:
        return Reason.TOO_LATE, "Too close to the visit to be useful."
    patient = appointment.patient
    if not patient.sms_consent:
        return Reason.NO_CONSENT, "The patient has not agreed to texts."
    if not patient.phone:
        return Reason.NO_PHONE, "The patient has no phone number."
    if (
        policy is not None
        and reminder.kind == Reminder.Kind.REMINDER
        and appointment.status == Appointment.Status.CONFIRMED
        and not policy.remind_after_confirmation
    ):
        return Reason.CONFIRMED, "The patient already confirmed."
    return "", ""
