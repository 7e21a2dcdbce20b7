"""The audit trail page of clinic admins, and its CSV export."""

from __future__ import annotations

import csv
import io
import json
import zoneinfo
from collections.abc import AsyncIterator, Iterator
from itertools import islice

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from clinic import selectors
from clinic.forms.audit import AuditFilterForm
from clinic.models import AuditEntry
from clinic.permissions import Perm, roles_with
from portal.decorators import role_required
from portal.models import Membership
from portal.pagination import LookaheadPaginator

AUDIT_PER_PAGE = 50


def _audit_filter_form(request: HttpRequest) -> AuditFilterForm:
    # Former staff stay in the trail, so inactive memberships are listed too.
    members = (
        Membership.objects.filter(clinic=request.tenant)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return AuditFilterForm(request.GET, members=members)


def _audit_what(entry: AuditEntry) -> str:
    if entry.action == AuditEntry.Action.ACCESS and entry.object_id is None:
        shown = len(entry.patient_ids or [])
        label = entry.object_repr.split(" (", 1)[0] or "Patient list"
        text = f"{label}: {shown} patient{'s' if shown != 1 else ''} shown"
        return f'{text}, search "{entry.query}"' if entry.query else text
    what = entry.object_repr
    if entry.content_type_id and entry.content_type.model != "patient":
        what = f"{entry.content_type.name.capitalize()}: {what}"
    if entry.action == AuditEntry.Action.UPDATE and isinstance(entry.changes, dict):
        what += " (changed " + ", ".join(sorted(entry.changes)) + ")"
    return what


@never_cache
@role_required(*roles_with(Perm.VIEW_AUDIT))
def audit_list(request: HttpRequest) -> HttpResponse:
    form = _audit_filter_form(request)
    entries = selectors.audit_entries(
        **form.selector_kwargs(tz_name=request.tenant.timezone)
    )
    page = LookaheadPaginator(entries, AUDIT_PER_PAGE).page(form.page_number())
    for entry in page.object_list:
        entry.what = _audit_what(entry)
        entry.via = (entry.additional_data or {}).get("via", "")
    export_query = request.GET.copy()
    export_query.pop("page", None)
    context = {"form": form, "page": page, "export_query": export_query.urlencode()}
    # Invalid filters show next to their inputs; the trail is not filtered by them.
    return render(
        request, "clinic/audit_list.html", context, status=400 if form.errors else 200
    )


AUDIT_CSV_HEADER = [
    "time",
    "actor",
    "action",
    "object_type",
    "object_id",
    "what",
    "query",
    "patient_ids",
    "via",
    "ip",
    "user_agent",
    "changes",
]


def _audit_csv_rows(entries, tz) -> Iterator[list[str]]:
    yield AUDIT_CSV_HEADER
    for entry in entries.iterator(chunk_size=2000):
        yield [
            timezone.localtime(entry.timestamp, tz).isoformat(),
            entry.actor_email or (entry.actor.email if entry.actor else ""),
            entry.get_action_display(),
            entry.content_type.model if entry.content_type_id else "",
            "" if entry.object_id is None else str(entry.object_id),
            _audit_what(entry),
            entry.query,
            " ".join(str(pk) for pk in entry.patient_ids or []),
            (entry.additional_data or {}).get("via", ""),
            entry.remote_addr or "",
            entry.user_agent,
            json.dumps(entry.changes, sort_keys=True, default=str)
            if entry.changes
            else "",
        ]


def _csv_chunks(rows: Iterator[list[str]], tenant, size: int = 500) -> Iterator[str]:
    """CSV text in chunks of `size` rows, read in the clinic's schema."""
    # The body is produced after the view returned: enter the clinic again, as
    # the connection may have served another clinic's request in between.
    connection.set_tenant(tenant)
    while True:
        batch = list(islice(rows, size))
        if not batch:
            return
        buffer = io.StringIO()
        csv.writer(buffer).writerows(batch)
        yield buffer.getvalue()


async def _async_chunks(chunks: Iterator[str]) -> AsyncIterator[str]:
    # Under ASGI a synchronous body would be read into memory whole before the
    # first byte goes out; pull it chunk by chunk in the request's thread instead.
    step = sync_to_async(lambda: next(chunks, None), thread_sensitive=True)
    while (chunk := await step()) is not None:
        yield chunk


@role_required(*roles_with(Perm.VIEW_AUDIT))
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered trail as CSV, streamed, for the clinic's records or an auditor."""
    form = _audit_filter_form(request)
    if not form.is_valid():
        # Never the whole trail in place of the filtered part that was asked for.
        problems = "; ".join(
            f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()
        )
        return HttpResponseBadRequest(
            f"Invalid filters, nothing exported. {problems}",
            content_type="text/plain; charset=utf-8",
        )
    entries = selectors.audit_entries(
        **form.selector_kwargs(tz_name=request.tenant.timezone)
    )
    tz = zoneinfo.ZoneInfo(request.tenant.timezone or "UTC")
    chunks = _csv_chunks(_audit_csv_rows(entries, tz), request.tenant)
    body = _async_chunks(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime(timezone.now(), tz).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{request.tenant.slug}-{stamp}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response
