"""Clinical notes in the clinic admin: read only, content audited like the pages.

The admin site is the clinic's admins' (who may read note content); nothing is
written here: notes are drafted, signed and added to through the services,
and a signed note cannot change in the database anyway.
"""

from __future__ import annotations

from django.contrib import admin

from clinic.admin.site import ClinicModelAdmin, clinic_admin
from clinic.audit import ShownPatient, audit_record_access, audit_record_search
from clinic.models import ClinicalNote, NoteDiagnosis, Prescription
from clinic.permissions import can_read_note_content


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class DiagnosisInline(_ReadOnlyInline):
    model = NoteDiagnosis
    fields = ["position", "code", "description"]


class PrescriptionInline(_ReadOnlyInline):
    model = Prescription
    fields = ["drug", "dose", "route", "frequency", "quantity", "refills"]


@admin.register(ClinicalNote, site=clinic_admin)
class ClinicalNoteAdmin(ClinicModelAdmin):
    list_display = ["id", "appointment", "status", "author_label", "signed_at"]
    list_filter = ["status"]
    fields = [
        "appointment",
        "patient",
        "status",
        "author_label",
        "signed_by_label",
        "signed_at",
        "assessment",
        "plan",
    ]
    inlines = [DiagnosisInline, PrescriptionInline]
    list_select_related = ["appointment__patient", "appointment__provider"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return self.fields

    def has_view_permission(self, request, obj=None) -> bool:
        return super().has_view_permission(request, obj) and can_read_note_content(
            getattr(request, "membership", None)
        )

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        rows = getattr(response, "context_data", {}).get("cl")
        if rows is not None:
            shown = sorted({n.patient_id for n in rows.result_list})
            if shown:
                audit_record_search(
                    patients=[ShownPatient(pk) for pk in shown],
                    query=request.GET.get("q", ""),
                    via="admin",
                    filters=dict(request.GET.items()),
                    what="Clinical notes (admin)",
                )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        note = getattr(response, "context_data", {}).get("original")
        if response.status_code == 200 and note is not None:
            audit_record_access(
                patient=note.patient, via=f"admin clinical note {note.pk} (content)"
            )
        return response
