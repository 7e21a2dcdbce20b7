"""DRF's content negotiation, with the common case answered without parsing."""

from __future__ import annotations

from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

JSON = "application/json"
# Accept headers every partner client sends; None is no header at all.
_ANY_OR_JSON = frozenset({None, "*/*", JSON})


class ClinicContentNegotiation(DefaultContentNegotiation):
    """With no format asked for and an Accept header that is absent, `*/*` or
    `application/json`, a view whose first renderer is JSON answers JSON: what
    DRF would choose, without parsing and ranking media types on every request
    of the API. Anything else goes through DRF's negotiation."""

    def select_renderer(
        self,
        request: Request,
        renderers: list[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, Any]:
        if (
            format_suffix is None
            and renderers
            and renderers[0].media_type == JSON
            and request.META.get("HTTP_ACCEPT") in _ANY_OR_JSON
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], JSON
        return super().select_renderer(request, renderers, format_suffix)
