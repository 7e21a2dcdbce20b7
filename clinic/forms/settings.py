"""The clinic's own settings, changed by its admins (clinic.services.setup)."""

from __future__ import annotations

from typing import Any

from django import forms

from clinic.forms.base import PortalForm
from portal.models import Clinic


class ClinicSettingsForm(PortalForm):
    allow_overbooking = forms.BooleanField(
        required=False,
        label="Allow overbooking",
        help_text="Staff allowed to overbook may then book over an existing visit.",
    )
    booking_min_notice_minutes = forms.IntegerField(
        min_value=0,
        max_value=7 * 24 * 60,
        label="Minimum booking notice (minutes)",
        help_text="No visit is booked or moved to start sooner than this from now.",
    )
    password_expiry_days = forms.IntegerField(
        min_value=0,
        max_value=3650,
        label="Password expiry (days)",
        help_text="Staff choose a new password after this many days; 0 never.",
    )

    @classmethod
    def initial_for(cls, clinic: Clinic) -> dict[str, Any]:
        return {name: getattr(clinic, name) for name in cls.base_fields}
