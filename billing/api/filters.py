"""Query parameters of billing lists (django-filter), and their cursor pages."""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from billing.models import (
    Claim,
    Encounter,
    Payer,
    Payment,
    Policy,
    Remittance,
    RemittanceClaim,
)
from clinic.api.filters import IdFilter, SupportedDateFilter
from clinic.api.schedule_filters import ScheduleCursorPagination
from clinic.clock import clinic_tz


class NewestFirstPagination(ScheduleCursorPagination):
    """Opaque cursors over the newest rows first, no COUNT."""

    ordering = ("-id",)


class PayerFilter(django_filters.FilterSet):
    active = django_filters.BooleanFilter(
        field_name="is_active", help_text="Only (in)active payers."
    )

    class Meta:
        model = Payer
        fields = ["active"]


class PolicyFilter(django_filters.FilterSet):
    patient = IdFilter(
        field_name="patient_id", help_text="Only this patient's policies."
    )
    payer = IdFilter(field_name="payer_id", help_text="Only policies with this payer.")
    priority = django_filters.ChoiceFilter(choices=Policy.Priority.choices)
    active = django_filters.BooleanFilter(field_name="is_active")

    class Meta:
        model = Policy
        fields = ["patient", "payer", "priority", "active"]


class EncounterFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=Encounter.Status.choices, help_text="Repeat for several."
    )
    patient = IdFilter(field_name="patient_id")
    provider = IdFilter(field_name="provider_id")
    service_from = SupportedDateFilter(field_name="date_of_service", lookup_expr="gte")
    service_to = SupportedDateFilter(field_name="date_of_service", lookup_expr="lte")

    class Meta:
        model = Encounter
        fields = ["status", "patient", "provider", "service_from", "service_to"]


class ClaimFilter(django_filters.FilterSet):
    """The work list's filters: status, payer, provider, date of service, age."""

    status = django_filters.MultipleChoiceFilter(
        choices=Claim.Status.choices, help_text="Repeat for several."
    )
    payer = IdFilter(field_name="payer_id")
    provider = IdFilter(field_name="provider_id")
    patient = IdFilter(field_name="patient_id")
    service_from = SupportedDateFilter(
        field_name="date_of_service",
        lookup_expr="gte",
        help_text="Date of service on or after (YYYY-MM-DD).",
    )
    service_to = SupportedDateFilter(
        field_name="date_of_service",
        lookup_expr="lte",
        help_text="Date of service on or before (YYYY-MM-DD).",
    )
    min_age = django_filters.NumberFilter(
        method="filter_min_age",
        min_value=0,
        max_value=3650,
        help_text="Only claims whose date of service is at least this many days ago.",
    )
    max_age = django_filters.NumberFilter(
        method="filter_max_age",
        min_value=0,
        max_value=3650,
        help_text="Only claims whose date of service is at most this many days ago.",
    )

    class Meta:
        model = Claim
        fields = [
            "status",
            "payer",
            "provider",
            "patient",
            "service_from",
            "service_to",
            "min_age",
            "max_age",
        ]

    def filter_min_age(self, queryset: QuerySet, name: str, value) -> QuerySet:
        today = timezone.localdate(timezone=clinic_tz())
        return queryset.filter(date_of_service__lte=today - timedelta(days=int(value)))

    def filter_max_age(self, queryset: QuerySet, name: str, value) -> QuerySet:
        today = timezone.localdate(timezone=clinic_tz())
        return queryset.filter(date_of_service__gte=today - timedelta(days=int(value)))


class PaymentFilter(django_filters.FilterSet):
    patient = IdFilter(field_name="patient_id")
    received_from = SupportedDateFilter(field_name="received_on", lookup_expr="gte")
    received_to = SupportedDateFilter(field_name="received_on", lookup_expr="lte")

    class Meta:
        model = Payment
        fields = ["patient", "received_from", "received_to"]


class RemittanceFilter(django_filters.FilterSet):
    payer = IdFilter(field_name="payer_id")
    unmatched = django_filters.BooleanFilter(
        method="filter_unmatched", help_text="Only remittances with queued payments."
    )

    class Meta:
        model = Remittance
        fields = ["payer", "unmatched"]

    def filter_unmatched(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        queued = RemittanceClaim.objects.filter(match="unmatched").values(
            "remittance_id"
        )
        return (
            queryset.filter(pk__in=queued) if value else queryset.exclude(pk__in=queued)
        )


def filtered(
    filterset_class: type[django_filters.FilterSet],
    queryset: QuerySet,
    request: Request,
) -> tuple[QuerySet, dict[str, str]]:
    """The list's filters applied (400 with field errors), and the ones asked for."""
    params = request.query_params
    asked = [name for name in filterset_class.base_filters if name in params]
    if not asked:
        return queryset, {}
    filterset = filterset_class(params, queryset=queryset, request=request)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return filterset.qs, {name: ",".join(params.getlist(name))[:100] for name in asked}
