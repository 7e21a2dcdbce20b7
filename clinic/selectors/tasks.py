"""Reads of tasks: the filtered lists, one task with its history, the members to assign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import BooleanField, Case, F, Prefetch, Q, QuerySet, Value, When

from clinic.models import Task, TaskEvent
from portal.models import Membership

DUE_CHOICES = [
    ("overdue", "Overdue"),
    ("today", "Due today"),
    ("week", "Due within 7 days"),
    ("none", "No due date"),
]


@dataclass(frozen=True)
class TaskFilters:
    """What a task list is narrowed to; empty values filter nothing."""

    state: tuple[str, ...] = ()
    assignee: int | None = None
    unassigned: bool = False
    priority: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    patient: int | None = None
    due: str = ""
    open_only: bool = False


def tasks_with_overdue(*, today: date) -> QuerySet[Task]:
    """Tasks with `is_overdue` (open, and due before today) and their people loaded."""
    return Task.objects.select_related("patient", "assignee__user").annotate(
        is_overdue=Case(
            When(Q(state__in=Task.OPEN_STATES, due_date__lt=today), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def task_list(*, filters: TaskFilters, today: date) -> QuerySet[Task]:
    """Tasks matching `filters`: the soonest due first, then the newest."""
    qs = tasks_with_overdue(today=today)
    if filters.state:
        qs = qs.filter(state__in=filters.state)
    elif filters.open_only:
        qs = qs.filter(state__in=Task.OPEN_STATES)
    if filters.unassigned:
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee is not None:
        qs = qs.filter(assignee_id=filters.assignee)
    if filters.priority:
        qs = qs.filter(priority__in=filters.priority)
    if filters.kind:
        qs = qs.filter(kind__in=filters.kind)
    if filters.patient is not None:
        qs = qs.filter(patient_id=filters.patient)
    if filters.due == "overdue":
        qs = qs.filter(state__in=Task.OPEN_STATES, due_date__lt=today)
    elif filters.due == "today":
        qs = qs.filter(due_date=today)
    elif filters.due == "week":
        qs = qs.filter(due_date__gte=today, due_date__lte=today + timedelta(days=7))
    elif filters.due == "none":
        qs = qs.filter(due_date__isnull=True)
    return qs.order_by(F("due_date").asc(nulls_last=True), "-created_at", "-id")


def task_detail(*, pk: int, today: date) -> Task | None:
    """One task with its history in order, or None (missing and elsewhere alike)."""
    events = TaskEvent.objects.select_related("assignee__user").order_by("at", "id")
    return (
        tasks_with_overdue(today=today)
        .prefetch_related(Prefetch("events", queryset=events))
        .filter(pk=pk)
        .first()
    )


def clinic_members() -> QuerySet[Membership]:
    """The clinic's active members, to assign tasks to (in name order)."""
    return (
        Membership.objects.filter(
            clinic_id=connection.tenant.pk, is_active=True, user__is_active=True
        )
        .select_related("user")
        .order_by("user__full_name", "user__email", "id")
    )


def member_label(membership: Membership | None) -> str:
    if membership is None:
        return ""
    user = membership.user
    return user.full_name or user.email
