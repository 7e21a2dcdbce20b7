"""The platform admin on the public host: clinics, domains, users, memberships."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from portal.forms import PlatformSignInForm
from portal.models import Clinic, Domain, Membership, SecurityEvent, User
from portal.services import clinic_deactivate, clinic_provision, clinic_reactivate
from portal.signin import address_attempt_allowed, signin_unlock


class PlatformAdminSite(admin.AdminSite):
    site_header = "Clinic portal: platform"
    site_title = "Platform admin"
    login_form = PlatformSignInForm

    def has_permission(self, request) -> bool:
        user = request.user
        return user.is_active and user.is_staff

    def login(self, request, extra_context=None):
        """Django's admin sign-in, behind the same per-address limit as every door."""
        if request.method == "POST" and not address_attempt_allowed(request):
            return TemplateResponse(
                request,
                "portal/too_many_attempts.html",
                {"retry_url": request.get_full_path()},
                status=429,
            )
        return super().login(request, extra_context)


platform_admin = PlatformAdminSite(name="platform_admin")


class ClinicProvisionForm(forms.ModelForm):
    admin_email = forms.EmailField(help_text="The clinic's first admin.")
    admin_password = forms.CharField(widget=forms.PasswordInput, required=False)

    class Meta:
        model = Clinic
        fields = [
            "name",
            "slug",
            "timezone",
            "main_phone",
            "staff_phone",
            "primary_color",
        ]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Clinic, site=platform_admin)
class ClinicAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "schema_name",
        "timezone",
        "is_active",
        "is_template",
        "created_at",
    ]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    readonly_fields = ["schema_name", "is_active", "deactivated_at", "created_at"]
    inlines = [MembershipInline]
    actions = ["deactivate", "reactivate"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # A clinic's schema holds its patients and six years of audit trail:
        # it is deactivated here, and removed only by `manage.py remove_clinic`.
        return False

    @admin.action(
        description="Deactivate (hosts answer 'clinic unavailable', tokens stop)"
    )
    def deactivate(self, request, queryset) -> None:
        for clinic in queryset.filter(is_active=True, is_template=False).exclude(
            schema_name="public"
        ):
            clinic_deactivate(clinic=clinic, actor=request.user)
            messages.success(request, f"{clinic.name} is deactivated.")

    @admin.action(description="Reactivate")
    def reactivate(self, request, queryset) -> None:
        for clinic in queryset.filter(is_active=False):
            clinic_reactivate(clinic=clinic, actor=request.user)
            messages.success(request, f"{clinic.name} is active again.")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ClinicProvisionForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "slug"] if obj else []

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        try:
            created = clinic_provision(
                slug=data["slug"],
                name=data["name"],
                admin_email=data["admin_email"],
                admin_password=data["admin_password"],
                timezone_name=data["timezone"],
                main_phone=data.get("main_phone", ""),
                staff_phone=data.get("staff_phone", ""),
                primary_color=data.get("primary_color") or "#1f6feb",
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            raise _ProvisionRefused from exc
        obj.pk = created.pk

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except _ProvisionRefused:
            return HttpResponseRedirect(request.path)


class _ProvisionRefused(Exception):
    pass


@admin.register(Domain, site=platform_admin)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "is_primary"]
    search_fields = ["domain"]


@admin.register(User, site=platform_admin)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff"]
    search_fields = ["email", "full_name"]
    list_filter = ["is_active", "is_staff"]
    fieldsets = [
        (None, {"fields": ["email", "full_name", "password"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Security", {"fields": ["password_changed_at"]}),
    ]
    actions = ["unlock_sign_in"]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})
    ]
    inlines = [MembershipInline]
    filter_horizontal: list[str] = []

    def has_delete_permission(self, request, obj=None) -> bool:
        # Clinics' audit trails name their users for six years: deactivate instead.
        return False

    @admin.action(description="Lift sign-in locks at every clinic")
    def unlock_sign_in(self, request, queryset) -> None:
        for user in queryset:
            signin_unlock(user=user)
        messages.success(
            request, f"Sign-in locks lifted for {queryset.count()} user(s)."
        )


@admin.register(Membership, site=platform_admin)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "clinic", "role", "is_active"]
    list_filter = ["role", "is_active", "clinic"]
    autocomplete_fields = ["user", "clinic"]


@admin.register(SecurityEvent, site=platform_admin)
class SecurityEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "email", "clinic", "ip"]
    list_filter = ["kind", "clinic"]
    search_fields = ["email"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
