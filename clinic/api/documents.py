"""Document endpoints of the partner API: upload, list, read, download, text, review.

Role rules: clinic.permissions (a kind the token's member may not see does
not exist for them: 404). Every read writes an access entry.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from clinic.api.filters import IdFilter, SupportedDateTimeFilter
from clinic.api.schedule_filters import ScheduleCursorPagination
from clinic.audit import ShownPatient, audit_record_search
from clinic.document_storage import document_storage
from clinic.models import Appointment, Document, Patient
from clinic.selectors.documents import (
    document_for,
    document_list,
    document_record_access,
)
from clinic.services.documents import document_review, document_upload
from portal.api.parsers import ClinicJSONParser
from portal.limits import MAX_ID


class DocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    patient = serializers.IntegerField(source="patient_id")
    appointment = serializers.IntegerField(source="appointment_id", allow_null=True)
    kind = serializers.ChoiceField(choices=Document.Kind.choices)
    status = serializers.ChoiceField(choices=Document.Status.choices)
    original_name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    pages = serializers.IntegerField()
    sha256 = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True)
    text_method = serializers.CharField()
    fields = serializers.DictField()
    confirmed_fields = serializers.DictField()
    review_reasons = serializers.ListField(child=serializers.CharField())
    error = serializers.CharField()
    uploaded_by = serializers.CharField(source="uploaded_by_label")
    created_at = serializers.DateTimeField()
    processed_at = serializers.DateTimeField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    download_url = serializers.SerializerMethodField()
    text_url = serializers.SerializerMethodField()

    def get_download_url(self, document: Document) -> str:
        return reverse("api-document-download", args=[document.pk])

    def get_text_url(self, document: Document) -> str:
        return reverse("api-document-text", args=[document.pk])


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, max_length=255)
    kind = serializers.ChoiceField(choices=Document.Kind.choices)
    patient = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    appointment = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True
    )


class DocumentTextSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    text_method = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True)
    text = serializers.CharField()
    fields = serializers.DictField()


class DocumentReviewSerializer(serializers.Serializer):
    fields = serializers.DictField(
        help_text="The confirmed or corrected values, by field name."
    )


class DocumentFilter(django_filters.FilterSet):
    patient = IdFilter(help_text="Only this patient's documents.")
    appointment = IdFilter(help_text="Only documents of this appointment.")
    kind = django_filters.ChoiceFilter(choices=Document.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Document.Status.choices)
    q = django_filters.CharFilter(
        max_length=200, help_text="Words in the extracted text (full-text search)."
    )
    created_after = SupportedDateTimeFilter()
    created_before = SupportedDateTimeFilter()


class DocumentPagination(ScheduleCursorPagination):
    """Newest first; a cursor that does not decode is a 400 on `cursor`."""

    ordering = ("-created_at", "-id")


def _membership(request: Request):
    return request.user.clinic_membership


@extend_schema(tags=["documents"])
@extend_schema_view(
    list=extend_schema(
        summary="List documents",
        description="Newest first, only the kinds your role may see.",
        responses={200: DocumentSerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="Read a document", responses={200: DocumentSerializer}
    ),
    create=extend_schema(
        summary="Upload a document",
        description=(
            "multipart/form-data with `file` (PDF, PNG, JPEG or TIFF, decided by its"
            " content), `kind`, `patient` and optionally `appointment`. Past the size"
            " limit the answer is 413. Extraction runs in the background: follow"
            " `status`."
        ),
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={201: DocumentSerializer},
    ),
)
class DocumentViewSet(viewsets.GenericViewSet):
    """Patients' documents; each read is written to the clinic's audit trail."""

    serializer_class = DocumentSerializer
    pagination_class = DocumentPagination
    filter_backends: list = []
    parser_classes = [MultiPartParser, ClinicJSONParser]
    lookup_value_converter = "int"
    queryset = Document.objects.none()

    def list(self, request: Request) -> Response:
        filters = DocumentFilter(request.query_params, queryset=Document.objects.none())
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        cleaned: dict[str, Any] = filters.form.cleaned_data
        rows = document_list(
            who=_membership(request),
            patient=cleaned.get("patient"),
            kind=cleaned.get("kind") or "",
            status=cleaned.get("status") or "",
            appointment=cleaned.get("appointment"),
            q=cleaned.get("q") or "",
            created_after=cleaned.get("created_after"),
            created_before=cleaned.get("created_before"),
        )
        page = self.paginate_queryset(rows)
        audit_record_search(
            patients=list({ShownPatient(d.patient_id) for d in page}),
            query=cleaned.get("q") or "",
            via="api",
            filters={k: str(v) for k, v in cleaned.items() if v},
            what="Document list",
        )
        return self.get_paginated_response(DocumentSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: int) -> Response:
        document = document_for(who=_membership(request), pk=pk)
        document_record_access(document=document, what="read", via="api")
        return Response(DocumentSerializer(document).data)

    def create(self, request: Request) -> Response:
        serializer = DocumentUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        patient = Patient.objects.filter(pk=data["patient"]).first()
        if patient is None:
            raise ValidationError({"patient": ["No such patient."]})
        appointment = None
        if data.get("appointment"):
            appointment = Appointment.objects.filter(pk=data["appointment"]).first()
            if appointment is None:
                raise ValidationError({"appointment": ["No such appointment."]})
        upload = data["file"]
        document = document_upload(
            actor=_membership(request),
            patient=patient,
            kind=data["kind"],
            file=upload,
            original_name=upload.name,
            appointment=appointment,
        )
        return Response(
            DocumentSerializer(document).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api-document-detail", args=[document.pk])},
        )

    @extend_schema(
        summary="Download the file",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)
        },
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def download(self, request: Request, pk: int) -> FileResponse:
        document = document_for(who=_membership(request), pk=pk)
        document_record_access(document=document, what="download", via="api")
        response = FileResponse(
            document_storage().open(document.file_name, "rb"),
            as_attachment=True,
            filename=document.original_name,
            content_type=document.content_type,
        )
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        summary="The extracted text and fields", responses={200: DocumentTextSerializer}
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def text(self, request: Request, pk: int) -> Response:
        document = document_for(who=_membership(request), pk=pk)
        document_record_access(document=document, what="text", via="api")
        return Response(
            {
                "id": document.pk,
                "status": document.status,
                "text_method": document.text_method,
                "confidence": document.confidence,
                "text": document.text,
                "fields": document.fields,
            }
        )

    @extend_schema(
        summary="Confirm or correct the extracted fields",
        request=DocumentReviewSerializer,
        responses={200: DocumentSerializer},
    )
    @action(detail=True, methods=["post"], pagination_class=None)
    def review(self, request: Request, pk: int) -> Response:
        document = document_for(who=_membership(request), pk=pk)
        serializer = DocumentReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        document = document_review(
            actor=_membership(request),
            document=document,
            values=serializer.validated_data["fields"],
        )
        return Response(DocumentSerializer(document).data)
