"""What every form of the clinic's pages shares: the base form and date inputs."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from portal.limits import MAX_DATE, MIN_DATE, validate_supported_date

DATE_WIDGET = forms.DateInput(
    attrs={"type": "date", "min": MIN_DATE.isoformat(), "max": MAX_DATE.isoformat()},
    format="%Y-%m-%d",
)


class SupportedDateField(forms.DateField):
    """A date within the supported range (portal.limits), e.g. not year 9999."""

    default_validators = [validate_supported_date]


class PortalForm(forms.Form):
    """Labels without a trailing colon; required inputs marked by the template."""

    label_suffix = ""

    def add_service_errors(self, exc: ValidationError) -> None:
        """Show a service's ValidationError next to the inputs its keys name."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, errors in exc.error_dict.items():
            self.add_error(key if key in self.fields else None, errors)
