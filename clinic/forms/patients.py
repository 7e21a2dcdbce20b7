"""Forms of the patient pages: the patient list's search and the patient form.

Forms parse and shape input; the rules live in clinic.services, whose
ValidationErrors are put back on the matching inputs with `add_service_errors`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.db.models import QuerySet

from clinic.forms.base import DATE_WIDGET, PortalForm, SupportedDateField
from clinic.models import LANGUAGE_CHOICES, Patient, Workflow
from clinic.services import PATIENT_FIELDS
from clinic.workflows import fields_from_schema
from portal.limits import parse_id
from portal.pagination import MAX_PAGE_NUMBER
from portal.validators import normalize_phone

WORKFLOW_PREFIX = "fields."


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
