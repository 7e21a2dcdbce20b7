"""The schedule in the clinic admin: where and when providers work, visit types,
holidays; appointments and the waitlist read-only.

Every save and delete of the set-up (inlines included) goes through
clinic.services.setup, which checks the role and the model's rules.

Appointments are written only through clinic.services (booking rules, history,
live updates), so the admin shows them and never edits them. The waitlist is
filled from the Waitlist page; here an entry can only be removed, through the
service.
"""

from __future__ import annotations

from django.contrib import admin, messages

from clinic.actors import request_actor
from clinic.admin.site import ClinicModelAdmin, clinic_admin
from clinic.audit import audit_record_access
from clinic.models import (
    Appointment,
    AppointmentEvent,
    AppointmentType,
    AvailabilityBlock,
    AvailabilityException,
    Holiday,
    Location,
    Provider,
    Room,
    WaitlistEntry,
)
from clinic.services import (
    appointment_type_save,
    setup_delete,
    setup_save,
    waitlist_remove,
)
from portal.errors import ApplicationError


class ClinicInline(admin.TabularInline):
    """An inline whose access follows the clinic admin site, like ClinicModelAdmin."""

    extra = 0

    def has_view_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)


class ReadOnlyMixin:
    """Shown, never written here: the services own these rows."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SetUpAdmin(ClinicModelAdmin):
    """A set-up model's admin: rows and inline rows saved and deleted by the service."""

    def save_model(self, request, obj, form, change) -> None:
        setup_save(instance=obj, actor=request_actor(request))

    def delete_model(self, request, obj) -> None:
        setup_delete(instance=obj, actor=request_actor(request))

    def delete_queryset(self, request, queryset) -> None:
        actor = request_actor(request)
        for obj in queryset:
            setup_delete(instance=obj, actor=actor)

    def save_formset(self, request, form, formset, change) -> None:
        actor = request_actor(request)
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            setup_delete(instance=obj, actor=actor)
        for obj in instances:
            setup_save(instance=obj, actor=actor)
        formset.save_m2m()


# --- Places -----------------------------------------------------------------------


class RoomInline(ClinicInline):
    model = Room
    fields = ["name", "is_active"]


@admin.register(Location, site=clinic_admin)
class LocationAdmin(SetUpAdmin):
    list_display = ["name", "address", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "address"]
    inlines = [RoomInline]


@admin.register(Room, site=clinic_admin)
class RoomAdmin(SetUpAdmin):
    list_display = ["name", "location", "is_active"]
    list_filter = ["location", "is_active"]
    search_fields = ["name", "location__name"]
    list_select_related = ["location"]


# --- Providers and their hours -------------------------------------------------------


class AvailabilityBlockInline(ClinicInline):
    model = AvailabilityBlock
    fields = [
        "weekday",
        "start_time",
        "end_time",
        "location",
        "valid_from",
        "valid_until",
    ]
    ordering = ["weekday", "start_time"]
    verbose_name = "weekly hours"
    verbose_name_plural = "Weekly hours (clinic time)"


@admin.register(Provider, site=clinic_admin)
class ProviderAdmin(SetUpAdmin):
    list_display = ["name", "credentials", "specialty", "colour", "is_active"]
    list_filter = ["is_active", "specialty"]
    search_fields = ["name", "specialty"]
    fields = ["name", "credentials", "specialty", "colour", "is_active"]
    inlines = [AvailabilityBlockInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Providers with visits are protected by the database; retire them instead.
        if obj is not None and obj.appointments.exists():
            return False
        return super().has_delete_permission(request, obj)


@admin.register(AppointmentType, site=clinic_admin)
class AppointmentTypeAdmin(SetUpAdmin):
    list_display = [
        "name",
        "duration_minutes",
        "slot_interval_minutes",
        "buffer_after_minutes",
        "colour",
        "requires_confirmation",
        "is_active",
    ]
    list_filter = ["is_active", "requires_confirmation"]
    search_fields = ["name"]
    filter_horizontal = ["providers"]

    def save_model(self, request, obj, form, change) -> None:
        appointment_type_save(
            appointment_type=obj,
            actor=request_actor(request),
            providers=form.cleaned_data.get("providers"),
        )

    def save_related(self, request, form, formsets, change) -> None:
        # The providers were set by the service; only inlines (none) remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(AvailabilityException, site=clinic_admin)
class AvailabilityExceptionAdmin(SetUpAdmin):
    list_display = [
        "date",
        "provider",
        "kind",
        "start_time",
        "end_time",
        "location",
        "reason",
    ]
    list_filter = ["kind", "provider"]
    date_hierarchy = "date"
    list_select_related = ["provider", "location"]
    search_fields = ["provider__name", "reason"]


@admin.register(Holiday, site=clinic_admin)
class HolidayAdmin(SetUpAdmin):
    list_display = ["date", "name"]
    date_hierarchy = "date"
    search_fields = ["name"]


# --- Appointments and the waitlist, read-only ----------------------------------------


class AppointmentEventInline(ReadOnlyMixin, admin.TabularInline):
    model = AppointmentEvent
    fields = [
        "at",
        "kind",
        "from_status",
        "to_status",
        "old_start",
        "old_provider",
        "note",
        "by",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)


@admin.register(Appointment, site=clinic_admin)
class AppointmentAdmin(ReadOnlyMixin, ClinicModelAdmin):
    """Read-only: bookings and moves go through the schedule pages or the API."""

    list_display = [
        "start",
        "patient",
        "provider",
        "appointment_type",
        "status",
        "is_overbooked",
        "source",
    ]
    list_filter = ["status", "source", "is_overbooked", "provider", "appointment_type"]
    date_hierarchy = "start"
    list_select_related = ["patient", "provider", "appointment_type"]
    show_full_result_count = False
    list_per_page = 100
    search_fields = ["patient__last_name", "patient__first_name"]
    inlines = [AppointmentEventInline]

    def has_view_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Opening an appointment shows its patient: an access entry, as on the pages.
        if request.method == "GET":
            appointment = self.get_object(request, object_id)
            if appointment is not None:
                audit_record_access(patient=appointment.patient, via="admin")
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(WaitlistEntry, site=clinic_admin)
class WaitlistEntryAdmin(ReadOnlyMixin, ClinicModelAdmin):
    """Added on the Waitlist page; removed here or there, through the service."""

    list_display = ["patient", "appointment_type", "provider", "status", "created_at"]
    list_filter = ["status", "appointment_type", "provider"]
    list_select_related = ["patient", "appointment_type", "provider"]
    search_fields = ["patient__last_name", "patient__first_name"]
    actions = ["remove_selected"]

    def has_view_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    @admin.action(description="Remove selected entries from the waitlist")
    def remove_selected(self, request, queryset) -> None:
        removed = 0
        actor = request_actor(request)
        for entry in queryset.filter(status=WaitlistEntry.Status.WAITING):
            try:
                waitlist_remove(entry=entry, actor=actor)
            except ApplicationError:
                continue
            removed += 1
        self.message_user(
            request,
            f"{removed} entr{'y' if removed == 1 else 'ies'} removed.",
            messages.SUCCESS,
        )
