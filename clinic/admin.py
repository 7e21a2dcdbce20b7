"""The Django admin on a clinic's host: only that clinic's admins, only its data."""

from __future__ import annotations

from django.contrib import admin

from portal.selectors import is_clinic_admin


class ClinicAdminSite(admin.AdminSite):
    site_header = "Clinic admin"
    site_title = "Clinic admin"

    def has_permission(self, request) -> bool:
        tenant = getattr(request, "tenant", None)
        return bool(
            request.user.is_active
            and tenant is not None
            and is_clinic_admin(user=request.user, clinic=tenant)
        )


clinic_admin = ClinicAdminSite(name="clinic_admin")
