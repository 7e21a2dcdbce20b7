"""Request plumbing: clinic routing, membership checks, audit context."""

from __future__ import annotations

import time

from auditlog.cid import set_cid
from django.conf import settings
from auditlog.context import set_extra_data
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject
from django_tenants.middleware.main import TenantMainMiddleware

from portal.models import SecurityEvent

_TENANT_TTL = 30.0


class ClinicTenantMiddleware(TenantMainMiddleware):
    """django-tenants routing by host, with a short per-process cache of hosts."""

    _cache: dict[str, tuple[float, object]] = {}

    def get_tenant(self, domain_model, hostname):
        hit = self._cache.get(hostname)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        tenant = super().get_tenant(domain_model, hostname)
        if getattr(tenant, "is_template", False):
            raise domain_model.DoesNotExist
        self._cache[hostname] = (time.monotonic() + _TENANT_TTL, tenant)
        return tenant

    @classmethod
    def forget(cls) -> None:
        cls._cache.clear()


def client_ip(request: HttpRequest) -> str | None:
    """The client's address; behind our proxy, the entry the proxy appended."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and settings.USE_X_FORWARDED_FOR:
        return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def is_public(request: HttpRequest) -> bool:
    tenant = getattr(request, "tenant", None)
    return tenant is None or tenant.schema_name == "public"


class ClinicMembershipMiddleware:
    """A signed-in user of clinic A who opens clinic B's host is refused there."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from portal.selectors import membership_for
        from portal.services import security_event_record

        request.membership = None
        user = request.user
        if not is_public(request) and user.is_authenticated:
            membership = membership_for(user=user, clinic=request.tenant)
            if membership is None:
                security_event_record(
                    kind=SecurityEvent.Kind.ACCESS_REFUSED,
                    clinic=request.tenant,
                    user=user,
                    ip=client_ip(request),
                    user_agent=request.headers.get("User-Agent", ""),
                )
                logout(request)
                return render(request, "portal/not_a_member.html", status=403)
            request.membership = membership
        return self.get_response(request)


class AuditContextMiddleware:
    """Give audit entries the actor, address and browser of the request.

    The actor is resolved lazily: DRF authenticates JWT requests inside the
    view, after this middleware ran, and sets `request.user` then.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_public(request):
            return self.get_response(request)
        set_cid(request)
        context = {
            "actor": SimpleLazyObject(lambda: _actor(request)),
            "remote_addr": client_ip(request),
            "user_agent": request.headers.get("User-Agent", "")[:300],
        }
        with set_extra_data(context_data=context):
            return self.get_response(request)


def _actor(request: HttpRequest):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None
