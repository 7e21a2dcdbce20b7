"""Absolute addresses of the portal's sites, from the configured public URL.

Links that leave the request (emails, and later webhook signatures) are built
from `PORTAL_PUBLIC_URL`, never from the request's Host or port, which a
client or an internal hop chooses.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from portal.models import Clinic


def clinic_base_url(clinic: Clinic) -> str:
    """`scheme://<slug>.<domain>[:port]` of a clinic's site, without a trailing slash."""
    public = urlsplit(settings.PORTAL_PUBLIC_URL)
    host = f"{clinic.slug}.{public.hostname}"
    port = f":{public.port}" if public.port else ""
    return f"{public.scheme}://{host}{port}"


def clinic_url(clinic: Clinic, path: str) -> str:
    return clinic_base_url(clinic) + path
