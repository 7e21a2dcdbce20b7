"""The Django admin on a clinic's host: only that clinic's admins, only its data.

Clinic admins are ordinary users with an admin Membership, not Django
superusers or staff, so the site and every ModelAdmin decide access from the
membership rather than from Django's model permissions. Sign-in, sign-out and
password changes go through the portal's own pages (lockout, history, events).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import slugify

from clinic.audit import audit_record_access, audit_record_search
from clinic.models import AuditEntry, Patient, Workflow
from clinic.selectors import patient_list
from clinic.services import (
    patient_archive,
    patient_create,
    patient_update,
    workflow_create,
    workflow_update,
)
from clinic.workflows import FIELD_TYPES, fields_from_schema, schema_from_fields
from portal.selectors import is_clinic_admin
from portal.validators import normalize_phone


class ClinicAdminSite(admin.AdminSite):
    site_header = "Clinic admin"
    site_title = "Clinic admin"
    index_title = "Patients, workflows and the audit trail"

    def has_permission(self, request) -> bool:
        cached = getattr(request, "_clinic_admin_permission", None)
        if cached is not None:
            return cached
        tenant = getattr(request, "tenant", None)
        allowed = bool(
            request.user.is_active
            and tenant is not None
            and tenant.schema_name != "public"
            and is_clinic_admin(user=request.user, clinic=tenant)
        )
        request._clinic_admin_permission = allowed
        return allowed

    def each_context(self, request):
        context = super().each_context(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            context["site_header"] = f"{tenant.name}: clinic admin"
        return context

    def login(self, request, extra_context=None) -> HttpResponse:
        """The portal's sign-in page; a signed-in member who is no admin gets a 403."""
        if not request.user.is_authenticated:
            next_url = request.GET.get("next") or reverse("clinic_admin:index")
            return redirect_to_login(next_url, login_url=reverse("login"))
        if not self.has_permission(request):
            raise PermissionDenied("Only the clinic's admins may use the clinic admin.")
        return HttpResponseRedirect(reverse("clinic_admin:index"))

    def logout(self, request, extra_context=None) -> HttpResponse:
        from portal.views import sign_out

        return sign_out(request)

    def password_change(self, request, extra_context=None) -> HttpResponse:
        return HttpResponseRedirect(reverse("password-change"))


clinic_admin = ClinicAdminSite(name="clinic_admin")


class ClinicModelAdmin(admin.ModelAdmin):
    """Access follows the site: the clinic's admins may use it, nobody else."""

    def has_module_permission(self, request) -> bool:
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request) -> bool:
        return self.admin_site.has_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)


# --- Patients ------------------------------------------------------------------------


class _DryRun(Exception):
    pass


class PatientAdminForm(forms.ModelForm):
    """Runs the patient service's rules while the form is validated.

    The admin saves after validation and cannot show errors raised on save,
    so `clean` calls the service inside a savepoint that is always rolled back
    (its ValidationErrors land on the fields); `save_model` then calls it for real.
    """

    class Meta:
        model = Patient
        fields = [
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "phone",
            "email",
            "address",
            "preferred_language",
            "sms_consent",
            "voice_consent",
            "status",
            "workflow",
            "fields",
        ]
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
                patient_save(form=self)
                raise _DryRun
        except _DryRun:
            pass
        except ValidationError as exc:
            for key, errors in exc.message_dict.items():
                field = "fields" if key.startswith("fields.") else key
                if key.startswith("fields."):
                    errors = [f"{key.removeprefix('fields.')}: {e}" for e in errors]
                self.add_error(field if field in self.fields else None, errors)


def patient_save(*, form: PatientAdminForm) -> Patient:
    data = {
        name: form.cleaned_data[name]
        for name in form.Meta.fields
        if name in form.cleaned_data
    }
    if form.instance.pk:
        stored = Patient.objects.select_related("workflow").get(pk=form.instance.pk)
        return patient_update(patient=stored, **data)
    return patient_create(**data)


@admin.register(Patient, site=clinic_admin)
class PatientAdmin(ClinicModelAdmin):
    form = PatientAdminForm
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
                query=changelist.query,
                via="admin",
                filters={key: str(value) for key, value in changelist.params.items()},
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            patient = self.get_object(request, object_id)
            if patient is not None:
                audit_record_access(patient=patient, via="admin")
        return super().change_view(request, object_id, form_url, extra_context)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        matches = patient_list(q=search_term).values("pk")
        return queryset.filter(pk__in=matches), False

    def save_model(self, request, obj, form, change) -> None:
        saved = patient_save(form=form)
        # The admin goes on with `obj` (redirect, history): make it the saved row.
        obj.pk = saved.pk
        obj._state.adding = False
        obj._state.db = saved._state.db

    def save_related(self, request, form, formsets, change) -> None:
        pass  # no relations of its own; the form must not save the instance again

    @admin.action(description="Archive selected patients")
    def archive_selected(self, request, queryset) -> None:
        archived = 0
        for patient in queryset.exclude(status=Patient.Status.ARCHIVED):
            patient_archive(patient=patient)
            archived += 1
        self.message_user(request, f"{archived} patient(s) archived.", messages.SUCCESS)


# --- Workflows ------------------------------------------------------------------------

FIELDS_HELP = (
    "A JSON list of the extra patient fields, one object each: "
    '{"name": "referral_source", "label": "Referral source", "type": "choice", '
    '"required": true, "choices": ["GP", "Self", "Hospital"]}. '
    "Types: " + ", ".join(FIELD_TYPES) + ". Names use lowercase letters, digits and _."
)


class WorkflowAdminForm(forms.ModelForm):
    field_definitions = forms.JSONField(
        label="Fields",
        initial=list,
        required=False,
        help_text=FIELDS_HELP,
        widget=forms.Textarea(
            attrs={"rows": 14, "cols": 90, "style": "font-family: monospace"}
        ),
    )

    class Meta:
        model = Workflow
        fields = ["name", "slug", "description", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["slug"].disabled = True
            self.initial["field_definitions"] = fields_from_schema(
                self.instance.fields_schema or {}
            )
        self.fields["slug"].required = False
        self.fields[
            "slug"
        ].help_text = "Used in links and the API; made from the name when left empty."

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.instance.pk and not data.get("slug") and data.get("name"):
            data["slug"] = slugify(data["name"])[:60]
            if Workflow.objects.filter(slug=data["slug"]).exists():
                self.add_error(
                    "slug",
                    f"A workflow '{data['slug']}' already exists; choose a slug.",
                )
        return data

    def clean_field_definitions(self) -> list[dict]:
        value = self.cleaned_data.get("field_definitions") or []
        if not isinstance(value, list) or not all(
            isinstance(item, dict) for item in value
        ):
            raise ValidationError("Enter a JSON list of objects, one per field.")
        try:
            self.cleaned_data["fields_schema"] = schema_from_fields(value)
        except ValidationError as exc:
            messages_ = exc.message_dict.get("fields_schema") or exc.messages
            raise ValidationError(messages_) from None
        return value


@admin.register(Workflow, site=clinic_admin)
class WorkflowAdmin(ClinicModelAdmin):
    form = WorkflowAdminForm
    list_display = [
        "name",
        "slug",
        "field_count",
        "is_default",
        "is_active",
        "updated_at",
    ]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    readonly_fields = ["is_default", "schema_preview", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "description", "is_active", "is_default"]}),
        ("Patient fields", {"fields": ["field_definitions", "schema_preview"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="Fields")
    def field_count(self, obj: Workflow) -> int:
        return len((obj.fields_schema or {}).get("properties") or {})

    @admin.display(description="Stored JSON Schema")
    def schema_preview(self, obj: Workflow) -> str:
        if not obj.pk:
            return "Made from the fields when saved."
        return format_html("<pre>{}</pre>", json.dumps(obj.fields_schema, indent=2))

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        if change:
            stored = Workflow.objects.get(pk=obj.pk)
            saved = workflow_update(
                workflow=stored,
                name=data["name"],
                fields=data["field_definitions"],
                description=data.get("description", ""),
            )
        else:
            saved = workflow_create(
                name=data["name"],
                slug=data.get("slug") or "",
                fields=data["field_definitions"],
                description=data.get("description", ""),
            )
        if saved.is_active != data.get("is_active", True):
            # Retiring a workflow has no rule beyond the flag; no service covers it yet.
            saved.is_active = data.get("is_active", True)
            saved.save(update_fields=["is_active", "updated_at"])
        obj.pk = saved.pk
        obj._state.adding = False
        obj._state.db = saved._state.db

    def save_related(self, request, form, formsets, change) -> None:
        pass

    def has_delete_permission(self, request, obj=None) -> bool:
        # A workflow with patients is protected by the database anyway; the
        # default workflow must stay.
        if obj is not None and obj.is_default:
            return False
        return super().has_delete_permission(request, obj)


# --- Audit trail ----------------------------------------------------------------------


@admin.register(AuditEntry, site=clinic_admin)
class AuditEntryAdmin(ClinicModelAdmin):
    """Read-only: the trail is evidence, so nobody adds, edits or deletes entries."""

    list_display = [
        "timestamp",
        "actor_display",
        "action",
        "object_repr",
        "query",
        "remote_addr",
    ]
    list_filter = ["action", "timestamp"]
    search_fields = ["object_repr", "actor_email", "query"]
    date_hierarchy = "timestamp"
    list_select_related = ["actor", "content_type"]
    show_full_result_count = False
    list_per_page = 100

    @admin.display(description="Actor", ordering="actor_email")
    def actor_display(self, obj: AuditEntry) -> str:
        return str(obj.actor) if obj.actor else (obj.actor_email or "System")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
