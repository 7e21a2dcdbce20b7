"""Query parameters of the patient list, parsed and checked by django-filter."""

from __future__ import annotations

import django_filters

from clinic.models import Patient


class PatientFilter(django_filters.FilterSet):
    """Filters of `GET /api/v1/patients/`; the view passes the cleaned values on."""

    workflow = django_filters.CharFilter(
        field_name="workflow__slug",
        help_text="Only patients of this workflow (its slug).",
    )
    status = django_filters.ChoiceFilter(
        choices=Patient.Status.choices, help_text="Only patients with this status."
    )
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Only patients changed at or after this time (ISO 8601).",
    )

    class Meta:
        model = Patient
        fields = ["workflow", "status", "updated_since"]
