"""Reads of the public schema: memberships, clinics, security events."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from portal.models import Clinic, Membership, Role, SecurityEvent, User


def membership_for(*, user: User, clinic: Clinic) -> Membership | None:
    """The active membership of `user` in `clinic`, or None."""
    if not getattr(user, "is_authenticated", False) or clinic is None:
        return None
    return (
        Membership.objects.filter(user=user, clinic=clinic, is_active=True, user__is_active=True)
        .only("id", "role", "user_id", "clinic_id")
        .first()
    )


def membership_with_user(*, user_id: int, clinic: Clinic) -> Membership | None:
    """The active membership of an active user, with the user loaded (API auth)."""
    return (
        Membership.objects.select_related("user")
        .filter(user_id=user_id, clinic=clinic, is_active=True, user__is_active=True)
        .first()
    )


def is_clinic_admin(*, user: User, clinic: Clinic) -> bool:
    membership = membership_for(user=user, clinic=clinic)
    return membership is not None and membership.role == Role.ADMIN


def password_expired(*, user: User, clinic: Clinic | None) -> bool:
    """Whether the clinic's password age rule asks this user for a new password."""
    if clinic is None or not clinic.password_expiry_days:
        return False
    return user.password_changed_at < timezone.now() - timedelta(days=clinic.password_expiry_days)


def security_events_for_clinic(*, clinic: Clinic) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(clinic=clinic).select_related("user")


def routable_clinics() -> QuerySet[Clinic]:
    """The clinics that serve requests and get periodic work (not deactivated ones)."""
    return Clinic.objects.exclude(schema_name="public").filter(is_template=False, is_active=True)
