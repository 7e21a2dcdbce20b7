"""The audit page's filters."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet

from clinic.forms.base import DATE_WIDGET, PortalForm, SupportedDateField
from clinic.models import AuditEntry
from portal.limits import MAX_ID
from portal.models import Membership
from portal.pagination import MAX_PAGE_NUMBER

# --- Audit page ----------------------------------------------------------------------

ACTIONS = {
    "create": AuditEntry.Action.CREATE,
    "update": AuditEntry.Action.UPDATE,
    "delete": AuditEntry.Action.DELETE,
    "access": AuditEntry.Action.ACCESS,
}


class AuditFilterForm(PortalForm):
    user = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="User"
    )
    patient = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        label="Patient ID",
        widget=forms.NumberInput(attrs={"placeholder": "e.g. 42"}),
    )
    action = forms.ChoiceField(
        required=False,
        choices=[("", "Any action")] + [(key, key.capitalize()) for key in ACTIONS],
    )
    start = SupportedDateField(required=False, label="From", widget=DATE_WIDGET)
    end = SupportedDateField(required=False, label="To", widget=DATE_WIDGET)
    page = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_NUMBER, widget=forms.HiddenInput
    )

    def __init__(self, data: Any, *, members: QuerySet[Membership]) -> None:
        super().__init__(data)
        self.fields["user"].choices = [("", "Anyone")] + [
            (
                m.user_id,
                f"{m.user.full_name} ({m.user.email})"
                if m.user.full_name
                else m.user.email,
            )
            for m in members
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date is before the start date.")
        return data

    def selector_kwargs(self, *, tz_name: str) -> dict[str, Any]:
        """Filters for clinic.selectors.audit_entries.

        Dates are whole days in the clinic's timezone.
        """
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        tz = zoneinfo.ZoneInfo(tz_name)
        kwargs: dict[str, Any] = {
            "actor_id": data.get("user"),
            "patient_id": data.get("patient"),
            "action": ACTIONS.get(data.get("action") or ""),
        }
        if data.get("start"):
            kwargs["start"] = datetime.combine(data["start"], time.min, tzinfo=tz)
        if data.get("end"):
            kwargs["end"] = datetime.combine(
                data["end"] + timedelta(days=1), time.min, tzinfo=tz
            )
        return kwargs

    def page_number(self) -> int:
        return (self.cleaned_data.get("page") if self.is_valid() else None) or 1
