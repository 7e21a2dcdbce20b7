"""Clinic admins change the reminder policy, a visit type's steps, and the texts' wording."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from calls import texts
from calls.actors import Actor, acting_as, actor_label
from calls.models import (
    MessageTemplate,
    ReminderPolicy,
    ReminderTypePolicy,
    TemplateKind,
)
from calls.permissions import require_policy_editor
from calls.policy import policy_current
from clinic.models import AppointmentType

POLICY_FIELDS = (
    "steps",
    "booking_confirmation",
    "booking_grace_minutes",
    "quiet_hours",
    "quiet_start",
    "quiet_end",
    "min_lead_minutes",
    "daily_cap",
    "weekly_cap",
    "remind_after_confirmation",
    "auto_cancel_unconfirmed",
    "auto_cancel_hours_before",
    "no_show_after_minutes",
    "waitlist_auto_offer",
    "waitlist_hold_minutes",
    "waitlist_offer_size",
    "reply_window_days",
)
MAX_OFFSET_MINUTES = 30 * 24 * 60


def steps_clean(steps: list) -> list[dict]:
    """Steps as stored: distinct offsets in minutes (5 min to 30 days), SMS, latest first."""
    if not isinstance(steps, list) or len(steps) > 6:
        raise ValidationError({"steps": ["Give at most six reminder steps."]})
    offsets = set()
    for step in steps:
        minutes = step.get("offset_minutes") if isinstance(step, dict) else None
        if not isinstance(minutes, int) or not 5 <= minutes <= MAX_OFFSET_MINUTES:
            raise ValidationError(
                {"steps": ["Each step is 5 minutes to 30 days before the visit."]}
            )
        if step.get("channel", "sms") != "sms":
            raise ValidationError({"steps": ["Reminders go by text (sms)."]})
        offsets.add(minutes)
    return [
        {"offset_minutes": m, "channel": "sms"} for m in sorted(offsets, reverse=True)
    ]


@transaction.atomic
def reminder_policy_update(*, actor: Actor, **changes) -> ReminderPolicy:
    require_policy_editor(actor)
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationError({name: ["Not a policy setting."] for name in unknown})
    policy = ReminderPolicy.objects.select_for_update().first() or policy_current()
    if "steps" in changes:
        changes["steps"] = steps_clean(changes["steps"])
    for name, value in changes.items():
        setattr(policy, name, value)
    policy.updated_by = actor_label(actor)[:254]
    policy.full_clean(exclude=["singleton"])
    if policy.weekly_cap < policy.daily_cap:
        raise ValidationError(
            {"weekly_cap": ["The weekly cap cannot be below the daily cap."]}
        )
    with acting_as(actor):
        policy.save()
    _replan_after_commit()
    return policy


@transaction.atomic
def reminder_type_policy_save(
    *,
    actor: Actor,
    appointment_type: AppointmentType,
    reminders_enabled: bool,
    steps: list | None,
    booking_confirmation: bool | None,
) -> ReminderTypePolicy | None:
    """A visit type's own steps; all defaults (enabled, inherited) removes the override."""
    require_policy_editor(actor)
    if reminders_enabled and steps is None and booking_confirmation is None:
        ReminderTypePolicy.objects.filter(appointment_type=appointment_type).delete()
        _replan_after_commit()
        return None
    row, _ = ReminderTypePolicy.objects.update_or_create(
        appointment_type=appointment_type,
        defaults={
            "reminders_enabled": reminders_enabled,
            "steps": steps_clean(steps) if steps is not None else None,
            "booking_confirmation": booking_confirmation,
        },
    )
    _replan_after_commit()
    return row


@transaction.atomic
def message_template_save(
    *,
    actor: Actor,
    kind: str,
    language: str,
    body: str,
    appointment_type: AppointmentType | None = None,
) -> MessageTemplate | None:
    """The clinic's wording of one text; an empty body goes back to the shipped wording."""
    require_policy_editor(actor)
    if kind not in TemplateKind.values:
        raise ValidationError({"kind": ["Not a kind of text."]})
    if language not in texts.LANGUAGES:
        raise ValidationError(
            {"language": ["Texts are written in English or Spanish."]}
        )
    body = (body or "").strip()
    rows = MessageTemplate.objects.filter(
        kind=kind, language=language, appointment_type=appointment_type
    )
    if (
        not body
        or body == texts.DEFAULTS[TemplateKind(kind)][language]
        and appointment_type is None
    ):
        rows.delete()
        return None
    problems = texts.template_problems(body)
    if problems:
        raise ValidationError({"body": problems})
    template, _ = MessageTemplate.objects.update_or_create(
        kind=kind,
        language=language,
        appointment_type=appointment_type,
        defaults={"body": body, "updated_by": actor_label(actor)[:254]},
    )
    return template


def _replan_after_commit() -> None:
    from calls.tasks import reminders_replan

    def enqueue() -> None:
        try:
            reminders_replan.delay()
        except Exception:  # noqa: BLE001 - the next change or booking plans again
            import logging

            logging.getLogger(__name__).warning("replanning reminders not enqueued")

    transaction.on_commit(enqueue)
