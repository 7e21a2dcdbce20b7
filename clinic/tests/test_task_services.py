"""Task services: states move only along allowed paths, each change has its event."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from calls.actors import SystemActor
from clinic.models import Task, TaskEvent
from clinic.services.tasks import (
    task_assign,
    task_comment,
    task_create,
    task_move,
    task_update,
)
from clinic.tests.factories import PatientFactory
from portal.models import Membership

REVIEWER = SystemActor("document extraction")


@pytest.fixture
def desk(in_clinic, staff_user) -> Membership:
    return Membership.objects.get(user=staff_user, clinic=in_clinic)


@pytest.fixture
def beta_member(other_staff_user, other_clinic) -> Membership:
    return Membership.objects.get(user=other_staff_user, clinic=other_clinic)


def test_a_task_is_created_with_its_first_event(desk):
    patient = PatientFactory()
    task = task_create(
        actor=desk, title="  Call back about results ", patient=patient, assignee=desk
    )
    assert task.title == "Call back about results"
    assert task.state == "open" and task.closed_at is None
    (event,) = task.events.all()
    assert (event.kind, event.to_state, event.assignee_id) == (
        "created",
        "open",
        desk.pk,
    )
    assert event.by_id == desk.user_id


def test_states_move_only_along_the_allowed_paths(desk):
    task = task_create(actor=desk, title="Fax referral")
    task = task_move(actor=desk, task=task, to="done")
    assert task.closed_at is not None
    with pytest.raises(ValidationError) as refused:
        task_move(actor=desk, task=task, to="in_progress")
    assert "cannot become in progress" in str(refused.value.message_dict["state"])
    task = task_move(actor=desk, task=task, to="open", note="Not sent after all")
    assert task.closed_at is None
    moves = list(task.events.filter(kind="moved").values_list("from_state", "to_state"))
    assert moves == [("open", "done"), ("done", "open")]


def test_an_unknown_state_is_refused_and_nothing_changes(desk):
    task = task_create(actor=desk, title="Scan card")
    with pytest.raises(ValidationError):
        task_move(actor=desk, task=task, to="archived")
    assert Task.objects.get(pk=task.pk).state == "open"
    assert TaskEvent.objects.filter(task=task).count() == 1


def test_a_member_of_another_clinic_cannot_be_assigned(desk, beta_member):
    with pytest.raises(ValidationError) as refused:
        task_create(actor=desk, title="Follow up", assignee=beta_member)
    assert "assignee" in refused.value.message_dict
    assert not Task.objects.exists()
    task = task_create(actor=desk, title="Follow up")
    with pytest.raises(ValidationError):
        task_assign(actor=desk, task=task, assignee=beta_member)
    assert Task.objects.get(pk=task.pk).assignee_id is None


def test_staff_cannot_open_system_kinds_of_task(desk):
    with pytest.raises(ValidationError) as refused:
        task_create(
            actor=desk, title="Review", kind="document_review", source_key="document:1"
        )
    assert "kind" in refused.value.message_dict


def test_the_portal_opens_one_task_per_subject_while_it_is_open(in_clinic):
    first = task_create(
        actor=REVIEWER,
        title="Review scan",
        kind="document_review",
        source_key="document:7",
    )
    again = task_create(
        actor=REVIEWER,
        title="Review scan",
        kind="document_review",
        source_key="document:7",
    )
    assert again.pk == first.pk
    task_move(actor=REVIEWER, task=first, to="done")
    later = task_create(
        actor=REVIEWER,
        title="Review scan",
        kind="document_review",
        source_key="document:7",
    )
    assert later.pk != first.pk
    assert first.events.get(kind="created").by_label == "System: document extraction"


def test_edits_and_comments_are_recorded(desk):
    task = task_create(actor=desk, title="Old title")
    task_update(actor=desk, task=task, title="New title", priority="high")
    with pytest.raises(ValidationError):
        task_update(actor=desk, task=task, state="done")
    with pytest.raises(ValidationError):
        task_comment(actor=desk, task=task, note="   ")
    task_comment(actor=desk, task=task, note="Left a voicemail")
    kinds = list(task.events.values_list("kind", flat=True))
    assert kinds == ["created", "edited", "comment"]
    assert Task.objects.get(pk=task.pk).priority == "high"


def test_a_bad_priority_is_a_field_error(desk):
    with pytest.raises(ValidationError) as refused:
        task_create(actor=desk, title="X", priority="whenever")
    assert "priority" in refused.value.message_dict
