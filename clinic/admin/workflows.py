"""Workflows in the clinic admin: their patient fields edited as a JSON list."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.text import slugify

from clinic.actors import request_actor
from clinic.admin.site import ClinicModelAdmin, clinic_admin
from clinic.models import Workflow
from clinic.services import workflow_create, workflow_delete, workflow_update
from clinic.workflows import FIELD_TYPES, fields_from_schema, schema_from_fields

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
        actor = request_actor(request)
        is_active = data.get("is_active", True)
        if change:
            saved = workflow_update(
                workflow=Workflow.objects.get(pk=obj.pk),
                actor=actor,
                name=data["name"],
                fields=data["field_definitions"],
                description=data.get("description", ""),
                is_active=is_active,
            )
        else:
            saved = workflow_create(
                actor=actor,
                name=data["name"],
                slug=data.get("slug") or "",
                fields=data["field_definitions"],
                description=data.get("description", ""),
                is_active=is_active,
            )
        obj.pk = saved.pk
        obj._state.adding = False
        obj._state.db = saved._state.db

    def save_related(self, request, form, formsets, change) -> None:
        pass

    def delete_model(self, request, obj) -> None:
        workflow_delete(workflow=obj, actor=request_actor(request))

    def delete_queryset(self, request, queryset) -> None:
        actor = request_actor(request)
        for workflow in queryset:
            workflow_delete(workflow=workflow, actor=actor)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A workflow with patients is protected by the database anyway; the
        # default workflow must stay.
        if obj is not None and obj.is_default:
            return False
        return super().has_delete_permission(request, obj)
