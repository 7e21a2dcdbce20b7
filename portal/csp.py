"""django-csp's middleware, with the policy built once rather than per response.

django-csp builds the header for every response (a deep copy of the settings'
directives, then a sort), although it only changes with the settings. No page
of ours uses a nonce or a per-view policy; a response that does (or a request
whose nonce was read) takes django-csp's own path, as does DEBUG's exemption
of error pages.
"""

from __future__ import annotations

import functools
import http

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

# Set on a response by django-csp's decorators: a policy of its own.
_PER_RESPONSE = tuple(
    f"_csp_{kind}{suffix}"
    for kind in ("config", "update", "replace")
    for suffix in ("", "_ro")
)
_DEBUG_EXEMPT = (http.HTTPStatus.INTERNAL_SERVER_ERROR, http.HTTPStatus.NOT_FOUND)


@functools.cache
def _headers() -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """(header, policy, the response's exemption attribute, excluded path prefixes)."""
    out = []
    for header, setting, exempt, report_only in (
        (HEADER, "CONTENT_SECURITY_POLICY", "_csp_exempt", False),
        (
            HEADER_REPORT_ONLY,
            "CONTENT_SECURITY_POLICY_REPORT_ONLY",
            "_csp_exempt_ro",
            True,
        ),
    ):
        policy = build_policy(report_only=report_only)
        if policy:
            prefixes = (getattr(settings, setting, None) or {}).get(
                "EXCLUDE_URL_PREFIXES"
            )
            out.append((header, policy, exempt, tuple(prefixes or ())))
    return tuple(out)


@receiver(setting_changed)
def _forget(setting: str, **kwargs: object) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _headers.cache_clear()


class CSPMiddleware(BaseCSPMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if (
            getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _PER_RESPONSE)
            or (settings.DEBUG and response.status_code in _DEBUG_EXEMPT)
        ):
            return super().process_response(request, response)
        for header, policy, exempt, prefixes in _headers():
            if (
                header not in response
                and not getattr(response, exempt, False)
                and not request.path_info.startswith(prefixes)
            ):
                response[header] = policy
        # As django-csp: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
