"""Query parameters of schedule lists: appointment filters (django-filter) and cursors.

Dates (`start`, `end`) are days on the clinic's calendar; instants
(`start_after`, `start_before`) given without an offset are read in the
clinic's timezone too (the view validates the filters with it active).
"""

from __future__ import annotations

import copy
import functools
from datetime import date
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import DateTimeField, Field, Model, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_filters.constants import EMPTY_VALUES
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

from clinic.api.filters import IdFilter, SupportedDateFilter, SupportedDateTimeFilter
from clinic.clock import clinic_tz, local_day_bounds
from clinic.models import Appointment
from clinic.selectors.api_reads import AppointmentWindow
from portal.limits import date_problem


class AppointmentFilter(django_filters.FilterSet):
    """Filters of `GET /api/v1/appointments/`."""

    provider = IdFilter(
        field_name="provider_id",
        help_text="Only this provider's appointments (its id).",
    )
    patient = IdFilter(
        field_name="patient_id",
        help_text="Only this patient's appointments (their id).",
    )
    status = django_filters.MultipleChoiceFilter(
        choices=Appointment.Status.choices,
        help_text="Only appointments in this status; repeat for several.",
    )
    start_after = SupportedDateTimeFilter(
        field_name="start",
        lookup_expr="gte",
        help_text="Appointments starting at or after this instant (ISO 8601).",
    )
    start_before = SupportedDateTimeFilter(
        field_name="start",
        lookup_expr="lt",
        help_text="Appointments starting before this instant (ISO 8601).",
    )
    start = SupportedDateFilter(
        method="filter_from_day",
        help_text="Appointments on or after this clinic date (YYYY-MM-DD).",
    )
    end = SupportedDateFilter(
        method="filter_until_day",
        help_text="Appointments on or before this clinic date (YYYY-MM-DD), included.",
    )

    class Meta:
        model = Appointment
        fields = [
            "provider",
            "patient",
            "status",
            "start_after",
            "start_before",
            "start",
            "end",
        ]

    def filter_from_day(
        self, queryset: QuerySet[Appointment], name: str, value: date
    ) -> QuerySet[Appointment]:
        return _from_day(queryset, value)

    def filter_until_day(
        self, queryset: QuerySet[Appointment], name: str, value: date
    ) -> QuerySet[Appointment]:
        return _until_day(queryset, value)


def _from_day(queryset: QuerySet[Appointment], value: date) -> QuerySet[Appointment]:
    return queryset.filter(start__gte=local_day_bounds(value)[0])


def _until_day(queryset: QuerySet[Appointment], value: date) -> QuerySet[Appointment]:
    return queryset.filter(start__lt=local_day_bounds(value)[1])


def appointments_filtered(
    queryset: QuerySet[Appointment], request: Request
) -> tuple[QuerySet[Appointment], dict[str, str]]:
    """The list's filters applied, and the ones asked for (for the audit trail).

    Building the filter form costs time on the hot path; skip it when no filter
    was asked for.
    """
    params = request.query_params
    asked = [name for name in AppointmentFilter.base_filters if name in params]
    if not asked:
        return queryset, {}
    audit = {name: ",".join(params.getlist(name)) for name in asked}
    if set(asked) <= _DAY_FILTERS.keys():
        return _days_filtered(queryset, params, asked), audit
    filterset = AppointmentFilter(params, queryset=queryset, request=request)
    # An instant without an offset means the clinic's wall clock.
    with timezone.override(clinic_tz()):
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        queryset = filterset.qs
    return queryset, audit


# A week's page (`start` and `end` only, the usual ask) is filtered without
# building the FilterSet: the same form fields clean the same values, the same
# errors come back keyed by parameter, the same filters apply.
_DAY_FILTERS = {"start": _from_day, "end": _until_day}


@functools.cache
def _day_field(name: str) -> forms.Field:
    """The form field the FilterSet would clean `name` with (its own copy)."""
    return copy.deepcopy(AppointmentFilter.base_filters[name]).field


def appointment_rows(
    queryset: QuerySet[Appointment], request: Request, columns: tuple[str, ...]
) -> tuple[QuerySet | AppointmentWindow, dict[str, str]]:
    """What the list pages: `columns` of the filtered appointments as rows, and
    the filters asked for (for the audit trail).

    The first page of a day range (no cursor, no other filter: a week, as
    partners ask) is read by one prepared statement (AppointmentWindow) that
    DRF's cursor pagination slices like the queryset; anything else goes
    through the filters above and the ORM.
    """
    params = request.query_params
    asked = [name for name in AppointmentFilter.base_filters if name in params]
    cursor = AppointmentCursorPagination.cursor_query_param
    if cursor in params or not set(asked) <= _DAY_FILTERS.keys():
        queryset, filters = appointments_filtered(queryset, request)
        return queryset.values(*columns), filters
    values = _day_values(params, asked)
    start, end = values.get("start"), values.get("end")
    window = AppointmentWindow(
        columns,
        local_day_bounds(start)[0] if start not in EMPTY_VALUES else None,
        local_day_bounds(end)[1] if end not in EMPTY_VALUES else None,
    )
    return window, {name: ",".join(params.getlist(name)) for name in asked}


def _days_filtered(
    queryset: QuerySet[Appointment], params: Any, asked: list[str]
) -> QuerySet[Appointment]:
    values = _day_values(params, asked)
    for name in asked:
        if values[name] not in EMPTY_VALUES:
            queryset = _DAY_FILTERS[name](queryset, values[name])
    return queryset


def _day_values(params: Any, asked: list[str]) -> dict[str, date | None]:
    """`start`/`end` cleaned as the FilterSet's form cleans them; 400 otherwise."""
    errors: dict[str, list[str]] = {}
    values: dict[str, date | None] = {}
    for name in asked:
        field = _day_field(name)
        try:
            raw = field.widget.value_from_datadict(params, {}, name)
            values[name] = field.clean(raw)
        except DjangoValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    return values


class ScheduleCursorPagination(CursorPagination):
    """Opaque cursors, no COUNT; DRF's cursor breaks ties of the first column by offset.

    A cursor that does not decode, or holds a value its column cannot take, is
    a 400 on `cursor` as in the patients API (DRF would answer 404).
    """

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    page_size_query_description = (
        f"Rows per page (default 50, at most {max_page_size})."
    )
    ordering = ("name", "id")
    invalid_cursor_message = "Invalid cursor."
    model: type[Model] | None = None  # of the queryset being paged

    def decode_cursor(self, request: Request) -> Any:
        cursor = super().decode_cursor(request)
        position = cursor.position if cursor is not None else None
        # Catch what PostgreSQL would refuse before it breaks the transaction:
        # NUL in text, a time out of range or with an offset beyond 15:59.
        field = self._position_field()
        if position is not None and not _position_fits(position, field):
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def _position_field(self) -> Field | None:
        """The column a cursor's position is compared with (the first ordering one)."""
        if self.model is None:
            return None
        # DRF has made `ordering` a tuple by the time it decodes the cursor.
        try:
            return self.model._meta.get_field(self.ordering[0].lstrip("-"))
        except FieldDoesNotExist:
            return None

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list:
        self.model = queryset.model
        try:
            return super().paginate_queryset(queryset, request, view)
        except (NotFound, DjangoValidationError, ValueError, TypeError) as exc:
            if not request.query_params.get(self.cursor_query_param):
                raise
            raise ValidationError(
                {self.cursor_query_param: [self.invalid_cursor_message]}
            ) from exc


def _position_fits(position: str, field: Field | None) -> bool:
    if "\x00" in position:
        return False
    if not isinstance(field, DateTimeField):
        return True
    try:
        value = parse_datetime(position)
    except ValueError:
        return False
    return value is not None and date_problem(value) is None


class AppointmentCursorPagination(ScheduleCursorPagination):
    ordering = ("start", "id")
