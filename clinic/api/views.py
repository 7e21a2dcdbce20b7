"""Patient endpoints of the partner API: parse, call a service or selector, shape."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from clinic.actors import request_actor
from clinic.api.filters import PatientFilter
from clinic.api.pagination import PatientCursorPagination
from clinic.api.serializers import (
    PATIENT_ROW_COLUMNS,
    BulkErrorSerializer,
    PatientSerializer,
    patient_row_to_dict,
    patient_to_dict,
)
from clinic.audit import ShownPatient, audit_record_access, audit_record_search
from clinic.models import Patient, Workflow
from clinic.permissions import Perm, api_permission
from clinic.selectors import patient_list
from clinic.selectors.api_reads import PatientsByName, patient_with_workflow
from clinic.services import (
    BULK_LIMIT,
    patient_archive,
    patient_create,
    patient_update,
    patients_bulk_check_size,
    patients_bulk_create,
)
from portal.api.exceptions import nest_field_errors
from portal.errors import ApplicationError

# The error answers every endpoint shares (400, 401, 403, 404, 413...) are added
# to the schema by portal.api.schema.ClinicAutoSchema.


@extend_schema(tags=["patients"])
@extend_schema_view(
    list=extend_schema(
        summary="List or search patients",
        description=(
            "Patients in name order, or best matches first when searching. "
            "`q` is a name (partial and misspelt names match), a date of birth "
            "(YYYY-MM-DD or MM/DD/YYYY) or part of a phone number. Follow `next` "
            "for the following page; there is no total count."
        ),
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                description="Name, date of birth or phone number.",
            )
        ],
        responses={200: PatientSerializer(many=True)},
    ),
    create=extend_schema(
        summary="Create a patient",
        responses={201: PatientSerializer},
    ),
    retrieve=extend_schema(
        summary="Read a patient",
        responses={200: PatientSerializer},
    ),
    update=extend_schema(
        summary="Update a patient",
        description="Replaces the fields sent; names and date of birth are required.",
        responses={200: PatientSerializer},
    ),
    partial_update=extend_schema(
        summary="Change some of a patient's fields",
        responses={200: PatientSerializer},
    ),
    destroy=extend_schema(
        summary="Archive a patient",
        description="Patients are never deleted: the status becomes `archived`.",
        responses={204: OpenApiResponse(description="Archived.")},
    ),
)
class PatientViewSet(viewsets.GenericViewSet):
    """The clinic's patients. Every read is written to the clinic's audit trail."""

    permission_classes = [api_permission(Perm.VIEW_PATIENTS, Perm.EDIT_PATIENTS)]
    serializer_class = PatientSerializer
    pagination_class = PatientCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = PatientFilter
    lookup_value_converter = "int"

    def get_queryset(self) -> QuerySet[Patient]:
        return Patient.objects.select_related("workflow")

    def _patient(self, pk: int) -> Patient:
        # The schema is the clinic: "missing" and "another clinic's" are one 404.
        return get_object_or_404(self.get_queryset(), pk=pk)

    def list(self, request: Request) -> Response:
        cleaned: dict[str, Any] = {}
        params = request.query_params
        # Building and validating the filter form is measurable on the hot path;
        # skip it when no filter was asked for.
        filtered = any(name in params for name in PatientFilter.base_filters)
        if filtered:
            filterset = PatientFilter(
                request.query_params, queryset=Patient.objects.none(), request=request
            )
            if not filterset.is_valid():
                raise ValidationError(filterset.errors)
            cleaned = filterset.form.cleaned_data
        q = request.query_params.get("q", "").replace("\x00", "").strip()[:200]
        updated_since = cleaned.get("updated_since")
        filters = {
            "workflow": cleaned.get("workflow") or "",
            "status": cleaned.get("status") or "",
            "updated_since": updated_since,
        }
        cursor = self.paginator.cursor_query_param
        if not (q or filtered or cursor in params):  # the plain list's first page:
            # the same rows, by one prepared statement
            rows = PatientsByName(PATIENT_ROW_COLUMNS)
        else:
            rows = patient_list(q=q, **filters).values(*PATIENT_ROW_COLUMNS)
        page = self.paginate_queryset(rows)
        filters["updated_since"] = updated_since.isoformat() if updated_since else ""
        audit_record_search(
            patients=[ShownPatient(row["id"]) for row in page],
            query=q,
            via="api",
            filters=filters,
        )
        return self.get_paginated_response([patient_row_to_dict(row) for row in page])

    def create(self, request: Request) -> Response:
        serializer = PatientSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        patient = patient_create(
            actor=request_actor(request), **serializer.validated_data
        )
        return Response(
            patient_to_dict(patient),
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api-patient-detail", args=[patient.pk])},
        )

    def retrieve(self, request: Request, pk: int) -> Response:
        # The same row as _patient(), read by SQL built once (the path is hot).
        patient = patient_with_workflow(pk)
        if patient is None:
            raise Http404("No Patient matches the given query.")
        audit_record_access(patient=patient, via="api")
        return Response(patient_to_dict(patient))

    def update(self, request: Request, pk: int, partial: bool = False) -> Response:
        patient = self._patient(pk)
        serializer = PatientSerializer(patient, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        patient = patient_update(
            patient=patient, actor=request_actor(request), **serializer.validated_data
        )
        return Response(patient_to_dict(patient))

    def partial_update(self, request: Request, pk: int) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk: int) -> Response:
        patient_archive(patient=self._patient(pk), actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Create many patients, all or nothing",
        description=(
            f"A JSON list of up to {BULK_LIMIT} patients. If any row is invalid, "
            "nothing is written and the answer lists each invalid row's field "
            "errors under `rows`, keyed by the row's index in the list."
        ),
        request=PatientSerializer(many=True),
        responses={
            201: PatientSerializer(many=True),
            400: OpenApiResponse(
                BulkErrorSerializer,
                description=f"Invalid rows (none written) or over {BULK_LIMIT} rows.",
            ),
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="bulk",
        pagination_class=None,
        filter_backends=[],
    )
    def bulk(self, request: Request) -> Response:
        rows = request.data
        if not isinstance(rows, list):
            raise ValidationError(
                {"non_field_errors": ["Send a JSON list of patients."]}
            )
        patients_bulk_check_size(rows)
        workflows = {w.slug: w for w in Workflow.objects.all()}
        serializer = PatientSerializer(
            data=rows, many=True, context={"workflows": workflows}
        )
        if not serializer.is_valid():
            # A row that is no object (`null`, a number) has errors of no one field.
            errors = {
                str(i): e if isinstance(e, dict) else {"non_field_errors": e}
                for i, e in enumerate(serializer.errors)
                if e
            }
            raise ApplicationError(
                f"{len(errors)} of {len(rows)} rows are invalid; nothing was written.",
                extra={"rows": errors},
            )
        try:
            created = patients_bulk_create(
                rows=serializer.validated_data, actor=request_actor(request)
            )
        except ApplicationError as exc:
            rows_errors = {
                index: nest_field_errors(errors)
                for index, errors in exc.extra.get("rows", {}).items()
            }
            raise ApplicationError(
                exc.message, status=exc.status, extra={**exc.extra, "rows": rows_errors}
            ) from exc
        return Response(
            [patient_to_dict(p) for p in created], status=status.HTTP_201_CREATED
        )
