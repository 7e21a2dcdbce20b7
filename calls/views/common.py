"""What the texting pages share: the clinic's clock, htmx partials, the actor."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from calls.policy import clinic_zone


def clinic_time(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Render in the clinic's timezone: htmx partials have no base layout to set it."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with timezone.override(clinic_zone()):
            return view(request, *args, **kwargs)

    return wrapper


def is_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request
