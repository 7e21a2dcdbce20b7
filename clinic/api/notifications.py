"""Notification endpoints of the partner API: the token's member's own notifications."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from clinic.api.schedule_filters import ScheduleCursorPagination
from clinic.models import Notification, NotificationKind
from clinic.selectors.notifications import (
    notification_kinds_received,
    notifications_of,
    unread_notification_count,
)
from clinic.services.notifications import (
    notification_mark_all_read,
    notification_mark_read,
    notification_preferences_set,
)


class NotificationCursorPagination(ScheduleCursorPagination):
    ordering = ("-created_at", "-id")


class NotificationSerializer(serializers.ModelSerializer):
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "url", "created_at", "read_at", "is_read"]


class NotificationQuerySerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, default=False)
    kind = serializers.ChoiceField(choices=NotificationKind.choices, required=False)


class PreferencesSerializer(serializers.Serializer):
    receive = serializers.ListField(
        child=serializers.ChoiceField(choices=NotificationKind.choices), max_length=10
    )


@extend_schema(tags=["notifications"])
@extend_schema_view(
    list=extend_schema(
        summary="List my notifications",
        description="Newest first; `unread=true` for unread ones. Also answers `unread_count`.",
        parameters=[NotificationQuerySerializer],
    ),
)
class NotificationViewSet(viewsets.GenericViewSet):
    serializer_class = NotificationSerializer
    pagination_class = NotificationCursorPagination
    filter_backends: list = []
    lookup_value_converter = "int"

    def _member(self):
        return self.request.user.clinic_membership

    def get_queryset(self) -> QuerySet[Notification]:
        return notifications_of(member=self._member())

    def get_object(self) -> Notification:
        # OPTIONS on `preferences/` (PUT, no id) asks for an object: there is none.
        notification = self.get_queryset().filter(pk=self.kwargs.get("pk") or 0).first()
        if notification is None:
            raise Http404
        return notification

    def list(self, request: Request) -> Response:
        query = NotificationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = notifications_of(
            member=self._member(),
            unread=query.validated_data["unread"],
            kind=query.validated_data.get("kind", ""),
        )
        page = self.paginate_queryset(queryset)
        answer = self.get_paginated_response(
            NotificationSerializer(page, many=True).data
        )
        answer.data["unread_count"] = unread_notification_count(member=self._member())
        return answer

    @extend_schema(
        summary="Mark one of my notifications read",
        request=None,
        responses={200: NotificationSerializer},
    )
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: int) -> Response:
        notification = notification_mark_read(
            member=self._member(), notification=self.get_object()
        )
        return Response(NotificationSerializer(notification).data)

    @extend_schema(
        summary="Mark all my notifications read",
        request=None,
        responses={
            200: inline_serializer(
                "NotificationsReadAll",
                {
                    "marked_read": serializers.IntegerField(),
                    "unread_count": serializers.IntegerField(),
                },
            )
        },
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        count = notification_mark_all_read(member=self._member())
        return Response({"marked_read": count, "unread_count": 0})

    @extend_schema(
        summary="Which kinds I receive",
        request=PreferencesSerializer,
        responses={200: PreferencesSerializer},
    )
    @action(detail=False, methods=["get", "put"])
    def preferences(self, request: Request) -> Response:
        member = self._member()
        if request.method == "PUT":
            data = PreferencesSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            notification_preferences_set(
                member=member, receive=data.validated_data["receive"]
            )
        return Response({"receive": sorted(notification_kinds_received(member=member))})
