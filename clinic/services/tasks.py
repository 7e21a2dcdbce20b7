"""Writes of tasks: made by staff or opened by the portal, assigned, moved, commented on.

Every member of the clinic may work tasks (front desk, clinicians, billing and
admins alike); who may see a task's patient is the patient record's own rule.
Every change writes a TaskEvent, so a task's history says who did what and when.
"""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from calls.actors import Actor, SystemActor, acting_as, actor_label, actor_user
from clinic.models import NotificationKind, Patient, Task, TaskEvent
from clinic.services.notifications import notification_send
from portal.models import Membership

# Which state a task may move to from each state.
TASK_MOVES: dict[str, tuple[str, ...]] = {
    Task.State.OPEN: (Task.State.IN_PROGRESS, Task.State.DONE, Task.State.CANCELLED),
    Task.State.IN_PROGRESS: (Task.State.OPEN, Task.State.DONE, Task.State.CANCELLED),
    Task.State.DONE: (Task.State.OPEN,),
    Task.State.CANCELLED: (Task.State.OPEN,),
}


def task_allowed_moves(task: Task) -> tuple[str, ...]:
    """The states this task may move to next."""
    return TASK_MOVES[task.state]


def _check_assignee(assignee: Membership | None) -> None:
    if assignee is None:
        return
    clinic = connection.tenant
    if (
        assignee.clinic_id != clinic.pk
        or not assignee.is_active
        or not assignee.user.is_active
    ):
        raise ValidationError({"assignee": ["Choose an active member of this clinic."]})


def _event(*, task: Task, actor: Actor, kind: str, at: datetime, **fields) -> TaskEvent:
    return TaskEvent.objects.create(
        task=task,
        kind=kind,
        by=actor_user(actor),
        by_label=actor_label(actor)[:120],
        at=at,
        **fields,
    )


@transaction.atomic
def task_create(
    *,
    actor: Actor,
    title: str,
    description: str = "",
    patient: Patient | None = None,
    assignee: Membership | None = None,
    priority: str = Task.Priority.NORMAL,
    due_date: date | None = None,
    kind: str = Task.Kind.MANUAL,
    source_key: str = "",
    now: datetime | None = None,
) -> Task:
    """Open a task. A system task about a subject that already has an open one returns it."""
    now = now or timezone.now()
    if kind != Task.Kind.MANUAL and not isinstance(actor, SystemActor):
        raise ValidationError({"kind": ["Only the portal opens this kind of task."]})
    _check_assignee(assignee)
    task = Task(
        title=title.strip(),
        description=description.strip(),
        patient=patient,
        assignee=assignee,
        priority=priority,
        due_date=due_date,
        kind=kind,
        source_key=source_key,
        created_by=actor_user(actor),
        created_by_label=actor_label(actor)[:120],
    )
    task.full_clean(validate_constraints=False)
    if source_key:
        existing = Task.objects.filter(
            kind=kind, source_key=source_key, state__in=Task.OPEN_STATES
        ).first()
        if existing is not None:
            return existing
    with acting_as(actor):
        try:
            with transaction.atomic():
                task.save()
        except IntegrityError:
            # Another worker opened the same subject's task a moment ago.
            return Task.objects.get(
                kind=kind, source_key=source_key, state__in=Task.OPEN_STATES
            )
        _event(
            task=task,
            actor=actor,
            kind=TaskEvent.Kind.CREATED,
            to_state=task.state,
            assignee=assignee,
            at=now,
        )
    transaction.on_commit(lambda: _notify_assigned(task, actor))
    return task


def _locked(task: Task) -> Task:
    return Task.objects.select_for_update().get(pk=task.pk)


EDITABLE = ("title", "description", "patient", "priority", "due_date")


@transaction.atomic
def task_update(*, actor: Actor, task: Task, **changes) -> Task:
    """Change a task's title, description, patient, priority or due date."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(
            {name: ["This field cannot be changed."] for name in unknown}
        )
    row = _locked(task)
    changed = [name for name, value in changes.items() if getattr(row, name) != value]
    if not changed:
        return row
    for name in changed:
        value = changes[name]
        setattr(row, name, value.strip() if isinstance(value, str) else value)
    row.full_clean(validate_constraints=False)
    with acting_as(actor):
        row.save(update_fields=[*changed, "updated_at"])
        _event(
            task=row,
            actor=actor,
            kind=TaskEvent.Kind.EDITED,
            note=", ".join(Task._meta.get_field(n).verbose_name for n in changed),
            at=timezone.now(),
        )
    return row


@transaction.atomic
def task_assign(*, actor: Actor, task: Task, assignee: Membership | None) -> Task:
    """Give the task to a member of the clinic (or to nobody)."""
    _check_assignee(assignee)
    row = _locked(task)
    if row.assignee_id == (assignee.pk if assignee else None):
        return row
    row.assignee = assignee
    with acting_as(actor):
        row.save(update_fields=["assignee", "updated_at"])
        _event(
            task=row,
            actor=actor,
            kind=TaskEvent.Kind.ASSIGNED,
            assignee=assignee,
            at=timezone.now(),
        )
    transaction.on_commit(lambda: _notify_assigned(row, actor))
    return row


@transaction.atomic
def task_move(
    *, actor: Actor, task: Task, to: str, note: str = "", now: datetime | None = None
) -> Task:
    """Move the task to another state (start, finish, cancel, reopen)."""
    now = now or timezone.now()
    row = _locked(task)
    if to not in Task.State.values:
        raise ValidationError({"state": [f"Unknown state {to!r}."]})
    if to not in TASK_MOVES[row.state]:
        raise ValidationError(
            {
                "state": [
                    f"A task that is {row.get_state_display().lower()} cannot become"
                    f" {Task.State(to).label.lower()}."
                ]
            }
        )
    before = row.state
    row.state = to
    row.closed_at = None if to in Task.OPEN_STATES else now
    with acting_as(actor):
        row.save(update_fields=["state", "closed_at", "updated_at"])
        _event(
            task=row,
            actor=actor,
            kind=TaskEvent.Kind.MOVED,
            from_state=before,
            to_state=to,
            note=note.strip(),
            at=now,
        )
    return row


@transaction.atomic
def task_comment(*, actor: Actor, task: Task, note: str) -> TaskEvent:
    """Add a comment to the task's history."""
    note = note.strip()
    if not note:
        raise ValidationError({"note": ["Write a comment."]})
    if len(note) > 2000:
        raise ValidationError({"note": ["Keep a comment under 2,000 characters."]})
    with acting_as(actor):
        return _event(
            task=task,
            actor=actor,
            kind=TaskEvent.Kind.COMMENT,
            note=note,
            at=timezone.now(),
        )


def _notify_assigned(task: Task, actor: Actor) -> None:
    """Tell the assignee, unless they gave the task to themselves (runs after commit)."""
    if task.assignee_id is None:
        return
    if isinstance(actor, Membership) and actor.pk == task.assignee_id:
        return
    # The title names the task by number: a task's own title may name a patient.
    notification_send(
        membership_ids=[task.assignee_id],
        kind=NotificationKind.TASK_ASSIGNED,
        title=f"Task #{task.pk} was assigned to you",
        url=reverse("task-detail", args=[task.pk]),
    )


def task_open_for_reply(*, message, reason: str = "") -> Task:
    """An ambiguous patient text: a task to read it (one per message)."""
    return task_create(
        actor=SystemActor("patient reply", f"message {message.sid}"),
        title="Read a patient's text the portal could not act on",
        description=reason,
        patient=message.patient,
        kind=Task.Kind.SMS_REPLY,
        source_key=f"message:{message.sid}",
    )


def task_open_for_denied_claim(*, claim, note: str = "") -> Task:
    """A denied claim: a follow-up task beside billing's own FollowUp."""
    return task_create(
        actor=SystemActor("claim denied", f"claim {claim.pk}"),
        title=f"Follow up denied claim #{claim.pk}",
        description=note.strip()[:5000],
        patient=claim.patient,
        priority=Task.Priority.HIGH,
        kind=Task.Kind.CLAIM_FOLLOW_UP,
        source_key=f"claim:{claim.pk}",
    )
