"""WebSocket plumbing: the clinic comes from the Host header, as for HTTP."""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django_tenants.utils import remove_www

from portal.models import Domain


@database_sync_to_async
def _clinic_for_host(host: str):
    domain = (
        Domain.objects.select_related("tenant")
        .filter(domain=host, tenant__is_template=False, tenant__is_active=True)
        .exclude(tenant__schema_name="public")
        .first()
    )
    return domain.tenant if domain else None


def _same_origin(origin: bytes, host: bytes) -> bool:
    """Whether a browser's Origin header names exactly the host it connects to."""
    try:
        parts = urlsplit(origin.decode("latin-1"))
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.decode("latin-1").lower()


class ClinicOriginValidator:
    """Accept a socket only from a page of the clinic's own site.

    Browsers send the cookie of clinic A's site along with a socket opened by
    any page, so the Origin must be A's own origin (scheme://host[:port] equal
    to the Host the socket was opened on); another clinic's page, another
    site, or a missing Origin is closed with 4403 before anything else runs.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        origin, host = headers.get(b"origin"), headers.get(b"host")
        if not origin or not host or not _same_origin(origin, host):
            await send({"type": "websocket.close", "code": 4403})
            return
        return await self.inner(scope, receive, send)


class ClinicHostMiddleware:
    """Put the clinic of the Host header in the scope; refuse unknown hosts."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        host = remove_www(headers.get(b"host", b"").decode("latin-1").split(":")[0])
        clinic = await _clinic_for_host(host)
        if clinic is None:
            await send({"type": "websocket.close", "code": 4404})
            return
        return await self.inner({**scope, "clinic": clinic}, receive, send)
