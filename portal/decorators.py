"""Access checks for staff pages."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from portal.selectors import password_expired


def role_required(*roles: str):
    """Signed in, a member of this clinic, password not expired, and (if given) one of `roles`."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated or request.membership is None:
                return redirect_to_login(request.get_full_path())
            if password_expired(user=request.user, clinic=request.tenant):
                return redirect("password-change")
            if roles and request.membership.role not in roles:
                raise PermissionDenied("Your role does not allow this page.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


staff_required = role_required()
