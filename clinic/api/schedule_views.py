"""Schedule endpoints of the partner API: providers, visit types, slots, appointments.

Thin on purpose: parse, call clinic.services / clinic.selectors, shape. A rule
refused by a service answers 400 with field errors, a conflict 409 with the
conflicting appointments, an illegal move 409 with the current status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.actors import request_actor
from clinic.api.schedule_filters import (
    AppointmentCursorPagination,
    AppointmentFilter,
    ScheduleCursorPagination,
    appointment_rows,
)
from clinic.api.schedule_serializers import (
    APPOINTMENT_ROW_COLUMNS,
    AppointmentBookSerializer,
    AppointmentCancelSerializer,
    AppointmentRescheduleSerializer,
    AppointmentSerializer,
    AppointmentTypeSerializer,
    ConflictErrorSerializer,
    ProviderSerializer,
    SlotListSerializer,
    SlotQuerySerializer,
    appointment_row_to_dict,
    appointment_to_dict,
    slot_to_dict,
)
from clinic.audit import ShownPatient, audit_record_access, audit_record_search
from clinic.clock import clinic_tz
from clinic.models import Appointment, AppointmentEvent, AppointmentType, Provider
from clinic.permissions import Perm, api_permission
from clinic.selectors import slots_for_provider, slots_for_type
from clinic.selectors.availability import Slot
from clinic.services import (
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_confirm,
    appointment_no_show,
    appointment_reschedule,
)

# The error answers every endpoint shares (400, 401, 403, 404, 413...) are added
# to the schema by portal.api.schema.ClinicAutoSchema; only 409s are particular.
_CONFLICT = OpenApiResponse(
    ConflictErrorSerializer,
    description="The time conflicts with other appointments (`conflicts`), or the "
    "appointment's status does not allow this (`current_status`).",
)
_TRANSITION = OpenApiResponse(
    ConflictErrorSerializer,
    description="The appointment's status does not allow this (`current_status`).",
)
_FORBIDDEN = OpenApiResponse(
    description="Overbooking is not allowed for this user, or the user's role does "
    "not change the schedule."
)


def _slots_answer(request: Request, provider: Provider | None = None) -> Response:
    """Free slots of one provider, or of every provider offering the type."""
    query = SlotQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    dates = {"start_date": data["start"], "end_date": data["end"]}
    appointment_type = data["appointment_type"]
    slots: list[Slot] = []
    if not appointment_type.is_active:
        pass  # a retired type offers nothing, like a provider who does not offer it
    elif provider is not None:
        slots = slots_for_provider(
            provider=provider, appointment_type=appointment_type, **dates
        )
    else:
        slots = slots_for_type(appointment_type=appointment_type, **dates)
    tz = clinic_tz()
    return Response({"timezone": tz.key, "slots": [slot_to_dict(s, tz) for s in slots]})


# --- Providers and appointment types --------------------------------------------------


class _ReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):
    pagination_class = ScheduleCursorPagination
    filter_backends: list = []
    lookup_value_converter = "int"


@extend_schema(tags=["schedule"])
@extend_schema_view(
    list=extend_schema(summary="List providers", description="In name order."),
    retrieve=extend_schema(
        summary="Read a provider", responses={200: ProviderSerializer}
    ),
)
class ProviderViewSet(_ReadOnlyViewSet):
    """The clinic's providers and the visit types each offers."""

    serializer_class = ProviderSerializer

    def get_queryset(self) -> QuerySet[Provider]:
        return Provider.objects.prefetch_related(
            Prefetch("appointment_types", queryset=AppointmentType.objects.only("id"))
        )

    @extend_schema(
        summary="Free slots of a provider",
        description=(
            "Bookable starts of one visit type with this provider between two clinic "
            "dates (both included, at most 31 days), soonest first. A provider who "
            "does not offer the type, or is inactive, has no slots."
        ),
        parameters=[SlotQuerySerializer],
        responses={200: SlotListSerializer},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def slots(self, request: Request, pk: int) -> Response:
        return _slots_answer(request, get_object_or_404(Provider.objects.all(), pk=pk))


@extend_schema(tags=["schedule"])
@extend_schema_view(
    list=extend_schema(
        summary="List appointment types", description="Visit types in name order."
    ),
    retrieve=extend_schema(
        summary="Read an appointment type",
        responses={200: AppointmentTypeSerializer},
    ),
)
class AppointmentTypeViewSet(_ReadOnlyViewSet):
    """Kinds of visit: how long they take, their start grid and who offers them."""

    serializer_class = AppointmentTypeSerializer

    def get_queryset(self) -> QuerySet[AppointmentType]:
        return AppointmentType.objects.prefetch_related(
            Prefetch("providers", queryset=Provider.objects.only("id"))
        )


class SlotListView(APIView):
    """Free slots of every active provider offering a visit type."""

    @extend_schema(
        tags=["schedule"],
        summary="Free slots of a visit type",
        description=(
            "Bookable starts of one visit type with every active provider who offers "
            "it, between two clinic dates (both included, at most 31 days), soonest "
            "first. Times carry the clinic's UTC offset."
        ),
        parameters=[SlotQuerySerializer],
        responses={200: SlotListSerializer},
    )
    def get(self, request: Request) -> Response:
        return _slots_answer(request)


# --- Appointments ---------------------------------------------------------------------


def _action_schema(
    summary: str, description: str, request: Any = None, extra: dict | None = None
) -> Any:
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        responses={
            200: AppointmentSerializer,
            409: _TRANSITION,
            **(extra or {}),
        },
    )


@extend_schema(tags=["appointments"])
@extend_schema_view(
    list=extend_schema(
        summary="List appointments",
        description=(
            "Appointments in start order. Follow `next` for the following page; "
            "there is no total count."
        ),
        responses={200: AppointmentSerializer(many=True)},
    ),
    retrieve=extend_schema(
        summary="Read an appointment with its history",
        responses={200: AppointmentSerializer},
    ),
    create=extend_schema(
        summary="Book an appointment",
        description=(
            "Books a free slot (see the slot endpoints). A time outside the "
            "provider's hours, in the past or off the type's grid is a field error "
            "(400); a time taken by another appointment is a 409 listing it."
        ),
        request=AppointmentBookSerializer,
        responses={
            201: AppointmentSerializer,
            403: _FORBIDDEN,
            409: _CONFLICT,
        },
    ),
)
class AppointmentViewSet(viewsets.GenericViewSet):
    """The clinic's appointments; reads are written to the audit trail."""

    permission_classes = [api_permission(Perm.VIEW_SCHEDULE, Perm.CHANGE_SCHEDULE)]
    serializer_class = AppointmentSerializer
    pagination_class = AppointmentCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = AppointmentFilter
    lookup_value_converter = "int"

    def get_queryset(self) -> QuerySet[Appointment]:
        return Appointment.objects.all()

    def _appointment(self, pk: int) -> Appointment:
        # The schema is the clinic: "missing" and "another clinic's" are one 404.
        return get_object_or_404(Appointment.objects.all(), pk=pk)

    def _answer(
        self, appointment: Appointment, code: int = status.HTTP_200_OK
    ) -> Response:
        return Response(appointment_to_dict(appointment, clinic_tz()), status=code)

    def _move(
        self,
        service: Callable[..., Appointment],
        pk: int,
        request: Request,
        **data: Any,
    ) -> Response:
        """Run a lifecycle service on the appointment; answer with its new state."""
        return self._answer(
            service(
                appointment=self._appointment(pk),
                actor=request_actor(request),
                **data,
            )
        )

    def list(self, request: Request) -> Response:
        tz = clinic_tz()
        # Rows, not instances: the page's JSON is built from the columns.
        rows, filters = appointment_rows(
            self.get_queryset(), request, APPOINTMENT_ROW_COLUMNS
        )
        page = self.paginate_queryset(rows)
        shown = dict.fromkeys(row["patient_id"] for row in page)
        audit_record_search(
            patients=[ShownPatient(pk) for pk in shown],
            query="",
            via="api",
            filters=filters,
            what="Appointment list",
        )
        return self.get_paginated_response(
            [appointment_row_to_dict(row, tz) for row in page]
        )

    def retrieve(self, request: Request, pk: int) -> Response:
        appointment = get_object_or_404(
            Appointment.objects.select_related("patient").prefetch_related(
                Prefetch(
                    "events", queryset=AppointmentEvent.objects.order_by("at", "id")
                )
            ),
            pk=pk,
        )
        audit_record_access(patient=appointment.patient, via="api")
        return Response(
            appointment_to_dict(
                appointment, clinic_tz(), history=list(appointment.events.all())
            )
        )

    def create(self, request: Request) -> Response:
        serializer = AppointmentBookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appointment = appointment_book(
            **serializer.validated_data,
            actor=request_actor(request),
            source=Appointment.Source.PARTNER_API,
        )
        response = self._answer(appointment, status.HTTP_201_CREATED)
        response["Location"] = reverse("api-appointment-detail", args=[appointment.pk])
        return response

    @_action_schema(
        "Confirm an appointment", "The patient confirmed: scheduled -> confirmed."
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: int) -> Response:
        return self._move(appointment_confirm, pk, request)

    @_action_schema(
        "Cancel an appointment",
        "Scheduled or confirmed -> cancelled; `reason` is required.",
        request=AppointmentCancelSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: int) -> Response:
        serializer = AppointmentCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data.get("reason", "")
        return self._move(appointment_cancel, pk, request, reason=reason)

    @_action_schema(
        "Reschedule an appointment",
        "Moves a scheduled or confirmed visit to another free time (and provider); "
        "it becomes scheduled again and the old time stays in its history. A taken "
        "time is a 409 listing the conflicts.",
        request=AppointmentRescheduleSerializer,
        extra={409: _CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, pk: int) -> Response:
        serializer = AppointmentRescheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return self._move(
            appointment_reschedule,
            pk,
            request,
            start=data["start"],
            provider=data.get("provider"),
        )

    @_action_schema(
        "Check a patient in",
        "Scheduled or confirmed -> checked in, on the day of the visit.",
    )
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request: Request, pk: int) -> Response:
        return self._move(appointment_check_in, pk, request)

    @_action_schema("Complete an appointment", "Checked in -> completed.")
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: int) -> Response:
        return self._move(appointment_complete, pk, request)

    @_action_schema(
        "Mark a no-show",
        "Scheduled or confirmed -> no-show, once the visit has started.",
    )
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request: Request, pk: int) -> Response:
        return self._move(appointment_no_show, pk, request)
