"""The calls API: list, read (with the timeline), transcript, place a call, hang up.

Reads for every member of the clinic; placing and hanging up calls for front
desk, clinicians and admins (calls.permissions). Refusals come from the
services through the shared exception handler: no consent, quiet hours, or a
call that has ended already is a 409 with `reason` or `current_status`.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from calls.api import _shown
from calls.api_serializers import _utc
from calls.models import CallEvent, CallSession, TranscriptTurn
from calls.permissions import CallsApiPermission
from calls.policy import clinic_zone
from calls.services.voice_dial import call_hangup, call_request
from clinic.api.filters import IdFilter, SupportedDateFilter
from clinic.api.schedule_filters import ScheduleCursorPagination
from clinic.audit import audit_record_access
from clinic.clock import local_day_bounds
from clinic.models import Appointment, Patient
from portal.api.permissions import IsClinicMember


class CallPagination(ScheduleCursorPagination):
    ordering = ("-created_at", "-id")


class CallFilter(django_filters.FilterSet):
    """Filters of `GET /api/v1/calls/`."""

    patient = IdFilter(field_name="patient_id", help_text="Only this patient's calls.")
    status = django_filters.MultipleChoiceFilter(
        choices=CallSession.Status.choices, help_text="Repeat for several."
    )
    purpose = django_filters.MultipleChoiceFilter(choices=CallSession.Purpose.choices)
    direction = django_filters.ChoiceFilter(choices=CallSession.Direction.choices)
    campaign = IdFilter(field_name="campaign_id")
    date = SupportedDateFilter(
        method="on_day", help_text="Created on this clinic date (YYYY-MM-DD)."
    )

    class Meta:
        model = CallSession
        fields = ["patient", "status", "purpose", "direction", "campaign", "date"]

    def on_day(self, queryset: QuerySet, name: str, value) -> QuerySet:
        start, end = local_day_bounds(value)
        return queryset.filter(created_at__gte=start, created_at__lt=end)


def call_to_dict(session: CallSession) -> dict[str, Any]:
    return {
        "id": session.pk,
        "patient": session.patient_id,
        "appointment": session.appointment_id,
        "campaign": session.campaign_id,
        "workflow": session.workflow_id,
        "purpose": session.purpose,
        "direction": session.direction,
        "status": session.status,
        "status_display": session.get_status_display(),
        "outcome": session.outcome,
        "detail": session.detail,
        "sid": session.sid,
        "from": session.from_number,
        "to": session.to_number,
        "answered_by": session.answered_by,
        "language": session.language,
        "attempt": session.attempt,
        "retry_of": session.retry_of_id,
        "started_by": session.started_by_label,
        "created_at": _utc(session.created_at),
        "placed_at": _utc(session.placed_at),
        "answered_at": _utc(session.answered_at),
        "ended_at": _utc(session.ended_at),
        "duration_seconds": session.duration_seconds,
        "error_code": session.error_code,
    }


def event_to_dict(event: CallEvent) -> dict[str, Any]:
    return {
        "at": _utc(event.at),
        "source": event.source,
        "carrier_status": event.carrier_status,
        "sequence": event.sequence,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "applied": event.applied,
        "detail": event.detail,
    }


def turn_to_dict(turn: TranscriptTurn) -> dict[str, Any]:
    return {
        "id": turn.pk,
        "step": turn.step,
        "speaker": turn.speaker,
        "kind": turn.kind,
        "text": turn.text,
        "confidence": str(turn.confidence) if turn.confidence is not None else None,
        "at": _utc(turn.at),
    }


class CallCreateSerializer(serializers.Serializer):
    patient = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    appointment = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, allow_null=True
    )
    purpose = serializers.ChoiceField(
        choices=["confirmation", "recall", "custom"], default="confirmation"
    )
    message = serializers.CharField(required=False, allow_blank=True, max_length=500)


class CallSerializer(serializers.Serializer):
    """A call (see the description of the list)."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CallSession.Status.choices)


def _session(pk: int) -> CallSession:
    session = get_object_or_404(CallSession.objects.select_related("patient"), pk=pk)
    if session.patient is not None:
        audit_record_access(patient=session.patient, via="api")
    return session


@extend_schema(tags=["calls"])
@extend_schema_view(
    list=extend_schema(
        summary="List calls",
        description="Calls out and in, newest first; follow `next` for older ones.",
        responses={200: CallSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="Read a call with its timeline"),
    create=extend_schema(
        summary="Call a patient",
        description=(
            "Queues a call; a worker places it within the clinic's limit of calls at "
            "once. 409 with `reason` when the patient has not agreed to calls, has no "
            "phone, or it is quiet hours. Billing staff do not place calls (403)."
        ),
        request=CallCreateSerializer,
        responses={201: CallSerializer, 409: OpenApiResponse(description="Refused")},
    ),
)
class CallViewSet(viewsets.GenericViewSet):
    permission_classes = [IsClinicMember, CallsApiPermission]
    pagination_class = CallPagination
    filterset_class = CallFilter
    lookup_value_converter = "int"
    serializer_class = CallSerializer

    def get_queryset(self) -> QuerySet[CallSession]:
        return CallSession.objects.all()

    def list(self, request: Request) -> Response:
        params = request.query_params
        asked = {
            name: ",".join(params.getlist(name))
            for name in CallFilter.base_filters
            if name in params
        }
        queryset = self.get_queryset()
        if asked:
            filterset = CallFilter(params, queryset=queryset, request=request)
            with timezone.override(clinic_zone()):
                if not filterset.is_valid():
                    from rest_framework.exceptions import ValidationError

                    raise ValidationError(filterset.errors)
                queryset = filterset.qs
        page = self.paginate_queryset(queryset)
        _shown(request, page, "Call list", asked)
        return self.get_paginated_response([call_to_dict(s) for s in page])

    def retrieve(self, request: Request, pk: int) -> Response:
        session = _session(pk)
        data = call_to_dict(session)
        data["timeline"] = [
            event_to_dict(e) for e in session.events.order_by("at", "id")
        ]
        return Response(data)

    @extend_schema(summary="A call's transcript", responses={200: CallSerializer})
    @action(detail=True, methods=["get"])
    def transcript(self, request: Request, pk: int) -> Response:
        session = _session(pk)
        return Response(
            {
                "call": session.pk,
                "turns": [turn_to_dict(t) for t in session.turns.order_by("at", "id")],
            }
        )

    @extend_schema(
        summary="Hang up a call",
        description="Ends the live call through Twilio; the call ends Terminated.",
        request=None,
        responses={
            200: CallSerializer,
            409: OpenApiResponse(description="Ended already"),
        },
    )
    @action(detail=True, methods=["post"])
    def hangup(self, request: Request, pk: int) -> Response:
        session = get_object_or_404(CallSession.objects.all(), pk=pk)
        session = call_hangup(actor=request.user.clinic_membership, session=session)
        return Response(call_to_dict(session))

    def create(self, request: Request) -> Response:
        serializer = CallCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # A reference in the body that is not this clinic's is the field's fault
        # (400 naming it), as everywhere else in the API, not a missing page.
        patient = Patient.objects.filter(pk=data["patient"]).first()
        if patient is None:
            raise serializers.ValidationError({"patient": ["No such patient."]})
        visit = None
        if data.get("appointment"):
            visit = Appointment.objects.filter(pk=data["appointment"]).first()
            if visit is None:
                raise serializers.ValidationError(
                    {"appointment": ["No such appointment."]}
                )
        session = call_request(
            actor=request.user.clinic_membership,
            patient=patient,
            appointment=visit,
            purpose=data["purpose"],
            message=data.get("message", ""),
        )
        response = Response(call_to_dict(session), status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/calls/{session.pk}/"
        return response
