"""The dashboard's figures over the partner API (the same numbers as the home page)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.permissions import can_read_messages
from clinic.clock import clinic_today
from clinic.permissions import document_kinds_visible
from clinic.selectors.dashboard import dashboard_figures, dashboard_to_dict


class DashboardView(APIView):
    @extend_schema(
        tags=["dashboard"],
        summary="The clinic's dashboard",
        description=(
            "Today's visits by status, confirmation and no-show rates over the last "
            "30 days with the daily figures, open and overdue tasks (the clinic's and "
            "the token member's), unread conversations, and documents awaiting "
            "review (null where the clinic has no such feature). Aggregates only: "
            "no patient is named."
        ),
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        member = request.user.clinic_membership
        board = dashboard_figures(
            today=clinic_today(),
            member_id=member.pk,
            with_conversations=can_read_messages(member),
            document_kinds=document_kinds_visible(member),
        )
        return Response(dashboard_to_dict(board))
