"""What every billing endpoint shares: permissions from billing.permissions, the actor,
cursor pages, one 404 for "missing" and "another clinic's", the audit trail."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from billing.actors import membership_of
from billing.api.filters import NewestFirstPagination, filtered
from billing.api.serializers import ConflictSerializer
from billing.permissions import Perm, api_permission
from clinic.audit import ShownPatient, audit_record_search
from portal.api.permissions import IsClinicMember
from portal.models import Membership

CONFLICT = OpenApiResponse(
    ConflictSerializer,
    description="The row's status does not allow this (`current_status`, `allowed_actions`).",
)


class BillingViewSet(viewsets.GenericViewSet):
    read_perm: Perm = Perm.VIEW_CLAIMS
    write_perm: Perm | None = None
    pagination_class = NewestFirstPagination
    filter_backends: list = []
    filterset_class: Any = None
    lookup_value_converter = "int"
    audit_what = "Billing list"

    def get_permissions(self) -> list:
        return [IsClinicMember(), api_permission(self.read_perm, self.write_perm)()]

    @property
    def actor(self) -> Membership:
        return membership_of(self.request)

    def row(self, pk: int, queryset: QuerySet | None = None) -> Model:
        # The schema is the clinic: "missing" and "another clinic's" are one 404.
        return get_object_or_404(
            queryset if queryset is not None else self.get_queryset(), pk=pk
        )

    def list_page(
        self,
        request: Request,
        serializer_class: type,
        *,
        patient_of=lambda row: row.patient_id,
    ) -> Response:
        queryset, filters = (
            filtered(self.filterset_class, self.get_queryset(), request)
            if self.filterset_class
            else (self.get_queryset(), {})
        )
        page = self.paginate_queryset(queryset)
        shown = [p for p in dict.fromkeys(patient_of(row) for row in page) if p]
        if shown:
            audit_record_search(
                patients=[ShownPatient(p) for p in shown],
                query="",
                via="api",
                filters=filters,
                what=self.audit_what,
            )
        return self.get_paginated_response(serializer_class(page, many=True).data)
