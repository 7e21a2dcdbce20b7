"""The clinic admin site, and the ModelAdmin base whose access follows it.

Clinic admins are ordinary users with an admin Membership, not Django
superusers or staff, so the site and every ModelAdmin decide access from the
membership rather than from Django's model permissions.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from clinic.permissions import Perm, may
from portal.limits import date_problem
from portal.selectors import membership_for
from portal.views import sign_out


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
            and may(membership_for(user=request.user, clinic=tenant), Perm.CLINIC_ADMIN)
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
        return sign_out(request)

    def password_change(self, request, extra_context=None) -> HttpResponse:
        return HttpResponseRedirect(reverse("password-change"))


clinic_admin = ClinicAdminSite(name="clinic_admin")


class ClinicModelAdmin(admin.ModelAdmin):
    """Access follows the site: the clinic's admins may use it, nobody else."""

    def get_changelist_instance(self, request):
        # A time filter PostgreSQL refuses (an offset beyond 15:59, year 9999)
        # is the admin's "invalid lookup" (?e=1), not a 500.
        for value in request.GET.values():
            try:
                instant = parse_datetime(value)
            except ValueError:
                instant = None
            if instant is not None and date_problem(instant):
                raise IncorrectLookupParameters(date_problem(instant))
        return super().get_changelist_instance(request)

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
