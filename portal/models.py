"""Public-schema models: clinics (tenants), their domains, people and roles."""

from __future__ import annotations

import logging
import zoneinfo

from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    PermissionsMixin,
)
from django.core.management import call_command
from django.core.validators import RegexValidator
from django.db import connection, models
from django.db.models.functions import Lower
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import schema_exists

from portal.storage import branding_storage
from portal.validators import validate_e164

logger = logging.getLogger(__name__)
TIMEZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]
hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour like #1f6feb.")


class Clinic(TenantMixin):
    """An outpatient clinic; its patients live in its own PostgreSQL schema."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True)
    timezone = models.CharField(max_length=64, choices=TIMEZONE_CHOICES, default="UTC")
    logo = models.FileField(upload_to="logos/", storage=branding_storage, blank=True)
    primary_color = models.CharField(
        max_length=7, default="#1f6feb", validators=[hex_colour]
    )
    main_phone = models.CharField(max_length=20, blank=True, validators=[validate_e164])
    staff_phone = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_e164],
        help_text="Where calls are transferred to a person.",
    )
    password_expiry_days = models.PositiveIntegerField(
        default=90,
        help_text="Staff must choose a new password after this many days; 0 never.",
    )
    allow_overbooking = models.BooleanField(
        default=False,
        help_text="Staff allowed to overbook may book over an existing visit.",
    )
    booking_min_notice_minutes = models.PositiveIntegerField(
        default=60, help_text="Free slots offered start at least this far from now."
    )
    is_template = models.BooleanField(
        default=False, help_text="The migrated schema new clinics are cloned from."
    )
    is_active = models.BooleanField(
        default=True,
        help_text="A deactivated clinic's hosts answer 'clinic unavailable' and its tokens stop working.",
    )
    deactivated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Provisioning creates the schema explicitly, inside its transaction. A
    # clinic is never dropped by deleting its row: only `remove_clinic` drops
    # a schema, after it has written an export of it.
    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def create_schema(
        self,
        check_if_exists: bool = False,
        sync_schema: bool = True,
        verbosity: int = 1,
    ) -> bool:
        """Create the clinic's schema as a copy of the template (portal.schema_clone).

        The copy comes from a cached dump of the template, so it costs the same
        at 10 clinics as at 1,000 and runs in the caller's transaction. Without
        a template, or with cloning off, django-tenants runs every migration.
        """
        from portal import schema_clone

        if not sync_schema or not schema_clone.should_clone(self.schema_name):
            super().create_schema(check_if_exists, sync_schema, verbosity)
            return True
        if check_if_exists and schema_exists(self.schema_name):
            return False
        try:
            schema_clone.clone_template(self.schema_name)
        except schema_clone.CloneError as exc:
            # Slow but exact (django-tenants' clone renames unique constraints).
            logger.warning("Migrating %s instead of cloning: %s", self.schema_name, exc)
            quoted = connection.ops.quote_name(self.schema_name)
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA {quoted}")
            call_command(
                "migrate_schemas",
                tenant=True,
                schema_name=self.schema_name,
                interactive=False,
                verbosity=verbosity,
            )
        connection.set_schema_to_public()
        return True


class TemplateDump(models.Model):
    """The template's DDL and data, ready to clone, for one state of its migrations."""

    template = models.CharField(max_length=63)
    fingerprint = models.CharField(max_length=64)
    # [["sql", statements] | ["copy", "COPY ... FROM stdin", rows], ...], the
    # schema named by portal.schema_clone.PLACEHOLDER.
    steps = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template", "fingerprint"],
                name="portal_templatedump_one_per_state",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} @ {self.fingerprint[:12]}"


class Domain(DomainMixin):
    """A host name routed to one clinic (or to the public site)."""


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(
        self, email: str, password: str | None = None, **extra
    ) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, email: str) -> User:
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: clinic staff or a platform operator."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="Platform operator: may use the platform admin."
    )
    date_joined = models.DateTimeField(default=timezone.now)
    password_changed_at = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="portal_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email


class PasswordHistory(models.Model):
    """A password hash a user had, so recent ones are not chosen again."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="password_history"
    )
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user", "-created_at"], name="portal_pwhist_user_recent"
            )
        ]

    def __str__(self) -> str:
        return f"Earlier password of user {self.user_id} ({self.created_at:%Y-%m-%d})"


class Role(models.TextChoices):
    ADMIN = "admin", "Clinic admin"
    CLINICIAN = "clinician", "Clinician"
    FRONT_DESK = "front_desk", "Front desk"
    BILLING = "billing", "Billing"


class Membership(models.Model):
    """A user's role in one clinic; a user may work in several clinics."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    clinic = models.ForeignKey(
        Clinic, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    can_overbook = models.BooleanField(
        default=False,
        help_text="May book over an existing appointment (clinic setting permitting).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "clinic"], name="portal_membership_one_per_clinic"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.clinic} ({self.get_role_display()})"


class SecurityEvent(models.Model):
    """A sign-in related event, shown to the admins of the clinic it happened in."""

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", "Signed in"
        SIGN_OUT = "sign_out", "Signed out"
        SIGN_IN_FAILED = "sign_in_failed", "Failed sign-in"
        LOCKED_OUT = "locked_out", "Locked out"
        RESET_REQUESTED = "reset_requested", "Password reset requested"
        RESET_COMPLETED = "reset_completed", "Password reset completed"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        TOKEN_ISSUED = "token_issued", "API token issued"
        ACCESS_REFUSED = "access_refused", "Refused: not a member of this clinic"
        CLINIC_DEACTIVATED = "clinic_deactivated", "Clinic deactivated"
        CLINIC_REACTIVATED = "clinic_reactivated", "Clinic reactivated"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    user = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="security_events",
    )
    email = models.CharField(max_length=254, blank=True)
    clinic = models.ForeignKey(
        Clinic,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="security_events",
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["clinic", "-created_at"], name="portal_secevent_clinic_recent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.email}"
