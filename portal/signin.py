"""Sign-in rules shared by every door: staff page, platform admin, API tokens.

Every refusal looks the same. A wrong password, an unknown email, a locked
account, a deactivated user and a person who is not a member here all get
`BAD_CREDENTIALS`, the same security event (naming no one who is not a
member here) and the same work: one password hash is computed either way, so
the answer's timing says nothing about the account either.

Failures are counted per (email, door) by django-axes, where the door is the
clinic's schema or `public` for the platform admin: five wrong passwords at
clinic B lock that email at B only, for `LOGIN_LOCKOUT_MINUTES`, whether or not
the account exists. Per client address, attempts and failures are limited
across all clinics (django-ratelimit on the `auth` cache, which no clinic
prefixes), and past the limit every door answers 429.
"""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.signals import user_login_failed
from django.core.cache import caches
from django.db.models import Exists, F, OuterRef
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from portal.errors import ApplicationError
from portal.models import Clinic, Membership, SecurityEvent, User
from portal.net import client_ip
from portal.security import security_event_record

BAD_CREDENTIALS = (
    "That email and password do not match an account of this site, or sign-in "
    "is paused after too many attempts. Try again later, or reset your password."
)
TOO_MANY_ATTEMPTS = (
    "Too many sign-in attempts from your network. Wait a minute, then try again."
)
PLATFORM_DOOR = "public"


# --- Keys ------------------------------------------------------------------------------


def _door(clinic: Clinic | None) -> str:
    return clinic.schema_name if clinic is not None else PLATFORM_DOOR


def _normalise(email: str) -> str:
    return (email or "").strip().lower()[:254]


def axes_username(request: HttpRequest | None, credentials: dict | None) -> str:
    """django-axes' key for an attempt: the email at this door (AXES_USERNAME_CALLABLE)."""
    email = _normalise((credentials or {}).get("username", ""))
    tenant = getattr(request, "tenant", None)
    door = tenant.schema_name if tenant is not None else PLATFORM_DOOR
    return f"{email}|{door}"


def _address_key(group: str, request: HttpRequest) -> str:
    return client_ip(request) or "unknown"


# --- Limits per address ------------------------------------------------------------------


def address_attempt_allowed(request: HttpRequest) -> bool:
    """Count one attempt from this address; False when its budget is spent.

    Every door (sign-in page, platform admin, token, refresh, password reset)
    calls this before doing any work, so a refused attempt costs no hash.
    """
    attempts = _usage(
        request, "auth-attempts", settings.AUTH_ATTEMPTS_PER_ADDRESS, True
    )
    failures = _usage(
        request, "auth-failures", settings.AUTH_FAILURES_PER_ADDRESS, False
    )
    return (
        attempts["count"] <= attempts["limit"] and failures["count"] < failures["limit"]
    )


def _address_failure_count(request: HttpRequest) -> None:
    _usage(request, "auth-failures", settings.AUTH_FAILURES_PER_ADDRESS, True)


def _usage(request: HttpRequest, group: str, rate: str, increment: bool) -> dict:
    """django-ratelimit's counter of `group` for this address, in its current window."""
    return get_usage(
        request, group=group, key=_address_key, rate=rate, increment=increment
    )


# --- Sign-in ------------------------------------------------------------------------------


def signin_authenticate(
    *, request: HttpRequest, email: str, password: str, clinic: Clinic | None
) -> User:
    """The user behind `email` and `password` at this door, or refuse with 401.

    `clinic` None is the platform admin's door, open to platform operators.
    """
    email = _normalise(email)
    credentials = {"username": email}
    locked = AxesProxyHandler.is_locked(request, credentials)
    user = _user_with_entry(email=email, clinic=clinic)
    if user is None:
        make_password(password)  # the same work as checking a real password
        password_ok = False
    elif user.may_enter and user.is_active and not locked:
        password_ok = user.check_password(password)  # may upgrade the stored hash
    else:
        # Exactly one hash, never an upgrade (a second hash) for someone who
        # is refused anyway: the time must not tell a right password.
        password_ok = check_password(password, user.password)
    if locked or not password_ok or not user.is_active or not user.may_enter:
        _register_failure(
            request=request,
            credentials=credentials,
            clinic=clinic,
            member=user if user is not None and user.may_enter else None,
            locked=locked,
        )
        raise ApplicationError(BAD_CREDENTIALS, status=401)
    AxesProxyHandler.reset_attempts(username=axes_username(request, credentials))
    return user


def signin_unlock(*, user: User) -> int:
    """Lift every sign-in lock of `user` (after a password reset, or by an operator)."""
    doors = [
        PLATFORM_DOOR,
        *user.memberships.values_list("clinic__schema_name", flat=True),
    ]
    email = _normalise(user.email)
    return sum(
        AxesProxyHandler.reset_attempts(username=f"{email}|{door}") for door in doors
    )


def signin_limits_clear() -> None:
    """Forget every counter and lock (tests, and an operator after an incident).

    Only this cache's keys go: `clear()` would flush the whole Redis database,
    broker queues and channel layer included.
    """
    cache = caches[settings.RATELIMIT_USE_CACHE]
    client = cache._cache.get_client(None, write=True)  # Django's RedisCache client
    for key in client.scan_iter(match=f"{cache.key_prefix}:*", count=500):
        client.delete(key)


def _user_with_entry(*, email: str, clinic: Clinic | None) -> User | None:
    """The user of `email` annotated with whether this door may admit them, in one query."""
    if clinic is None:
        may_enter = F("is_staff")
    else:
        may_enter = Exists(
            Membership.objects.filter(
                user=OuterRef("pk"), clinic=clinic, is_active=True
            )
        )
    return (
        User.objects.filter(email__iexact=email).annotate(may_enter=may_enter).first()
        if email
        else None
    )


def _register_failure(
    *,
    request: HttpRequest,
    credentials: dict,
    clinic: Clinic | None,
    member: User | None,
    locked: bool,
) -> None:
    """Record one refusal: the security event, axes' count and the address' count.

    The event names the account only when it belongs to this door (a member
    of this clinic, or an operator at the platform door); anyone else is only
    the email that was typed.
    """
    event = {
        "clinic": clinic,
        "user": member,
        "email": credentials["username"],
        "ip": client_ip(request),
        "user_agent": request.headers.get("User-Agent", ""),
    }
    security_event_record(kind=SecurityEvent.Kind.SIGN_IN_FAILED, **event)
    _address_failure_count(request)
    # Failures during a lockout do not extend it (AXES_RESET_COOL_OFF_ON_FAILURE_
    # DURING_LOCKOUT is off): the counter decays, so nobody can pin a lock on.
    request.axes_locked_out = locked
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    if not locked and request.axes_locked_out:
        security_event_record(kind=SecurityEvent.Kind.LOCKED_OUT, **event)
