"""Forms of the task, clinical note and notification pages."""

from __future__ import annotations

from typing import Any

from django import forms

from clinic.forms.base import DATE_WIDGET, PortalForm, SupportedDateField
from clinic.models import NotificationKind, Patient, Prescription, Task
from clinic.selectors.tasks import DUE_CHOICES, clinic_members, member_label
from portal.models import Membership
from portal.pagination import MAX_PAGE_NUMBER


class _MembersForm(PortalForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = clinic_members()


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{member_label(obj)} ({obj.get_role_display()})"


def _member_field(**kwargs: Any) -> MemberChoiceField:
    # The clinic is the request's: the queryset is set when a form is made.
    return MemberChoiceField(
        queryset=Membership.objects.none(),
        required=False,
        empty_label="Nobody yet",
        error_messages={"invalid_choice": "Choose an active member of this clinic."},
        **kwargs,
    )


# --- Tasks ----------------------------------------------------------------------------


class TaskFilterForm(PortalForm):
    """Filters of the task lists (GET); a bad value filters nothing and says so."""

    state = forms.MultipleChoiceField(
        required=False, choices=Task.State.choices, widget=forms.CheckboxSelectMultiple
    )
    assignee = forms.ChoiceField(required=False, label="Assignee")
    priority = forms.MultipleChoiceField(
        required=False,
        choices=Task.Priority.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    kind = forms.ChoiceField(
        required=False, label="Kind", choices=[("", "Any kind"), *Task.Kind.choices]
    )
    due = forms.ChoiceField(
        required=False, label="Due", choices=[("", "Any time"), *DUE_CHOICES]
    )
    patient = forms.ModelChoiceField(
        queryset=Patient.objects.all(), required=False, widget=forms.HiddenInput
    )
    page = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_NUMBER, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, mine: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [
            ("", "Anyone"),
            ("none", "Nobody"),
            *((str(m.pk), member_label(m)) for m in clinic_members()),
        ]
        if mine:
            del self.fields["assignee"]


class TaskCreateForm(_MembersForm):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )
    patient = forms.ModelChoiceField(
        queryset=Patient.objects.filter(status=Patient.Status.ACTIVE),
        required=False,
        error_messages={"invalid_choice": "That patient no longer exists."},
    )
    assignee = _member_field()
    priority = forms.ChoiceField(choices=Task.Priority.choices, initial="normal")
    due_date = SupportedDateField(required=False, widget=DATE_WIDGET, label="Due")


class TaskAssignForm(_MembersForm):
    assignee = _member_field(label="Assign to")


class TaskMoveForm(PortalForm):
    to = forms.ChoiceField(choices=Task.State.choices)
    note = forms.CharField(required=False, max_length=2000)


class TaskCommentForm(PortalForm):
    note = forms.CharField(
        label="Comment", max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


# --- Clinical notes -------------------------------------------------------------------


class NoteForm(PortalForm):
    """A draft note. Diagnoses are lines of "CODE description" (J06.9 Acute URI)."""

    diagnoses = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="One per line: the ICD-10-CM code, then its description.",
    )
    assessment = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 6})
    )
    plan = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 6})
    )

    def diagnosis_items(self) -> list[dict[str, str]]:
        items = []
        for line in self.cleaned_data.get("diagnoses", "").splitlines():
            line = line.strip()
            if line:
                code, _, description = line.partition(" ")
                items.append({"code": code, "description": description.strip()})
        return items

    @staticmethod
    def diagnoses_text(note) -> str:
        from billing.codes import display_icd10

        return "\n".join(
            f"{display_icd10(d.code)} {d.description}".strip()
            for d in note.diagnoses.all()
        )


class PrescriptionForm(forms.Form):
    label_suffix = ""
    drug = forms.CharField(required=False, max_length=200)
    dose = forms.CharField(required=False, max_length=60)
    route = forms.ChoiceField(
        required=False, choices=[("", "—"), *Prescription.Route.choices]
    )
    frequency = forms.CharField(required=False, max_length=60)
    quantity = forms.IntegerField(required=False, min_value=1, max_value=100000)
    refills = forms.IntegerField(required=False, min_value=0, max_value=11)

    def item(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data or not any(data.get(k) not in (None, "") for k in data):
            return None
        return dict(data)


PrescriptionFormSet = forms.formset_factory(
    PrescriptionForm, extra=3, max_num=20, validate_max=True
)


class AddendumForm(PortalForm):
    text = forms.CharField(
        label="Addendum", max_length=10000, widget=forms.Textarea(attrs={"rows": 4})
    )


# --- Notifications --------------------------------------------------------------------


class NotificationPreferencesForm(PortalForm):
    receive = forms.MultipleChoiceField(
        required=False,
        choices=NotificationKind.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Tell me when",
    )
