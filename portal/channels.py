"""WebSocket plumbing: the clinic comes from the Host header, as for HTTP."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django_tenants.utils import remove_www

from portal.models import Domain


@database_sync_to_async
def _clinic_for_host(host: str):
    domain = (
        Domain.objects.select_related("tenant")
        .filter(domain=host, tenant__is_template=False)
        .exclude(tenant__schema_name="public")
        .first()
    )
    return domain.tenant if domain else None


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
