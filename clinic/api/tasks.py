"""Task endpoints of the partner API: list with filters, create, read, change, move,
assign, comment. Thin: parse, call clinic.services.tasks or a selector, shape.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from clinic.api.fields import IdRelatedField, SupportedDateField
from clinic.api.filters import IdFilter, SupportedDateFilter
from clinic.api.schedule_filters import ScheduleCursorPagination
from clinic.audit import ShownPatient, audit_record_access, audit_record_search
from clinic.clock import clinic_today
from clinic.models import Patient, Task
from clinic.selectors.tasks import clinic_members, task_detail, tasks_with_overdue
from clinic.services.tasks import (
    task_allowed_moves,
    task_assign,
    task_comment,
    task_create,
    task_move,
    task_update,
)
from portal.limits import MAX_ID
from portal.models import Membership


class TaskCursorPagination(ScheduleCursorPagination):
    ordering = ("-created_at", "-id")


class TaskFilter(django_filters.FilterSet):
    """Filters of `GET /api/v1/tasks/`."""

    state = django_filters.MultipleChoiceFilter(
        choices=Task.State.choices, help_text="Repeat for several states."
    )
    priority = django_filters.MultipleChoiceFilter(choices=Task.Priority.choices)
    kind = django_filters.MultipleChoiceFilter(choices=Task.Kind.choices)
    assignee = IdFilter(field_name="assignee_id", help_text="A member's id.")
    patient = IdFilter(field_name="patient_id", help_text="A patient's id.")
    due_after = SupportedDateFilter(field_name="due_date", lookup_expr="gte")
    due_before = SupportedDateFilter(field_name="due_date", lookup_expr="lte")
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", help_text="Open tasks due before today (or not)."
    )
    mine = django_filters.BooleanFilter(
        method="filter_mine", help_text="Tasks assigned to the token's member."
    )

    class Meta:
        model = Task
        fields = [
            "state",
            "priority",
            "kind",
            "assignee",
            "patient",
            "due_after",
            "due_before",
            "overdue",
            "mine",
        ]

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(is_overdue=value)

    def filter_mine(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        member = self.request.user.clinic_membership
        if value:
            return queryset.filter(assignee_id=member.pk)
        return queryset.exclude(assignee_id=member.pk)


class MemberField(serializers.IntegerField):
    """A member of this clinic by Membership id (null for nobody)."""

    def to_internal_value(self, data: object) -> Membership:
        number = super().to_internal_value(data)
        member = None
        if 1 <= number <= MAX_ID:
            member = clinic_members().filter(pk=number).first()
        if member is None:
            raise serializers.ValidationError("Choose an active member of this clinic.")
        return member

    def to_representation(self, value: object) -> int | None:
        return getattr(value, "pk", value)


class TaskEventSerializer(serializers.Serializer):
    kind = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    assignee = serializers.IntegerField(source="assignee_id", allow_null=True)
    by = serializers.CharField(source="by_label")
    note = serializers.CharField()
    at = serializers.DateTimeField()


class TaskSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True
    )
    patient = IdRelatedField(
        queryset=Patient.objects.all(), required=False, allow_null=True
    )
    assignee = MemberField(required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=Task.Priority.choices, required=False)
    due_date = SupportedDateField(required=False, allow_null=True)
    state = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True)
    source_key = serializers.CharField(read_only=True)
    created_by = serializers.CharField(source="created_by_label", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)
    allowed_moves = serializers.SerializerMethodField()

    def get_allowed_moves(self, task: Task) -> list[str]:
        return list(task_allowed_moves(task))

    def to_representation(self, task: Task) -> dict[str, Any]:
        data = super().to_representation(task)
        data["patient"] = task.patient_id
        data["assignee"] = task.assignee_id
        return data


class TaskDetailSerializer(TaskSerializer):
    events = TaskEventSerializer(many=True, read_only=True)


class TaskMoveSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Task.State.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class TaskAssignSerializer(serializers.Serializer):
    assignee = MemberField(allow_null=True)


class TaskCommentSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000)


def _audit_list(tasks: list[Task], request: Request) -> None:
    shown = sorted({t.patient_id for t in tasks if t.patient_id})
    if shown:
        audit_record_search(
            patients=[ShownPatient(pk) for pk in shown],
            query="",
            via="api",
            filters={
                k: ",".join(request.query_params.getlist(k))
                for k in request.query_params
            },
            what="Task list",
        )


@extend_schema(tags=["tasks"])
@extend_schema_view(
    list=extend_schema(
        summary="List tasks", description="Newest first; follow `next`."
    ),
    create=extend_schema(summary="Create a task", request=TaskSerializer),
    retrieve=extend_schema(summary="Read a task with its history"),
    partial_update=extend_schema(
        summary="Change a task's title, description, patient, priority or due date"
    ),
)
class TaskViewSet(viewsets.GenericViewSet):
    """The clinic's tasks; every member may work them."""

    serializer_class = TaskSerializer
    pagination_class = TaskCursorPagination
    filterset_class = TaskFilter
    lookup_value_converter = "int"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Task]:
        return tasks_with_overdue(today=clinic_today()).select_related(None)

    def _task(self, pk: int) -> Task:
        task = task_detail(pk=pk, today=clinic_today())
        if task is None:
            raise Http404
        return task

    def _answer(self, task: Task, code: int = status.HTTP_200_OK) -> Response:
        return Response(TaskDetailSerializer(self._task(task.pk)).data, status=code)

    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        _audit_list(page, request)
        return self.get_paginated_response(TaskSerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        data = TaskSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = task_create(actor=request.user.clinic_membership, **data.validated_data)
        return self._answer(task, status.HTTP_201_CREATED)

    def retrieve(self, request: Request, pk: int) -> Response:
        task = self._task(pk)
        if task.patient_id:
            audit_record_access(patient=task.patient, via="api task")
        return Response(TaskDetailSerializer(task).data)

    def partial_update(self, request: Request, pk: int) -> Response:
        task = self._task(pk)
        data = TaskSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if "assignee" in changes:
            raise ValidationError({"assignee": ["Use the assign action."]})
        task_update(actor=request.user.clinic_membership, task=task, **changes)
        return self._answer(task)

    @extend_schema(
        summary="Move a task to another state",
        request=TaskMoveSerializer,
        responses={200: TaskDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: int) -> Response:
        task = self._task(pk)
        data = TaskMoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task_move(
            actor=request.user.clinic_membership, task=task, **data.validated_data
        )
        return self._answer(task)

    @extend_schema(
        summary="Assign a task (null: nobody)",
        request=TaskAssignSerializer,
        responses={200: TaskDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: int) -> Response:
        task = self._task(pk)
        data = TaskAssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task_assign(
            actor=request.user.clinic_membership,
            task=task,
            assignee=data.validated_data["assignee"],
        )
        return self._answer(task)

    @extend_schema(
        summary="Comment on a task",
        request=TaskCommentSerializer,
        responses={200: TaskDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def comment(self, request: Request, pk: int) -> Response:
        task = self._task(pk)
        data = TaskCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task_comment(
            actor=request.user.clinic_membership,
            task=task,
            note=data.validated_data["note"],
        )
        return self._answer(task)
