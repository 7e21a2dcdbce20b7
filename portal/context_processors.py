"""Template context: the clinic of the request, its branding and the user's role."""

from __future__ import annotations

from django.http import HttpRequest


def clinic(request: HttpRequest) -> dict:
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == "public":
        return {"clinic": None, "membership": None}
    return {"clinic": tenant, "membership": getattr(request, "membership", None)}
