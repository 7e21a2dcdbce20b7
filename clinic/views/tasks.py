"""Task pages: my tasks, the clinic's tasks with filters, one task, the create form."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from clinic.audit import ShownPatient, audit_record_access, audit_record_search
from clinic.clock import clinic_today
from clinic.forms.records import (
    TaskAssignForm,
    TaskCommentForm,
    TaskCreateForm,
    TaskFilterForm,
    TaskMoveForm,
)
from clinic.models import Task
from clinic.selectors.tasks import TaskFilters, task_detail, task_list
from clinic.services.tasks import (
    task_allowed_moves,
    task_assign,
    task_comment,
    task_create,
    task_move,
)
from clinic.views.booking import picked_patient
from clinic.views.helpers import clinic_time
from portal.decorators import staff_required
from portal.pagination import LookaheadPaginator

PER_PAGE = 50


def _filters(form: TaskFilterForm, *, mine_of: int | None) -> TaskFilters:
    data = form.cleaned_data if form.is_valid() else {}
    assignee = data.get("assignee") or ""
    patient = data.get("patient")
    return TaskFilters(
        state=tuple(data.get("state") or ()),
        # Lists show the open tasks unless a state is asked for.
        open_only=True,
        assignee=mine_of
        if mine_of is not None
        else (int(assignee) if assignee.isdigit() else None),
        unassigned=assignee == "none",
        priority=tuple(data.get("priority") or ()),
        kind=(data["kind"],) if data.get("kind") else (),
        patient=patient.pk if patient else None,
        due=data.get("due") or "",
    )


def _list_page(request: HttpRequest, *, mine: bool) -> HttpResponse:
    form = TaskFilterForm(request.GET or None, mine=mine)
    member = request.membership
    filters = (
        _filters(form, mine_of=member.pk if mine else None)
        if form.is_bound
        else (TaskFilters(open_only=True, assignee=member.pk if mine else None))
    )
    page = LookaheadPaginator(
        task_list(filters=filters, today=clinic_today()), PER_PAGE
    ).page(request.GET.get("page") or 1)
    shown = sorted({t.patient_id for t in page.object_list if t.patient_id})
    if shown:
        audit_record_search(
            patients=[ShownPatient(pk) for pk in shown],
            query="",
            via="page",
            filters={k: request.GET.getlist(k) for k in request.GET if k != "page"},
            what="My tasks" if mine else "Tasks",
        )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "tasks": page.object_list,
        "mine": mine,
        "query": query.urlencode(),
        "filtered_patient": filters.patient and form.cleaned_data.get("patient"),
    }
    return render(request, "clinic/task_list.html", context)


@never_cache
@staff_required
@clinic_time
def task_list_page(request: HttpRequest) -> HttpResponse:
    """Every task of the clinic (open ones unless filtered otherwise)."""
    return _list_page(request, mine=False)


@never_cache
@staff_required
@clinic_time
def task_mine(request: HttpRequest) -> HttpResponse:
    """The signed-in member's open tasks, the soonest due first."""
    return _list_page(request, mine=True)


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
@clinic_time
def task_new(request: HttpRequest) -> HttpResponse:
    """The create form; POST opens the task."""
    if request.method == "POST":
        form = TaskCreateForm(request.POST)
        if form.is_valid():
            try:
                task = task_create(actor=request.membership, **form.cleaned_data)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Task created.")
                return redirect("task-detail", pk=task.pk)
        status = 400
    else:
        form = TaskCreateForm(initial={"patient": request.GET.get("patient")})
        status = 200
    picked = picked_patient(form)
    return render(
        request,
        "clinic/task_form.html",
        {"form": form, "picked": picked},
        status=status,
    )


def _task_or_404(pk: int) -> Task:
    task = task_detail(pk=pk, today=clinic_today())
    if task is None:
        raise Http404("No such task.")
    return task


def _detail(request: HttpRequest, task: Task, status: int = 200, **forms: Any):
    if task.patient_id:
        audit_record_access(patient=task.patient, via="task page")
    context = {
        "task": task,
        "moves": [(s, Task.State(s).label) for s in task_allowed_moves(task)],
        "assign_form": forms.get("assign_form")
        or TaskAssignForm(initial={"assignee": task.assignee_id}),
        "comment_form": forms.get("comment_form") or TaskCommentForm(),
        "move_error": forms.get("move_error", ""),
    }
    return render(request, "clinic/task_detail.html", context, status=status)


@never_cache
@staff_required
@clinic_time
def task_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One task: what, who, when due, its history, and what can be done next."""
    return _detail(request, _task_or_404(pk))


@require_POST
@staff_required
@clinic_time
def task_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """POST move, assign or comment; errors re-render the task with them."""
    task = _task_or_404(pk)
    actor = request.membership
    if action == "move":
        form = TaskMoveForm(request.POST)
        if not form.is_valid():
            return _detail(request, task, 400, move_error="Choose a state.")
        try:
            task_move(actor=actor, task=task, **form.cleaned_data)
        except ValidationError as exc:
            return _detail(request, task, 400, move_error=" ".join(exc.messages))
        messages.success(
            request, f"Task is now {Task.State(form.cleaned_data['to']).label.lower()}."
        )
    elif action == "assign":
        form = TaskAssignForm(request.POST)
        if not form.is_valid():
            return _detail(request, task, 400, assign_form=form)
        try:
            task_assign(actor=actor, task=task, assignee=form.cleaned_data["assignee"])
        except ValidationError as exc:
            form.add_service_errors(exc)
            return _detail(request, task, 400, assign_form=form)
        messages.success(request, "Assignee saved.")
    elif action == "comment":
        form = TaskCommentForm(request.POST)
        if not form.is_valid():
            return _detail(request, task, 400, comment_form=form)
        try:
            task_comment(actor=actor, task=task, note=form.cleaned_data["note"])
        except ValidationError as exc:
            form.add_service_errors(exc)
            return _detail(request, task, 400, comment_form=form)
        messages.success(request, "Comment added.")
    else:
        raise Http404("No such action.")
    return redirect("task-detail", pk=pk)
