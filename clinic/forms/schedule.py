"""Forms of the schedule pages: booking, the appointment panel's moves, the waitlist.

They parse and shape input only. Dates and times are the clinic's wall clock;
`clean` turns them into aware instants (clinic.clock.local_instant), and
the rules stay in clinic.services, whose errors come back with
`add_service_errors`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms
from django.db.models import QuerySet

from clinic.clock import clinic_tz, local_instant
from clinic.forms.base import DATE_WIDGET, PortalForm, SupportedDateField
from clinic.models import (
    Appointment,
    AppointmentType,
    AvailabilityBlock,
    Patient,
    Provider,
)
from portal.limits import DATE_RANGE_MESSAGE, date_in_range, date_problem, parse_id

TIME_WIDGET = forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")
WEEKDAY_CHOICES = [(day.value, day.label[:3]) for day in AvailabilityBlock.Weekday]
CANCEL_REASONS = [
    "Patient asked to cancel",
    "Patient is unwell",
    "Provider unavailable",
    "Booked in error",
    "Clinic closure",
]


def parse_local(text: str | None) -> datetime | None:
    """'YYYY-MM-DDTHH:MM' on the clinic's clock, or an ISO instant, made aware.

    None when it does not parse, or falls outside the supported dates and
    offsets (portal.limits).
    """
    parsed = _parse_iso(text)
    if parsed is None or date_problem(parsed) is not None:
        return None
    if parsed.tzinfo is not None:
        return parsed
    return local_instant(parsed.date(), parsed.time(), clinic_tz())


def _parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        return None


class _WhenMixin:
    """Date and time inputs that together make `start`, an aware instant."""

    def _clean_start(self) -> None:
        data = self.cleaned_data  # type: ignore[attr-defined]
        day, wall = data.get("date"), data.get("time")
        if day is None or wall is None:
            return
        start = local_instant(day, wall, clinic_tz())
        if start is None:
            self.add_error("time", "The clock skips this time (daylight saving).")  # type: ignore[attr-defined]
            return
        data["start"] = start

    def add_service_errors(self, exc) -> None:
        # The service speaks of `start`; the page has a date and a time input.
        if hasattr(exc, "error_dict") and "start" in exc.error_dict:
            exc.error_dict["time"] = exc.error_dict.pop("start")
        super().add_service_errors(exc)  # type: ignore[misc]


class BookingForm(_WhenMixin, PortalForm):
    """A visit with one provider at a time the staff member picked on the calendar."""

    patient = forms.ModelChoiceField(
        queryset=Patient.objects.all(),
        error_messages={
            "required": "Search for the patient and pick them from the list.",
            "invalid_choice": "That patient no longer exists.",
        },
    )
    appointment_type = forms.ModelChoiceField(
        queryset=AppointmentType.objects.none(), label="Visit type", empty_label=None
    )
    date = SupportedDateField(widget=DATE_WIDGET)
    time = forms.TimeField(widget=TIME_WIDGET)
    reason = forms.CharField(
        required=False,
        max_length=300,
        label="Reason for visit",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "placeholder": "e.g. Follow-up on blood pressure",
            }
        ),
    )
    overbook = forms.BooleanField(
        required=False, label="Overbook (book over another visit)"
    )
    overbook_reason = forms.ChoiceField(
        required=False,
        label="Why overbook",
        choices=[("", "Choose…")] + list(Appointment.OverbookReason.choices),
    )

    def __init__(
        self, data: Any = None, *, provider: Provider, can_overbook: bool, **kwargs: Any
    ) -> None:
        super().__init__(data, **kwargs)
        self.provider = provider
        self.can_overbook = can_overbook
        self.fields["appointment_type"].queryset = provider.appointment_types.filter(
            is_active=True
        ).order_by("name")
        if not can_overbook:
            del self.fields["overbook"]
            del self.fields["overbook_reason"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._clean_start()
        if data.get("overbook") and not data.get("overbook_reason"):
            self.add_error("overbook_reason", "Choose why this visit is overbooked.")
        return data

    def service_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for clinic.services.appointment_book (booked_by aside)."""
        data = self.cleaned_data
        kwargs: dict[str, Any] = {
            "patient": data["patient"],
            "provider": self.provider,
            "appointment_type": data["appointment_type"],
            "start": data["start"],
            "reason": data.get("reason", ""),
        }
        if data.get("overbook"):
            kwargs.update(overbook=True, overbook_reason=data["overbook_reason"])
        return kwargs


class CancelForm(PortalForm):
    reason = forms.CharField(
        max_length=300,
        label="Reason",
        required=False,  # the service's rule, so the message is the service's
        widget=forms.TextInput(attrs={"list": "cancel-reasons", "autocomplete": "off"}),
    )


class RescheduleForm(_WhenMixin, PortalForm):
    """A new date, time and (optionally) provider for a visit."""

    date = SupportedDateField(label="New date", widget=DATE_WIDGET)
    time = forms.TimeField(label="New time", widget=TIME_WIDGET)
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.none(), empty_label=None
    )

    def __init__(
        self, data: Any = None, *, appointment: Appointment, **kwargs: Any
    ) -> None:
        local = appointment.start.astimezone(clinic_tz())
        initial = {
            "date": local.date(),
            "time": local.time(),
            "provider": appointment.provider_id,
        }
        super().__init__(data, initial=initial, prefix=f"r{appointment.pk}", **kwargs)
        self.fields[
            "provider"
        ].queryset = appointment.appointment_type.providers.filter(
            is_active=True
        ).order_by("name")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._clean_start()
        return data


class PatientPickForm(PortalForm):
    q = forms.CharField(required=False, max_length=100)


class WaitlistForm(PortalForm):
    """A waiting patient and what a slot must be for them."""

    patient = forms.ModelChoiceField(
        queryset=Patient.objects.all(),
        error_messages={
            "required": "Search for the patient and pick them from the list."
        },
    )
    appointment_type = forms.ModelChoiceField(
        queryset=AppointmentType.objects.filter(is_active=True).order_by("name"),
        label="Visit type",
        empty_label="Choose…",
    )
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.filter(is_active=True).order_by("name"),
        required=False,
        empty_label="Any provider",
    )
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAY_CHOICES,
        coerce=int,
        required=False,
        label="Days",
        help_text="None ticked: any day.",
        widget=forms.CheckboxSelectMultiple,
    )
    earliest_time = forms.TimeField(required=False, label="From", widget=TIME_WIDGET)
    latest_time = forms.TimeField(required=False, label="Until", widget=TIME_WIDGET)
    earliest_date = SupportedDateField(
        required=False, label="Not before", widget=DATE_WIDGET
    )
    latest_date = SupportedDateField(
        required=False, label="No later than", widget=DATE_WIDGET
    )
    notes = forms.CharField(
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def service_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for clinic.services.waitlist_add."""
        data = self.cleaned_data
        return {
            name: data.get(name)
            for name in (
                "patient",
                "appointment_type",
                "provider",
                "weekdays",
                "earliest_time",
                "latest_time",
                "earliest_date",
                "latest_date",
            )
        } | {"notes": data.get("notes") or ""}


class WaitlistBookForm(PortalForm):
    """The freed slot a waiting patient is booked into."""

    provider = forms.ModelChoiceField(
        queryset=Provider.objects.all(), widget=forms.HiddenInput
    )
    start = forms.CharField(widget=forms.HiddenInput)

    def clean_start(self) -> datetime:
        text = self.cleaned_data["start"]
        start = parse_local(text)
        if start is None:
            parsed = _parse_iso(text)
            problem = date_problem(parsed) if parsed is not None else None
            raise forms.ValidationError(problem or "Give the slot's start time.")
        return start


class DayOutOfRange(ValueError):
    """A calendar date that parses but lies outside the supported dates."""

    message = DATE_RANGE_MESSAGE


def parse_day(text: str | None, default: date) -> date:
    """The calendar's `date`; `default` when absent or unreadable.

    Raises DayOutOfRange for a real date the calendars cannot show (year 9999).
    """
    try:
        day = date.fromisoformat(text) if text else default
    except ValueError:
        return default
    if not date_in_range(day):
        raise DayOutOfRange(DATE_RANGE_MESSAGE)
    return day


def parse_ids(values: list[str]) -> list[int]:
    """Row ids from repeated query values; anything else is left out."""
    return sorted({pk for pk in map(parse_id, values) if pk is not None})


def active_providers() -> QuerySet[Provider]:
    return Provider.objects.filter(is_active=True).order_by("name", "id")
