"""What the billing pages share: role checks from billing.permissions, the actor."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from billing.permissions import Perm, allowed_perms, role_may
from clinic.clock import clinic_tz
from portal.decorators import staff_required


def billing_page(perm: Perm) -> Callable:
    """Signed in here, and a role `perm` allows (403 otherwise); clinic time zone."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @never_cache
        @staff_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not role_may(request.membership.role, perm):
                raise PermissionDenied("Your role does not allow this page.")
            with timezone.override(clinic_tz()):
                return view(request, *args, **kwargs)

        return wrapper

    return decorator


def perms_of(request: HttpRequest) -> set[str]:
    return allowed_perms(request.membership.role if request.membership else None)
