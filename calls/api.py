"""The messaging partner API: texts, conversations, a visit's reminders. Thin on purpose.

Reads for every member of the clinic; sending for front desk, clinicians and
admins (calls.permissions). Refusals come from the services through the shared
exception handler: no consent or an opted-out number is a 409 with `reason`.
"""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls import selectors
from calls.api_serializers import (
    ConversationSerializer,
    ConversationThreadSerializer,
    MessageCreateSerializer,
    MessageSerializer,
    ReminderSerializer,
    SendRefusalSerializer,
    conversation_to_dict,
    message_to_dict,
    reminder_to_dict,
)
from calls.models import Conversation, Message
from calls.permissions import MessagesApiPermission
from calls.policy import clinic_zone
from calls.services.staff import message_send_staff, sending_problem
from clinic.api.filters import IdFilter, SupportedDateFilter, SupportedDateTimeFilter
from clinic.api.schedule_filters import ScheduleCursorPagination
from clinic.audit import ShownPatient, audit_record_access, audit_record_search
from clinic.clock import local_day_bounds
from clinic.models import Appointment, Patient
from portal.api.permissions import IsClinicMember

PERMISSIONS = [IsClinicMember, MessagesApiPermission]


class MessagePagination(ScheduleCursorPagination):
    ordering = ("-created_at", "-id")


class ConversationPagination(ScheduleCursorPagination):
    ordering = ("-last_message_at", "-id")


class MessageFilter(django_filters.FilterSet):
    """Filters of `GET /api/v1/messages/`."""

    patient = IdFilter(
        field_name="patient_id", help_text="Only this patient's texts (their id)."
    )
    status = django_filters.MultipleChoiceFilter(
        choices=Message.Status.choices,
        help_text="Only texts in this status; repeat for several.",
    )
    direction = django_filters.ChoiceFilter(choices=Message.Direction.choices)
    purpose = django_filters.MultipleChoiceFilter(choices=Message.Purpose.choices)
    created_after = SupportedDateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        help_text="Created at or after this instant (ISO 8601).",
    )
    created_before = SupportedDateTimeFilter(
        field_name="created_at",
        lookup_expr="lt",
        help_text="Created before this instant (ISO 8601).",
    )
    start = SupportedDateFilter(
        method="from_day", help_text="On or after this clinic date (YYYY-MM-DD)."
    )
    end = SupportedDateFilter(
        method="until_day", help_text="On or before this clinic date, included."
    )

    class Meta:
        model = Message
        fields = [
            "patient",
            "status",
            "direction",
            "purpose",
            "created_after",
            "created_before",
            "start",
            "end",
        ]

    def from_day(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(created_at__gte=local_day_bounds(value)[0])

    def until_day(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(created_at__lt=local_day_bounds(value)[1])


def _shown(request: Request, rows, what: str, filters: dict) -> None:
    audit_record_search(
        patients=[
            ShownPatient(pk)
            for pk in dict.fromkeys(r.patient_id for r in rows if r.patient_id)
        ],
        query="",
        via="api",
        filters=filters,
        what=what,
    )


@extend_schema(tags=["messages"])
@extend_schema_view(
    list=extend_schema(
        summary="List texts",
        description="Texts in and out, newest first. Follow `next` for older ones; there is no count.",
        responses={200: MessageSerializer(many=True)},
    ),
    retrieve=extend_schema(summary="Read a text", responses={200: MessageSerializer}),
    create=extend_schema(
        summary="Text a patient",
        description=(
            "Queues a text to the patient's phone from the clinic's number; a worker sends "
            "it and its status moves forward as the carrier reports. Refused with 409 (and a "
            "`reason`) when the patient has not agreed to texts, has no phone, or their "
            "number texted STOP. Billing staff read texts but do not send them (403)."
        ),
        request=MessageCreateSerializer,
        responses={
            201: MessageSerializer,
            409: OpenApiResponse(
                SendRefusalSerializer, description="The patient cannot be texted."
            ),
        },
    ),
)
class MessageViewSet(viewsets.GenericViewSet):
    """The clinic's texts; reads are written to the audit trail."""

    permission_classes = PERMISSIONS
    pagination_class = MessagePagination
    filterset_class = MessageFilter
    lookup_value_converter = "int"
    serializer_class = MessageSerializer

    def get_queryset(self) -> QuerySet[Message]:
        return Message.objects.all()

    def list(self, request: Request) -> Response:
        params = request.query_params
        asked = {
            name: ",".join(params.getlist(name))
            for name in MessageFilter.base_filters
            if name in params
        }
        queryset = self.get_queryset()
        if asked:
            filterset = MessageFilter(params, queryset=queryset, request=request)
            with timezone.override(clinic_zone()):
                if not filterset.is_valid():
                    from rest_framework.exceptions import ValidationError

                    raise ValidationError(filterset.errors)
                queryset = filterset.qs
        page = self.paginate_queryset(queryset)
        _shown(request, page, "Message list", asked)
        return self.get_paginated_response([message_to_dict(m) for m in page])

    def retrieve(self, request: Request, pk: int) -> Response:
        message = get_object_or_404(Message.objects.select_related("patient"), pk=pk)
        if message.patient is not None:
            audit_record_access(patient=message.patient, via="api")
        return Response(message_to_dict(message))

    def create(self, request: Request) -> Response:
        serializer = MessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = message_send_staff(
            actor=request.user.clinic_membership, **serializer.validated_data
        )
        response = Response(message_to_dict(message), status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/messages/{message.pk}/"
        return response


@extend_schema(tags=["messages"])
@extend_schema_view(
    list=extend_schema(
        summary="List conversations",
        description="One thread per patient (or per number no single patient owns), latest first.",
        responses={200: ConversationSerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="A patient's conversation",
        description="The patient's thread: whether they can be texted now, and their texts, newest first.",
        responses={200: ConversationThreadSerializer},
    ),
)
class ConversationViewSet(viewsets.GenericViewSet):
    permission_classes = PERMISSIONS
    pagination_class = ConversationPagination
    lookup_url_kwarg = "patient_id"
    lookup_value_converter = "int"
    serializer_class = ConversationSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[Conversation]:
        return selectors.conversations()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        opted = selectors.opted_out_among([c.number for c in page])
        _shown(request, page, "Conversation list", {})
        return self.get_paginated_response(
            [conversation_to_dict(c, opted_out=c.number in opted) for c in page]
        )

    def retrieve(self, request: Request, patient_id: int) -> Response:
        patient = get_object_or_404(Patient.objects.all(), pk=patient_id)
        audit_record_access(patient=patient, via="api")
        conversation = Conversation.objects.filter(patient=patient).first()
        code, _ = sending_problem(patient)
        paginator = MessagePagination()
        messages = (
            paginator.paginate_queryset(
                Message.objects.filter(conversation=conversation), request, self
            )
            if conversation is not None
            else []
        )
        opted = (
            bool(selectors.opted_out_among([conversation.number]))
            if conversation
            else False
        )
        return Response(
            {
                "patient": patient.pk,
                "conversation": conversation_to_dict(conversation, opted_out=opted)
                if conversation
                else None,
                "can_text": not code,
                "cannot_text_reason": code,
                "next": paginator.get_next_link() if conversation else None,
                "previous": paginator.get_previous_link() if conversation else None,
                "results": [message_to_dict(m) for m in messages],
            }
        )


class AppointmentRemindersView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        tags=["messages"],
        summary="A visit's reminders",
        description=(
            "Every reminder planned for the visit, for each time it was booked at: when it is "
            "due, what became of it (sent, skipped and why, cancelled), its text and the reply."
        ),
        responses={200: ReminderSerializer(many=True)},
    )
    def get(self, request: Request, pk: int) -> Response:
        appointment = get_object_or_404(
            Appointment.objects.select_related("patient"), pk=pk
        )
        audit_record_access(patient=appointment.patient, via="api")
        tz = clinic_zone()
        return Response(
            [
                reminder_to_dict(r, tz)
                for r in selectors.appointment_reminders(appointment=appointment)
            ]
        )
