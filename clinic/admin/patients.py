"""Patients in the clinic admin: every write goes through the patient services."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction

from clinic.actors import Actor, request_actor
from clinic.admin.site import ClinicModelAdmin, clinic_admin
from clinic.audit import audit_record_access, audit_record_search
from clinic.models import Patient
from clinic.selectors import patient_list
from clinic.services import (
    PATIENT_FIELDS,
    patient_archive,
    patient_create,
    patient_update,
)
from portal.validators import normalize_phone


class _DryRun(Exception):
    pass


class PatientAdminForm(forms.ModelForm):
    """Runs the patient service's rules while the form is validated.

    The admin saves after validation and cannot show errors raised on save,
    so `clean` calls the service inside a savepoint that is always rolled back
    (its ValidationErrors land on the fields); `save_model` then calls it for real.
    """

    actor: Actor  # set by PatientAdmin.get_form

    class Meta:
        model = Patient
        fields = [*(n for n in PATIENT_FIELDS if n != "fields"), "workflow", "fields"]
        help_texts = {
            "fields": (
                "The workflow's own fields as a JSON object, "
                'e.g. {"referral_source": "GP"}.'
            ),
            "phone": "Any common format, e.g. (415) 555-0123; stored as +14155550123.",
        }

    def clean_phone(self) -> str:
        phone = (self.cleaned_data.get("phone") or "").strip()
        return normalize_phone(phone) if phone else ""

    def clean_fields(self) -> dict:
        return self.cleaned_data.get("fields") or {}

    def _post_clean(self) -> None:
        super()._post_clean()  # fills the instance the admin shows and logs
        if self.errors:
            return
        try:
            with transaction.atomic():
                patient_save(form=self, actor=self.actor)
                raise _DryRun
        except _DryRun:
            pass
        except ValidationError as exc:
            for key, errors in exc.message_dict.items():
                field = "fields" if key.startswith("fields.") else key
                if key.startswith("fields."):
                    errors = [f"{key.removeprefix('fields.')}: {e}" for e in errors]
                self.add_error(field if field in self.fields else None, errors)


def patient_save(*, form: PatientAdminForm, actor: Actor) -> Patient:
    data = {
        name: form.cleaned_data[name]
        for name in form.Meta.fields
        if name in form.cleaned_data
    }
    if form.instance.pk:
        stored = Patient.objects.select_related("workflow").get(pk=form.instance.pk)
        return patient_update(patient=stored, actor=actor, **data)
    return patient_create(actor=actor, **data)


@admin.register(Patient, site=clinic_admin)
class PatientAdmin(ClinicModelAdmin):
    form = PatientAdminForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request_actor(request)  # a class made for this request
        return form

    list_display = [
        "last_name",
        "first_name",
        "date_of_birth",
        "phone",
        "workflow",
        "status",
        "updated_at",
    ]
    list_display_links = ["last_name", "first_name"]
    list_filter = ["workflow", "status"]
    search_fields = ["last_name"]  # shows the box; the search itself is patient_list's
    search_help_text = "Name (partial or misspelled), phone number or date of birth."
    list_select_related = ["workflow"]
    list_per_page = 50
    show_full_result_count = False
    readonly_fields = ["created_at", "updated_at"]
    actions = ["archive_selected"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "first_name",
                    "last_name",
                    "date_of_birth",
                    "sex",
                    "preferred_language",
                    "status",
                ]
            },
        ),
        (
            "Contact",
            {"fields": ["phone", "email", "address", "sms_consent", "voice_consent"]},
        ),
        ("Workflow", {"fields": ["workflow", "fields"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Clinical records are archived, never deleted (the services have no delete).
        return False

    # Reads in the admin are reads too: the list and each opened record are audited.

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            audit_record_search(
                patients=list(changelist.result_list),
                # jsonb and text cannot hold NUL: the trail keeps the rest.
                query=changelist.query.replace("\x00", ""),
                via="admin",
                filters={
                    key: str(value).replace("\x00", "")
                    for key, value in changelist.params.items()
                },
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            patient = self.get_object(request, object_id)
            if patient is not None:
                audit_record_access(patient=patient, via="admin")
        return super().change_view(request, object_id, form_url, extra_context)

    def get_search_results(self, request, queryset, search_term):
        search_term = search_term.replace("\x00", "")
        if not search_term.strip():
            return queryset, False
        matches = patient_list(q=search_term).values("pk")
        return queryset.filter(pk__in=matches), False

    def save_model(self, request, obj, form, change) -> None:
        saved = patient_save(form=form, actor=request_actor(request))
        # The admin goes on with `obj` (redirect, history): make it the saved row.
        obj.pk = saved.pk
        obj._state.adding = False
        obj._state.db = saved._state.db

    def save_related(self, request, form, formsets, change) -> None:
        pass  # no relations of its own; the form must not save the instance again

    @admin.action(description="Archive selected patients")
    def archive_selected(self, request, queryset) -> None:
        archived = 0
        actor = request_actor(request)
        for patient in queryset.exclude(status=Patient.Status.ARCHIVED):
            patient_archive(patient=patient, actor=actor)
            archived += 1
        self.message_user(request, f"{archived} patient(s) archived.", messages.SUCCESS)
