"""Forms of the staff pages: patient search, the patient form, audit filters.

Forms parse and shape input; the rules live in clinic.services, whose
ValidationErrors are put back on the matching inputs with `add_service_errors`.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from clinic.models import LANGUAGE_CHOICES, AuditEntry, Patient, Workflow
from clinic.services import PATIENT_FIELDS
from clinic.workflows import fields_from_schema
from portal.limits import MAX_DATE, MAX_ID, MIN_DATE, parse_id, validate_supported_date
from portal.models import Membership
from portal.pagination import MAX_PAGE_NUMBER
from portal.validators import normalize_phone

WORKFLOW_PREFIX = "fields."
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


# --- Patient list ------------------------------------------------------------------


class PatientSearchForm(PortalForm):
    STATUS_CHOICES = [
        (Patient.Status.ACTIVE, "Active"),
        (Patient.Status.ARCHIVED, "Archived"),
        ("all", "All statuses"),
    ]

    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search patients",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Name, phone or date of birth",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
    )
    workflow = forms.ChoiceField(required=False, label="Workflow")
    status = forms.ChoiceField(required=False, label="Status", choices=STATUS_CHOICES)
    page = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_NUMBER, widget=forms.HiddenInput
    )

    def __init__(self, data: Any, *, workflows: QuerySet[Workflow]) -> None:
        data = data.copy()
        # Archived patients stay out of the list unless asked for.
        if not data.get("status"):
            data["status"] = Patient.Status.ACTIVE
        super().__init__(data)
        self.fields["workflow"].choices = [("", "All workflows")] + [
            (w.slug, w.name) for w in workflows
        ]

    def selector_kwargs(self) -> dict[str, str]:
        """Filters for clinic.selectors.patient_list; an invalid filter is left out."""
        self.is_valid()
        data = self.cleaned_data  # holds only the inputs that are valid
        status = data.get("status") or Patient.Status.ACTIVE
        return {
            "q": data.get("q") or "",
            "workflow": data.get("workflow") or "",
            "status": "" if status == "all" else status,
        }

    def page_number(self) -> int:
        return (self.cleaned_data.get("page") if self.is_valid() else None) or 1


# --- Patient create and edit -------------------------------------------------------


class PatientForm(PortalForm):
    """Core patient fields plus the workflow's own ones (named `fields.<name>`)."""

    first_name = forms.CharField(
        max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    last_name = forms.CharField(
        max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    date_of_birth = SupportedDateField(label="Date of birth", widget=DATE_WIDGET)
    sex = forms.ChoiceField(choices=Patient.Sex.choices, initial=Patient.Sex.UNKNOWN)
    phone = forms.CharField(
        required=False,
        max_length=40,
        help_text="Any common format, e.g. (415) 555-0123 or +14155550123.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    email = forms.EmailField(
        required=False, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    address = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    preferred_language = forms.ChoiceField(
        label="Preferred language", choices=LANGUAGE_CHOICES, initial="en"
    )
    sms_consent = forms.BooleanField(required=False, label="Agrees to text messages")
    voice_consent = forms.BooleanField(
        required=False, label="Agrees to automated calls"
    )
    status = forms.ChoiceField(choices=Patient.Status.choices)
    workflow = forms.ModelChoiceField(
        queryset=Workflow.objects.none(),
        empty_label=None,
        help_text="Decides which extra fields this patient has.",
    )

    CORE_FIELDS = tuple(n for n in PATIENT_FIELDS if n not in ("status", "fields"))

    def __init__(
        self,
        data: Any = None,
        *,
        workflows: QuerySet[Workflow],
        workflow: Workflow | None,
        with_status: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.fields["workflow"].queryset = workflows
        if not with_status:
            del self.fields["status"]
        # The workflow in the submitted data (or the initial data) decides the
        # extra fields; the patient's or the default workflow otherwise.
        chosen = str(
            (self.data if self.is_bound else self.initial).get("workflow") or ""
        )
        chosen_id = parse_id(chosen)
        picked = workflows.filter(pk=chosen_id).first() if chosen_id else None
        # Not `self.workflow`: templates look up form["workflow"] (the input) first.
        self.chosen_workflow = picked or workflow
        if self.chosen_workflow is not None and not self.is_bound:
            self.initial["workflow"] = self.chosen_workflow.pk
        self.workflow_field_names: list[str] = []
        schema = self.chosen_workflow.fields_schema if self.chosen_workflow else {}
        for definition in fields_from_schema(schema or {}):
            name = WORKFLOW_PREFIX + definition["name"]
            self.fields[name] = workflow_form_field(definition)
            self.workflow_field_names.append(name)

    @classmethod
    def initial_for(cls, patient: Patient) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(patient, name) for name in cls.CORE_FIELDS
        }
        initial["status"] = patient.status
        initial["workflow"] = patient.workflow_id
        for name, value in (patient.fields or {}).items():
            initial[WORKFLOW_PREFIX + name] = value
        return initial

    @property
    def core_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.CORE_FIELDS]

    @property
    def workflow_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.workflow_field_names]

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        return normalize_phone(phone) if phone else ""

    def service_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for clinic.services.patient_create / patient_update."""
        data = self.cleaned_data
        kwargs: dict[str, Any] = {name: data[name] for name in self.CORE_FIELDS}
        if "status" in self.fields:
            kwargs["status"] = data["status"]
        kwargs["workflow"] = data["workflow"]
        values: dict[str, Any] = {}
        for name in self.workflow_field_names:
            value = data.get(name)
            if value is None or value == "":
                continue
            if isinstance(value, date):
                value = value.isoformat()
            values[name.removeprefix(WORKFLOW_PREFIX)] = value
        kwargs["fields"] = values
        return kwargs


def _yes_no(value: str) -> bool | None:
    return {"True": True, "False": False}.get(value)


def workflow_form_field(definition: dict) -> forms.Field:
    """The form input for one workflow field definition (see clinic.workflows)."""
    kind = definition["type"]
    common: dict[str, Any] = {
        "label": definition["label"],
        "required": definition["required"],
    }
    if kind == "integer":
        return forms.IntegerField(**common)
    if kind == "number":
        return forms.FloatField(
            **common, widget=forms.NumberInput(attrs={"step": "any"})
        )
    if kind == "date":
        return SupportedDateField(**common, widget=DATE_WIDGET)
    if kind == "choice":
        choices = [("", "Choose…")] + [(c, c) for c in definition["choices"]]
        return forms.ChoiceField(**common, choices=choices)
    if kind == "boolean":
        if definition["required"]:
            # A required yes/no must be answered, so it is a choice, not a checkbox
            # (an unticked box cannot tell "no" from "not asked").
            return forms.TypedChoiceField(
                **common,
                # "True"/"False" is how a stored bool renders: edits preselect it.
                choices=[("", "Choose…"), ("True", "Yes"), ("False", "No")],
                coerce=_yes_no,
                empty_value=None,
            )
        return forms.BooleanField(label=definition["label"], required=False)
    return forms.CharField(**common, max_length=500)


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
