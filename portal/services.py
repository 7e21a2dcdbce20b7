"""Writes of the public schema: provisioning clinics, users, sign-in rules."""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import get_tenant_base_schema, schema_context, schema_exists

from portal.errors import ApplicationError
from portal.models import Clinic, Domain, Membership, PasswordHistory, Role, SecurityEvent, User

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,40}[a-z0-9]$")
RESERVED_SLUGS = {"www", "api", "admin", "public", "static", "media", "template", "mail"}


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
    from clinic.services import workflow_create_default

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
        schema_name=_schema_name(slug), slug=slug, name=name, timezone=timezone_name, **details
    )
    clinic.full_clean(exclude=["schema_name"])
    clinic.save(verbosity=0)
    Domain.objects.create(domain=clinic_domain(slug), tenant=clinic, is_primary=True)
    if admin is None:
        admin = user_create(email=admin_email, password=admin_password)
    membership_grant(user=admin, clinic=clinic, role=Role.ADMIN)
    with schema_context(clinic.schema_name):
        workflow_create_default()
    return clinic


def clinic_ensure_template() -> Clinic:
    """Create the non-routable template clinic that new clinics are cloned from."""
    schema = get_tenant_base_schema()
    clinic = Clinic.objects.filter(schema_name=schema).first()
    if clinic is None:
        clinic = Clinic(schema_name=schema, slug="template", name="Template (not a clinic)", is_template=True)
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


# --- Users and memberships ------------------------------------------------------


def user_create(*, email: str, password: str, full_name: str = "", **extra: object) -> User:
    user = User.objects.create_user(email=email, password=password, full_name=full_name, **extra)
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
    user.failed_login_count = 0
    user.locked_until = None
    user.save(update_fields=["password", "password_changed_at", "failed_login_count", "locked_until"])
    PasswordHistory.objects.create(user=user, password=user.password)
    keep = user.password_history.values_list("id", flat=True)[:5]
    user.password_history.exclude(id__in=list(keep)).delete()


# --- Sign-in --------------------------------------------------------------------

BAD_CREDENTIALS = "That email and password do not match an account of this clinic."


def security_event_record(
    *,
    kind: str,
    clinic: Clinic | None,
    user: User | None = None,
    email: str = "",
    ip: str | None = None,
    user_agent: str = "",
) -> SecurityEvent:
    return SecurityEvent.objects.create(
        kind=kind,
        clinic=clinic if clinic and clinic.schema_name != "public" else None,
        user=user,
        email=(email or (user.email if user else ""))[:254],
        ip=ip or None,
        user_agent=(user_agent or "")[:300],
    )


def user_authenticate(
    *, email: str, password: str, clinic: Clinic, ip: str | None = None, user_agent: str = ""
) -> User:
    """Check a sign-in for `clinic`, applying lockout; return the user or refuse.

    Used by the staff sign-in page and the API token endpoint alike.
    """
    from portal.selectors import membership_for

    event = {"clinic": clinic, "ip": ip, "user_agent": user_agent, "email": email}
    user = User.objects.filter(email__iexact=(email or "").strip()).first()
    now = timezone.now()
    if user is None or not user.is_active:
        security_event_record(kind=SecurityEvent.Kind.SIGN_IN_FAILED, user=user, **event)
        raise ApplicationError(BAD_CREDENTIALS, status=401)
    if user.is_locked(now):
        security_event_record(kind=SecurityEvent.Kind.SIGN_IN_FAILED, user=user, **event)
        raise ApplicationError(
            "This account is locked after too many failed sign-ins. "
            f"Try again after {settings.LOGIN_LOCKOUT_MINUTES} minutes or reset your password.",
            status=403,
        )
    if not user.check_password(password):
        _register_failure(user=user, now=now, event=event)
        raise ApplicationError(BAD_CREDENTIALS, status=401)
    if membership_for(user=user, clinic=clinic) is None:
        security_event_record(kind=SecurityEvent.Kind.ACCESS_REFUSED, user=user, **event)
        raise ApplicationError(BAD_CREDENTIALS, status=401)
    if user.failed_login_count or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
    return user


def _register_failure(*, user: User, now, event: dict) -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_login_count=F("failed_login_count") + 1)
        user.refresh_from_db(fields=["failed_login_count"])
        security_event_record(kind=SecurityEvent.Kind.SIGN_IN_FAILED, user=user, **event)
        if user.failed_login_count >= settings.LOGIN_LOCKOUT_THRESHOLD:
            user.locked_until = now + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
            user.failed_login_count = 0
            user.save(update_fields=["locked_until", "failed_login_count"])
            security_event_record(kind=SecurityEvent.Kind.LOCKED_OUT, user=user, **event)
