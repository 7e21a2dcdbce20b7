"""Request plumbing: clinic routing, membership checks, audit context, caching."""

from __future__ import annotations

from auditlog.cid import correlation_id
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.functional import SimpleLazyObject
from django.utils.http import http_date
from django_tenants.middleware.main import TenantMainMiddleware

from portal.audit_context import audit_context
from portal.middleware_api import bearer_user, bearer_user_id, clinic_and_membership
from portal.models import SecurityEvent
from portal.net import client_ip
from portal.security import security_event_record
from portal.selectors import clinic_for_host, membership_for

UNAVAILABLE = "This clinic's portal is not available."
TOKEN_ONLY = "/api/v1/"  # authenticated by bearer tokens alone (portal.api)
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"
CID_LENGTH = 255  # auditlog's LogEntry.cid


class ClinicTenantMiddleware(TenantMainMiddleware):
    """django-tenants routing by host; the template and deactivated clinics answer no one.

    Every request reads its clinic row afresh (one indexed query), so a
    deactivation or a changed setting holds at once in every process. An API
    request with a bearer token reads its user's membership in the same query
    (portal.middleware_api); the authentication class still decides.
    """

    def get_tenant(self, domain_model, hostname):
        user_id = bearer_user.get()
        if user_id is None:
            tenant = clinic_for_host(hostname)
        else:
            tenant = clinic_and_membership(hostname, user_id)
        if tenant is None or tenant.is_template:
            raise domain_model.DoesNotExist
        return tenant

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        reset = bearer_user.set(bearer_user_id(request))
        try:
            response = super().process_request(request)
        finally:
            bearer_user.reset(reset)
        tenant = getattr(request, "tenant", None)
        if response is None and tenant is not None and not tenant.is_active:
            return clinic_unavailable(request)
        return response


def clinic_unavailable(request: HttpRequest) -> HttpResponse:
    """503 for every door of a deactivated clinic: pages, admin and API alike."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": UNAVAILABLE}, status=503)
    else:
        response = render(
            request,
            "portal/clinic_unavailable.html",
            {"clinic_name": request.tenant.name},
            status=503,
        )
    add_never_cache_headers(response)
    return response


def is_public(request: HttpRequest) -> bool:
    tenant = getattr(request, "tenant", None)
    return tenant is None or tenant.schema_name == "public"


class ClinicMembershipMiddleware:
    """A signed-in user of clinic A who opens clinic B's host is refused there.

    The session is left alone (it may be the user's session at A, sent along
    by a shared cookie domain), and the refusal is recorded for the platform's
    operators, not in B's events: B's admins learn nothing of A's staff.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None
        if request.path_info.startswith(TOKEN_ONLY):
            # Partners' API: a bearer token or nothing (DRF), never the session.
            return self.get_response(request)
        user = request.user
        if not is_public(request) and user.is_authenticated:
            membership = membership_for(user=user, clinic=request.tenant)
            if membership is None:
                security_event_record(
                    kind=SecurityEvent.Kind.ACCESS_REFUSED,
                    clinic=None,
                    user=user,
                    ip=client_ip(request),
                    user_agent=request.headers.get("User-Agent", ""),
                )
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
        _set_cid(request)
        with audit_context(
            actor=SimpleLazyObject(lambda: _actor(request)),
            remote_addr=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        ):
            return self.get_response(request)


def _set_cid(request: HttpRequest) -> None:
    """auditlog's set_cid, reading the header from META: building
    `request.headers` for it costs more than the rest of this middleware."""
    if settings.AUDITLOG_CID_GETTER:
        return
    header = settings.AUDITLOG_CID_HEADER
    cid = None
    if header:
        meta = request.META
        cid = meta.get("HTTP_" + header.upper().replace("-", "_"), meta.get(header))
    # The client writes it: cut to the audit entry's column (255), never a 500.
    correlation_id.set(cid[:CID_LENGTH] if cid else cid)


def _actor(request: HttpRequest):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


class NoStoreMiddleware:
    """Nothing the portal answers is kept by browsers or proxies.

    Clinic pages and API answers carry PHI. Static files never reach this
    middleware (whitenoise answers them before it), and logos are not PHI.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/media/branding/"):
            return response
        if "Cache-Control" in response or "Expires" in response:
            add_never_cache_headers(response)  # merged with what the view set
        else:  # what add_never_cache_headers writes, without parsing
            response.headers["Expires"] = http_date()
            response.headers["Cache-Control"] = NEVER_CACHE
        return response
