"""Writes of the public schema: provisioning clinics, users, sign-in rules."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import get_tenant_base_schema, schema_context, schema_exists

from clinic import services as clinic_services
from portal.models import (
    Clinic,
    Domain,
    Membership,
    PasswordHistory,
    Role,
    SecurityEvent,
    User,
)
from portal.security import security_event_record
from portal.signin import signin_unlock
from portal.tasks import password_reset_email

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,40}[a-z0-9]$")
RESERVED_SLUGS = {
    "www",
    "api",
    "admin",
    "public",
    "static",
    "media",
    "template",
    "mail",
}


# --- Clinics ------------------------------------------------------------------


def clinic_domain(slug: str) -> str:
    return f"{slug}.{settings.PORTAL_DOMAIN}"


def _schema_name(slug: str) -> str:
    return "c_" + slug.replace("-", "_")


@transaction.atomic
def clinic_provision(
    *,
    slug: str,
    name: str,
    admin_email: str,
    admin_password: str,
    timezone_name: str = "UTC",
    **details: object,
) -> Clinic:
    """Create a clinic: schema (cloned from the template), domain, admin, default workflow.

    Everything happens in one transaction, so a failure leaves nothing behind.
    """
    errors: dict[str, list[str]] = {}
    if not SLUG_RE.match(slug or "") or slug in RESERVED_SLUGS:
        errors["slug"] = [
            "Use 3-42 lowercase letters, digits or hyphens, starting with a letter."
        ]
    elif Clinic.objects.filter(slug=slug).exists() or schema_exists(_schema_name(slug)):
        errors["slug"] = [f"A clinic with the slug '{slug}' already exists."]
    if not name:
        errors["name"] = ["A clinic needs a name."]
    admin = User.objects.filter(email__iexact=admin_email).first()
    if admin is None:
        try:
            validate_password(admin_password, User(email=admin_email))
        except ValidationError as exc:
            errors["admin_password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)

    clinic = Clinic(
        schema_name=_schema_name(slug),
        slug=slug,
        name=name,
        timezone=timezone_name,
        **details,
    )
    clinic.full_clean(exclude=["schema_name"])
    clinic.save(verbosity=0)
    Domain.objects.create(domain=clinic_domain(slug), tenant=clinic, is_primary=True)
    if admin is None:
        admin = user_create(email=admin_email, password=admin_password)
    membership_grant(user=admin, clinic=clinic, role=Role.ADMIN)
    with schema_context(clinic.schema_name):
        clinic_services.workflow_create_default()
    return clinic


def clinic_ensure_template() -> Clinic:
    """Create the non-routable template clinic that new clinics are cloned from."""
    schema = get_tenant_base_schema()
    clinic = Clinic.objects.filter(schema_name=schema).first()
    if clinic is None:
        clinic = Clinic(
            schema_name=schema,
            slug="template",
            name="Template (not a clinic)",
            is_template=True,
        )
        clinic.save(verbosity=0)
    return clinic


def clinic_ensure_public() -> Clinic:
    """The public schema's own row and the bare domain (central login, platform admin)."""
    public, _ = Clinic.objects.get_or_create(
        schema_name="public", defaults={"slug": "public", "name": "Platform"}
    )
    Domain.objects.get_or_create(
        domain=settings.PORTAL_DOMAIN, defaults={"tenant": public, "is_primary": True}
    )
    return public


def clinic_deactivate(*, clinic: Clinic, actor: User | None) -> Clinic:
    """Take a clinic off the air: its hosts answer 'unavailable', its tokens stop.

    Nothing is deleted; `clinic_reactivate` brings it back as it was. `actor`
    is the operator (None: an operator's command line).
    """
    if clinic.is_template or clinic.schema_name == "public":
        raise ValidationError(
            "The platform and the template clinic cannot be deactivated."
        )
    clinic.is_active = False
    clinic.deactivated_at = timezone.now()
    clinic.save(update_fields=["is_active", "deactivated_at"])
    security_event_record(
        kind=SecurityEvent.Kind.CLINIC_DEACTIVATED, clinic=clinic, user=actor
    )
    return clinic


def clinic_reactivate(*, clinic: Clinic, actor: User | None) -> Clinic:
    clinic.is_active = True
    clinic.deactivated_at = None
    clinic.save(update_fields=["is_active", "deactivated_at"])
    security_event_record(
        kind=SecurityEvent.Kind.CLINIC_REACTIVATED, clinic=clinic, user=actor
    )
    return clinic


# --- Users and memberships ------------------------------------------------------


def user_create(
    *, email: str, password: str, full_name: str = "", **extra: object
) -> User:
    user = User.objects.create_user(
        email=email, password=password, full_name=full_name, **extra
    )
    PasswordHistory.objects.create(user=user, password=user.password)
    return user


def membership_grant(*, user: User, clinic: Clinic, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": [f"Unknown role '{role}'."]})
    membership, _ = Membership.objects.update_or_create(
        user=user, clinic=clinic, defaults={"role": role, "is_active": True}
    )
    return membership


@transaction.atomic
def user_set_password(*, user: User, password: str) -> None:
    """Set a new password after the password rules (length, history) accept it."""
    validate_password(password, user)
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])
    PasswordHistory.objects.create(user=user, password=user.password)
    keep = user.password_history.values_list("id", flat=True)[:5]
    user.password_history.exclude(id__in=list(keep)).delete()
    # Whoever proved they own the mailbox (or knew the old password) is let back in.
    transaction.on_commit(lambda: signin_unlock(user=user))


def password_reset_request(
    *, email: str, clinic: Clinic, ip: str | None = None, user_agent: str = ""
) -> None:
    """Record the request and send the link in the background, if it has anyone to go to.

    The answer, its timing and the clinic's security events are the same for a
    known and an unknown address: only the worker finds out which it was.
    """
    email = (email or "").strip().lower()
    security_event_record(
        kind=SecurityEvent.Kind.RESET_REQUESTED,
        clinic=clinic,
        email=email,
        ip=ip,
        user_agent=user_agent,
    )
    transaction.on_commit(lambda: password_reset_email.delay(email=email))
