"""Query parameters of API lists, parsed and checked by django-filter.

Ids and dates are refused past what the database and Python's dates can take
(portal.limits): a 400 on the parameter, never a 500 from the query.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from clinic.models import Patient
from portal.limits import MAX_ID, validate_supported_date


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A whole-number id from 1 to bigint; an unknown one simply matches nothing."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class SupportedDateFilter(django_filters.DateFilter):
    """A clinic date (YYYY-MM-DD) within the supported range (portal.limits)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("validators", [validate_supported_date])
        super().__init__(*args, **kwargs)


class SupportedDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant within the supported range, its offset within ±15:59."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("validators", [validate_supported_date])
        super().__init__(*args, **kwargs)


class PatientFilter(django_filters.FilterSet):
    """Filters of `GET /api/v1/patients/`; the view passes the cleaned values on."""

    workflow = django_filters.CharFilter(
        field_name="workflow__slug",
        help_text="Only patients of this workflow (its slug).",
    )
    status = django_filters.ChoiceFilter(
        choices=Patient.Status.choices, help_text="Only patients with this status."
    )
    updated_since = SupportedDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Only patients changed at or after this time (ISO 8601).",
    )

    class Meta:
        model = Patient
        fields = ["workflow", "status", "updated_since"]
