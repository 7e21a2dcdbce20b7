"""Query parameters of schedule lists: appointment filters (django-filter) and cursors.

Dates (`start`, `end`) are days on the clinic's calendar; instants
(`start_after`, `start_before`) given without an offset are read in the
clinic's timezone too (the view validates the filters with it active).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import DateTimeField, Field, Model, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

from clinic.api.filters import IdFilter, SupportedDateFilter, SupportedDateTimeFilter
from clinic.clock import clinic_tz, local_day_bounds
from clinic.models import Appointment
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
        return queryset.filter(start__gte=local_day_bounds(value)[0])

    def filter_until_day(
        self, queryset: QuerySet[Appointment], name: str, value: date
    ) -> QuerySet[Appointment]:
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
    filterset = AppointmentFilter(params, queryset=queryset, request=request)
    # An instant without an offset means the clinic's wall clock.
    with timezone.override(clinic_tz()):
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        queryset = filterset.qs
    return queryset, {name: ",".join(params.getlist(name)) for name in asked}


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
