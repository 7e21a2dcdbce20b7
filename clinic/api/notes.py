"""Clinical note endpoints of the partner API, scoped by role (clinic.permissions).

Every token may list notes and read one note's metadata: that a visit has a
note, its status and who signed it when. The content (diagnoses, assessment,
plan, prescriptions, addenda) is in a retrieve's answer only for clinicians and
admins, and each such read writes an access entry. Lists never carry content.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.codes import display_icd10
from clinic.api.fields import IdRelatedField
from clinic.api.filters import IdFilter
from clinic.api.schedule_filters import ScheduleCursorPagination
from clinic.audit import ShownPatient, audit_record_access, audit_record_search
from clinic.models import Appointment, ClinicalNote, Prescription
from clinic.permissions import can_read_note_content
from clinic.selectors.notes import note_meta, note_with_content, notes_meta
from clinic.services.notes import (
    note_add_addendum,
    note_create,
    note_sign,
    note_update,
)


class NoteCursorPagination(ScheduleCursorPagination):
    ordering = ("-created_at", "-id")


class NoteFilter(django_filters.FilterSet):
    patient = IdFilter(field_name="patient_id")
    appointment = IdFilter(field_name="appointment_id")
    status = django_filters.ChoiceFilter(choices=ClinicalNote.Status.choices)

    class Meta:
        model = ClinicalNote
        fields = ["patient", "appointment", "status"]


class NoteDiagnosisSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=10)
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True
    )


class NotePrescriptionSerializer(serializers.Serializer):
    drug = serializers.CharField(max_length=200)
    dose = serializers.CharField(max_length=60)
    route = serializers.ChoiceField(choices=Prescription.Route.choices)
    frequency = serializers.CharField(max_length=60)
    quantity = serializers.IntegerField(min_value=1, max_value=100000)
    refills = serializers.IntegerField(min_value=0, max_value=11, required=False)


class NoteWriteSerializer(serializers.Serializer):
    appointment = IdRelatedField(queryset=Appointment.objects.all())
    assessment = serializers.CharField(
        required=False, allow_blank=True, max_length=20000
    )
    plan = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    diagnoses = NoteDiagnosisSerializer(many=True, required=False)
    prescriptions = NotePrescriptionSerializer(many=True, required=False)


class AddendumSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=10000)


class AddendumOutSerializer(serializers.Serializer):
    text = serializers.CharField()
    author = serializers.CharField()
    created_at = serializers.DateTimeField()


class NoteMetaSerializer(serializers.Serializer):
    """What every role may know of a note (documentation of the answers)."""

    id = serializers.IntegerField()
    appointment = serializers.IntegerField()
    patient = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ClinicalNote.Status.choices)
    author = serializers.CharField()
    signed_by = serializers.CharField(allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class NoteSerializer(NoteMetaSerializer):
    """A note as retrieved: the content fields only for clinicians and admins."""

    assessment = serializers.CharField(required=False)
    plan = serializers.CharField(required=False)
    diagnoses = NoteDiagnosisSerializer(many=True, required=False)
    prescriptions = NotePrescriptionSerializer(many=True, required=False)
    addenda = AddendumOutSerializer(many=True, required=False)


_SIGNED = OpenApiResponse(
    description="The note is signed (it never changes), or a draft takes no addendum."
)


def note_meta_dict(note: ClinicalNote) -> dict[str, Any]:
    return {
        "id": note.pk,
        "appointment": note.appointment_id,
        "patient": note.patient_id,
        "status": note.status,
        "author": note.author_label,
        "signed_by": note.signed_by_label or None,
        "signed_at": note.signed_at.isoformat() if note.signed_at else None,
        "created_at": note.created_at.isoformat(),
        "updated_at": note.updated_at.isoformat(),
    }


def note_content_dict(note: ClinicalNote) -> dict[str, Any]:
    return {
        **note_meta_dict(note),
        "assessment": note.assessment,
        "plan": note.plan,
        "diagnoses": [
            {"code": display_icd10(d.code), "description": d.description}
            for d in note.diagnoses.all()
        ],
        "prescriptions": [
            {
                "drug": p.drug,
                "dose": p.dose,
                "route": p.route,
                "frequency": p.frequency,
                "quantity": p.quantity,
                "refills": p.refills,
            }
            for p in note.prescriptions.all()
        ],
        "addenda": [
            {
                "text": a.text,
                "author": a.author_label,
                "created_at": a.created_at.isoformat(),
            }
            for a in note.addenda.all()
        ],
    }


@extend_schema(tags=["notes"])
@extend_schema_view(
    list=extend_schema(
        summary="List clinical notes (metadata only)",
        description="Which visits have a note, its status and signer. No content.",
    ),
    retrieve=extend_schema(
        summary="Read a clinical note",
        description="Content for clinicians and admins (audited); metadata for others.",
    ),
    create=extend_schema(
        summary="Draft a visit's note (clinicians)", request=NoteWriteSerializer
    ),
    partial_update=extend_schema(summary="Change a draft (clinicians)"),
)
class NoteViewSet(viewsets.GenericViewSet):
    serializer_class = NoteSerializer
    pagination_class = NoteCursorPagination
    filterset_class = NoteFilter
    lookup_value_converter = "int"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[ClinicalNote]:
        return notes_meta()

    def _member(self):
        return self.request.user.clinic_membership

    def _answer(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        member = self._member()
        if can_read_note_content(member):
            note = note_with_content(pk=pk)
            if note is None:
                raise Http404
            audit_record_access(
                patient=note.patient, via=f"api clinical note {pk} (content)"
            )
            return Response(note_content_dict(note), status=code)
        note = note_meta(pk=pk)
        if note is None:
            raise Http404
        audit_record_access(
            patient=note.patient, via=f"api clinical note {pk} (existence only)"
        )
        return Response(note_meta_dict(note), status=code)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        shown = sorted({n.patient_id for n in page})
        if shown:
            audit_record_search(
                patients=[ShownPatient(pk) for pk in shown],
                query="",
                via="api",
                filters=dict(request.query_params.items()),
                what="Clinical note list",
            )
        return self.get_paginated_response([note_meta_dict(n) for n in page])

    def retrieve(self, request: Request, pk: int) -> Response:
        return self._answer(pk)

    def create(self, request: Request) -> Response:
        data = NoteWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = note_create(actor=self._member(), **data.validated_data)
        return self._answer(note.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: int) -> Response:
        note = ClinicalNote.objects.filter(pk=pk).only("pk").first()
        if note is None:
            raise Http404
        data = NoteWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        changes.pop("appointment", None)
        note_update(actor=self._member(), note=note, **changes)
        return self._answer(pk)

    @extend_schema(
        summary="Sign a draft note (the visit's clinician)",
        request=None,
        responses={200: NoteSerializer, 409: _SIGNED},
    )
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: int) -> Response:
        note = ClinicalNote.objects.filter(pk=pk).only("pk").first()
        if note is None:
            raise Http404
        note_sign(actor=self._member(), note=note)
        return self._answer(pk)

    @extend_schema(
        summary="Add an addendum to a signed note", request=AddendumSerializer
    )
    @action(detail=True, methods=["post"])
    def addenda(self, request: Request, pk: int) -> Response:
        note = ClinicalNote.objects.filter(pk=pk).only("pk").first()
        if note is None:
            raise Http404
        data = AddendumSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note_add_addendum(
            actor=self._member(), note=note, text=data.validated_data["text"]
        )
        return self._answer(pk, status.HTTP_201_CREATED)
