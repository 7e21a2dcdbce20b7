"""Cursor pages of the patient list, and the fast read of their rows."""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from clinic.selectors.api_reads import PatientsByName
from portal.api.parsers import loads_limited
from portal.limits import MAX_ID

# Deeper offsets than this are no page anyone reads; they only cost the database.
MAX_OFFSET = 100_000


class PatientCursorPagination(CursorPagination):
    """Opaque cursors over whatever order the selector chose, without a COUNT.

    When the order is made of table columns (the plain list: last name, first
    name, id) the cursor holds the last row's values and the next page starts
    right after them, a range scan of the sort index however deep the page.
    DRF's own cursor keys on the first column only, which repeats and skips
    rows when many patients share a last name. A relevance order (search)
    cannot be served by an index anyway, so there the cursor holds an offset.
    """

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    page_size_query_description = (
        f"Patients per page (default 50, at most {max_page_size})."
    )
    ordering = ("last_name", "first_name", "id")

    invalid_cursor_message = "Invalid cursor."

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list:
        self.request = request
        self.page_size = self.get_page_size(request)
        self.order = self._keyset_order(queryset)
        cursor = self._decode(request)
        self.next_token = self.previous_token = None
        self.previous_is_first = False
        if self.order is None:
            return self._offset_page(queryset, cursor)
        return self._keyset_page(queryset, cursor)

    def get_paginated_response(self, data: list) -> Response:
        return Response(
            {
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_next_link(self) -> str | None:
        if self.next_token is None:
            return None
        return replace_query_param(
            self._base_url(), self.cursor_query_param, self.next_token
        )

    def get_previous_link(self) -> str | None:
        if self.previous_is_first:
            return remove_query_param(self._base_url(), self.cursor_query_param)
        if self.previous_token is None:
            return None
        return replace_query_param(
            self._base_url(), self.cursor_query_param, self.previous_token
        )

    def _base_url(self) -> str:
        # Only pages that have a neighbour need the absolute URL.
        return self.request.build_absolute_uri()

    # --- the two kinds of page ------------------------------------------------

    def _keyset_page(self, queryset: QuerySet, cursor: dict | None) -> list:
        backwards = False
        if cursor is not None:
            values = cursor.get("k")
            backwards = cursor.get("d") == "p"
            if (
                not isinstance(values, list)
                or len(values) != len(self.order)
                or not all(_is_scalar(v) for v in values)
            ):
                self._invalid()
            try:
                queryset = queryset.filter(
                    _beyond(self.order, values, forward=not backwards)
                )
            except (TypeError, ValueError, DjangoValidationError):
                self._invalid()
            if backwards:
                queryset = queryset.reverse()
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if backwards:
            rows.reverse()
        has_next = more if not backwards else True
        has_previous = cursor is not None and (more if backwards else True)
        if rows and has_next:
            self.next_token = _encode({"k": self._values(rows[-1]), "d": "n"})
        if rows and has_previous:
            self.previous_token = _encode({"k": self._values(rows[0]), "d": "p"})
        return rows

    def _offset_page(self, queryset: QuerySet, cursor: dict | None) -> list:
        offset = 0
        if cursor is not None:
            offset = cursor.get("o")
            if (
                not isinstance(offset, int)
                or isinstance(offset, bool)
                or not 0 <= offset <= MAX_OFFSET
            ):
                self._invalid()
        rows = list(queryset[offset : offset + self.page_size + 1])
        if len(rows) > self.page_size:
            self.next_token = _encode({"o": offset + self.page_size})
        if offset > self.page_size:
            self.previous_token = _encode({"o": offset - self.page_size})
        elif offset > 0:
            self.previous_is_first = True
        return rows[: self.page_size]

    # --- helpers ------------------------------------------------------------

    @staticmethod
    def _keyset_order(queryset: QuerySet) -> list[tuple[str, bool]] | None:
        """(column, descending) pairs when the order is columns only and ends unique."""
        if isinstance(queryset, PatientsByName):  # rows read without the ORM
            return list(PatientsByName.order)
        columns = {f.name for f in queryset.model._meta.concrete_fields}
        order: list[tuple[str, bool]] = []
        for item in queryset.query.order_by:
            if not isinstance(item, str):
                return None
            name = item.lstrip("-")
            if name not in columns or name in queryset.query.annotations:
                return None
            order.append((name, item.startswith("-")))
        if not order or order[-1][0] not in ("id", "pk"):
            return None
        return order

    def _values(self, row: dict | Model) -> list:
        if isinstance(row, dict):  # a values() row
            return [row[name] for name, _ in self.order]
        return [getattr(row, name) for name, _ in self.order]

    def _decode(self, request: Request) -> dict | None:
        raw = request.query_params.get(self.cursor_query_param)
        if not raw:
            return None
        try:
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
            data = loads_limited(text, max_depth=2)
        except (ValueError, TypeError, binascii.Error):
            self._invalid()
        if not isinstance(data, dict):
            self._invalid()
        return data

    def _invalid(self) -> None:
        raise ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})


def _encode(data: dict) -> str:
    text = json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _is_scalar(value: object) -> bool:
    """A value a sort column can be compared with, as PostgreSQL will take it."""
    if isinstance(value, str):
        return "\x00" not in value  # PostgreSQL text cannot hold NUL
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return abs(value) <= MAX_ID


def _beyond(order: list[tuple[str, bool]], values: list, *, forward: bool) -> Q:
    """Rows strictly after (or before) `values` in `order`.

    Written as `a >= x AND (a > x OR (a = x AND b > y) OR ...)`: the leading
    range lets PostgreSQL start the index scan at the cursor.
    """
    combined = Q()
    for k, (name, descending) in enumerate(order):
        op = "gt" if descending != forward else "lt"
        clause = Q(**{n: v for (n, _), v in zip(order[:k], values[:k], strict=True)})
        clause &= Q(**{f"{name}__{op}": values[k]})
        combined = clause if k == 0 else combined | clause
    lead, lead_descending = order[0]
    lead_op = "gte" if lead_descending != forward else "lte"
    return Q(**{f"{lead}__{lead_op}": values[0]}) & combined
