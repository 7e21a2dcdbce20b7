"""The audit trail in the clinic admin, read-only."""

from __future__ import annotations

from django.contrib import admin

from clinic.admin.site import ClinicModelAdmin, clinic_admin
from clinic.models import AuditEntry


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
