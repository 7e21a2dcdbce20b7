"""Texting in the clinic admin: read-only views of texts, reminders and the consent ledger.

Changes go through the staff pages and their services (the reminder policy
page, the inbox); the admin is for looking things up.
"""

from __future__ import annotations

from django.contrib import admin

from calls.models import (
    CallSession,
    ConsentEvent,
    Message,
    Reminder,
    ReminderPolicy,
    VoicePolicy,
    WaitlistOffer,
)
from clinic.admin.site import ClinicModelAdmin, clinic_admin


class ReadOnlyAdmin(ClinicModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Message, site=clinic_admin)
class MessageAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "direction",
        "purpose",
        "patient",
        "to_number",
        "status",
        "error_code",
    ]
    list_filter = ["direction", "purpose", "status"]
    search_fields = ["sid", "to_number", "from_number"]
    list_select_related = ["patient"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(Reminder, site=clinic_admin)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = [
        "appointment",
        "kind",
        "offset_minutes",
        "due_at",
        "status",
        "reason",
    ]
    list_filter = ["kind", "status", "reason"]
    raw_id_fields = ["appointment", "reply"]
    show_full_result_count = False


@admin.register(ConsentEvent, site=clinic_admin)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = [
        "at",
        "number",
        "patient",
        "kind",
        "keyword",
        "source",
        "message_sid",
    ]
    list_filter = ["kind", "source"]
    search_fields = ["number", "message_sid"]


@admin.register(WaitlistOffer, site=clinic_admin)
class WaitlistOfferAdmin(ReadOnlyAdmin):
    list_display = [
        "start",
        "provider",
        "appointment_type",
        "status",
        "hold_until",
        "created_by",
    ]
    list_filter = ["status"]


@admin.register(ReminderPolicy, site=clinic_admin)
class ReminderPolicyAdmin(ReadOnlyAdmin):
    """Edited on the Messages > Reminder settings page (its service replans visits)."""


# --- Voice calls: the clinic's calling policy (one row), calls read-only ------------


@admin.register(VoicePolicy, site=clinic_admin)
class VoicePolicyAdmin(ClinicModelAdmin):
    list_display = [
        "max_concurrent_calls",
        "escalate_unconfirmed",
        "escalate_hours_before",
        "retry_minutes",
        "max_retries",
    ]

    def has_add_permission(self, request) -> bool:
        return not VoicePolicy.objects.exists()


@admin.register(CallSession, site=clinic_admin)
class CallSessionAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "direction",
        "purpose",
        "patient",
        "status",
        "outcome",
        "duration_seconds",
    ]
    list_filter = ["direction", "purpose", "status", "outcome"]
    search_fields = ["sid"]
    list_select_related = ["patient"]
    date_hierarchy = "created_at"
