"""Forms of the texting pages: a reply, the message log's filters, the reminder policy."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

from calls import texts
from calls.models import Message, ReminderPolicy, TemplateKind
from portal.limits import MAX_ID, validate_supported_date

_OFFSET = re.compile(r"^(\d{1,4})\s*([dhm]?)$")
_UNIT = {"d": 24 * 60, "h": 60, "m": 1, "": 60}


def parse_offsets(text: str) -> list[int]:
    """ "72h, 24h, 90m, 2d" as minutes before the visit (a bare number is hours)."""
    minutes = []
    for token in filter(None, (t.strip().lower() for t in (text or "").split(","))):
        match = _OFFSET.match(token)
        if not match:
            raise ValidationError(
                f"“{token}” is not a time before the visit; write e.g. 72h, 24h, 90m or 2d."
            )
        minutes.append(int(match.group(1)) * _UNIT[match.group(2)])
    return minutes


def offsets_text(steps: list[dict] | None) -> str:
    parts = []
    for step in steps or []:
        m = int(step["offset_minutes"])
        parts.append(
            f"{m // 1440}d"
            if m % 1440 == 0 and m >= 2880
            else f"{m // 60}h"
            if m % 60 == 0
            else f"{m}m"
        )
    return ", ".join(parts)


class ReplyForm(forms.Form):
    body = forms.CharField(
        max_length=1600,
        label="Message",
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "Write a text to the patient…"}
        ),
    )


class LogFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Patient name")
    patient = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Message.Status.choices]
    )
    direction = forms.ChoiceField(
        required=False, choices=[("", "In and out"), *Message.Direction.choices]
    )
    purpose = forms.ChoiceField(
        required=False, choices=[("", "Any kind"), *Message.Purpose.choices]
    )
    start = forms.DateField(
        required=False,
        label="From",
        validators=[validate_supported_date],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        required=False,
        label="Until",
        validators=[validate_supported_date],
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end is before the start.")
        return data


def _minutes(label: str, low: int, high: int, **extra) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=low, max_value=high, **extra)


class PolicyForm(forms.Form):
    steps = forms.CharField(
        required=False,
        max_length=100,
        label="Reminders before the visit",
        help_text="Comma-separated, e.g. 72h, 24h (3h optional). Empty: no reminders.",
    )
    booking_confirmation = forms.BooleanField(
        required=False, label="Text a confirmation when a visit is booked"
    )
    booking_grace_minutes = _minutes(
        "…after this many minutes",
        0,
        120,
        help_text="A quick correction then sends one text, not two.",
    )
    remind_after_confirmation = forms.BooleanField(
        required=False,
        label="Keep reminding after the patient confirmed (without asking again)",
    )
    quiet_hours = forms.BooleanField(required=False, label="Quiet hours (clinic time)")
    quiet_start = forms.TimeField(
        label="No texts from", widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_end = forms.TimeField(
        label="until", widget=forms.TimeInput(attrs={"type": "time"})
    )
    min_lead_minutes = _minutes(
        "Skip a reminder that can only go out less than this many minutes before the visit",
        0,
        1440,
    )
    daily_cap = _minutes("At most this many reminders a day per number", 1, 10)
    weekly_cap = _minutes("…and this many a week", 1, 30)
    auto_cancel_unconfirmed = forms.BooleanField(
        required=False,
        label="Cancel visits still unconfirmed (with a text) before they start",
    )
    auto_cancel_hours_before = _minutes("…this many hours before", 1, 168)
    no_show_after_minutes = _minutes(
        "Mark a no-show this many minutes after the visit's end", 5, 1440
    )
    waitlist_auto_offer = forms.BooleanField(
        required=False, label="Text the waitlist when a slot frees up"
    )
    waitlist_hold_minutes = _minutes("Hold an offered slot for (minutes)", 5, 1440)
    waitlist_offer_size = _minutes("Offer a slot to this many patients at once", 1, 20)
    reply_window_days = _minutes(
        "A reply counts for a reminder sent at most this many days before", 1, 30
    )

    @classmethod
    def for_policy(cls, policy: ReminderPolicy, data=None) -> PolicyForm:
        initial = {
            name: getattr(policy, name) for name in cls.base_fields if name != "steps"
        }
        initial["steps"] = offsets_text(policy.steps)
        return cls(data, initial=initial)

    def clean_steps(self) -> list[dict]:
        return [
            {"offset_minutes": m, "channel": "sms"}
            for m in parse_offsets(self.cleaned_data["steps"])
        ]


class TemplateForm(forms.Form):
    kind = forms.ChoiceField(choices=TemplateKind.choices, widget=forms.HiddenInput)
    language = forms.ChoiceField(
        choices=[(lang, lang) for lang in texts.LANGUAGES], widget=forms.HiddenInput
    )
    body = forms.CharField(
        required=False, max_length=1600, widget=forms.Textarea(attrs={"rows": 3})
    )


class TypePolicyForm(forms.Form):
    reminders_enabled = forms.BooleanField(required=False, label="Reminders on")
    steps = forms.CharField(
        required=False,
        max_length=100,
        label="Own steps",
        help_text="Empty: the clinic's steps.",
    )
    booking_confirmation = forms.ChoiceField(
        required=False,
        label="Booking confirmation",
        choices=[("", "As the clinic"), ("yes", "Always"), ("no", "Never")],
    )

    def clean_steps(self) -> list[dict] | None:
        raw = self.cleaned_data["steps"].strip()
        if not raw:
            return None
        return [{"offset_minutes": m, "channel": "sms"} for m in parse_offsets(raw)]

    def clean_booking_confirmation(self) -> bool | None:
        return {"": None, "yes": True, "no": False}[
            self.cleaned_data["booking_confirmation"]
        ]
