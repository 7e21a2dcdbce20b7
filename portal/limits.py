"""What the portal accepts: request bodies, dates, UTC offsets, ids and text.

Values past these limits break something below the code that reads them:
Python's date arithmetic at years 1 and 9999, PostgreSQL on offsets beyond
15:59, ids beyond bigint and NUL characters in text or jsonb, and memory on
huge bodies. They are refused where input enters (parsers, serializers,
filters, forms, view query parsing) with a clear 4xx, so no service or
selector ever sees them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    UnreadablePostError,
)

# Wide enough for any date of birth or booking, far enough from year 1 and
# year 9999 that a day or a UTC offset added to it never overflows.
MIN_DATE = date(1800, 1, 1)
MAX_DATE = date(2199, 12, 31)
# PostgreSQL refuses larger UTC offsets ("time zone displacement out of range").
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)
MAX_ID = 2**63 - 1  # bigint

DATE_RANGE_MESSAGE = f"Give a date from {MIN_DATE} to {MAX_DATE}."
UTC_OFFSET_MESSAGE = "Give a UTC offset from -15:59 to +15:59."
NUL_MESSAGE = "Null characters are not allowed."
TOO_LARGE_MESSAGE = "The request body is too large: at most {limit} bytes."


# --- Dates, offsets, ids, text ------------------------------------------------------


def date_problem(value: date | datetime) -> str | None:
    """Why a date or an instant is refused, or None when it is supported."""
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            return UTC_OFFSET_MESSAGE
        value = value.date()
    if not MIN_DATE <= value <= MAX_DATE:
        return DATE_RANGE_MESSAGE
    return None


def validate_supported_date(value: date | datetime) -> None:
    """A Django validator (forms, DRF fields, django-filter) for date_problem."""
    problem = date_problem(value)
    if problem is not None:
        code = "utc_offset" if problem == UTC_OFFSET_MESSAGE else "date_range"
        raise ValidationError(problem, code=code)


def date_in_range(value: date) -> bool:
    return MIN_DATE <= value <= MAX_DATE


def parse_id(text: str | None) -> int | None:
    """A row id from a query or form value (ASCII digits, 1 to bigint), or None."""
    if not text or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def is_id(value: object) -> bool:
    """Whether a parsed JSON value is a whole number a bigint id can hold."""
    return (
        isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
    )


def contains_nul(value: object) -> bool:
    """Whether a string, or any key or string inside JSON-like data, holds NUL."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


# --- Request bodies -----------------------------------------------------------------


def body_limit(request: HttpRequest) -> int | None:
    """The most bytes this request's body may hold; None leaves it to another limit.

    Multipart bodies (uploads) have their own, larger limit (upload_limit),
    checked against the declared length; Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    bounds their non-file fields.
    """
    if request.content_type == "multipart/form-data":
        return None
    return settings.API_MAX_JSON_BYTES


# What a multipart body holds beside its file: boundaries, headers, a few fields.
MULTIPART_OVERHEAD = 64 * 1024


def upload_limit() -> int:
    """The most bytes a multipart body may hold: one document plus its form."""
    return settings.DOCUMENT_MAX_BYTES + MULTIPART_OVERHEAD


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    message = TOO_LARGE_MESSAGE.format(limit=limit)
    if _is_api(request):
        return JsonResponse({"detail": message}, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


class RequestBodyLimitMiddleware:
    """Refuse bodies over the limit with 413 before anything parses or stores them.

    A declared Content-Length over the limit is refused without reading. A
    body without one (chunked) is read at most one byte past the limit: Django
    checks the spooled size under ASGI and reads limit + 1 otherwise. Django's
    own RequestDataTooBig, which it answers with 400, answers 413 here too:
    a page's multipart fields are parsed here, before CSRF reads them (the API
    leaves multipart to its parsers, which refuse it with 415 unread).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self._refusal(request) or self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        limit = body_limit(request)
        try:
            if limit is None:
                if _declared_length(request) > upload_limit():
                    return too_large(request, upload_limit())
                if request.method == "POST" and not _is_api(request):
                    request.POST  # noqa: B018  (Django bounds multipart fields)
                return None
            if _declared_length(request) > limit or len(request.body) > limit:
                return too_large(request, limit)
        except RequestDataTooBig:
            return too_large(request, limit or _django_limit())
        except UnreadablePostError:  # the client went away mid-body
            return HttpResponseBadRequest("The request body could not be read.")
        return None

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return too_large(request, _django_limit())
        return None


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _django_limit() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or settings.API_MAX_JSON_BYTES
