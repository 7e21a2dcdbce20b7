"""API permissions: a member of this clinic, optionally in given roles."""

from __future__ import annotations

from rest_framework.permissions import BasePermission


class IsClinicMember(BasePermission):
    message = "Sign in as a member of this clinic."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and getattr(user, "clinic_membership", None)
        )


def roles_allowed(*roles: str) -> type[BasePermission]:
    class HasRole(IsClinicMember):
        message = "Your role does not allow this."

        def has_permission(self, request, view) -> bool:
            return super().has_permission(request, view) and (
                request.user.clinic_membership.role in roles
            )

    return HasRole
