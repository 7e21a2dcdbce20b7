"""Task pages and API: lists with filters, overdue ones marked, moves, assign, comment,
and another clinic's user or token gets nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from clinic.clock import clinic_today
from clinic.models import AuditEntry, Task
from clinic.services.tasks import task_create, task_move
from clinic.tests.api_support import client_for
from clinic.tests.records_support import (  # noqa: F401
    api_of,
    page_client,
    pages_of,
    team_fixture,
)


@pytest.fixture
def tasks(team):
    today = clinic_today()
    late = task_create(
        actor=team.desk,
        title="Call back about lab results",
        patient=team.patient,
        assignee=team.doc,
        priority="high",
        due_date=today - timedelta(days=2),
    )
    mine = task_create(
        actor=team.admin, title="Fax the referral", assignee=team.desk, due_date=today
    )
    later = task_create(actor=team.desk, title="Order gloves", priority="low")
    done = task_create(actor=team.desk, title="Scan card", assignee=team.desk)
    task_move(actor=team.desk, task=done, to="done")
    return {"late": late, "mine": mine, "later": later, "done": done}


def _ids(body: dict) -> set[int]:
    return {t["id"] for t in body["results"]}


def test_the_clinic_list_shows_open_tasks_and_marks_overdue_ones(team, tasks):
    response = pages_of(team.desk).get("/tasks/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Call back about lab results" in html and "Order gloves" in html
    assert "Scan card" not in html  # done: only open ones unless asked
    assert html.count("badge badge-overdue") == 1
    assert f'class="task-overdue" data-task="{tasks["late"].pk}"' in html
    connection.set_tenant(team.clinic)
    entry = AuditEntry.objects.filter(object_repr__startswith="Tasks").latest("id")
    assert entry.patient_ids == [team.patient.pk]


def test_my_tasks_are_the_members_open_ones(team, tasks):
    html = pages_of(team.desk).get("/tasks/mine/").content.decode()
    assert "Fax the referral" in html
    assert "Call back about lab results" not in html and "Scan card" not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "done"}, {"done"}),
        ({"priority": "high"}, {"late"}),
        ({"due": "overdue"}, {"late"}),
        ({"due": "today"}, {"mine"}),
        ({"due": "none"}, {"later"}),
        ({"assignee": "none"}, {"later"}),
    ],
)
def test_the_page_filters(team, tasks, query, expected):
    html = pages_of(team.desk).get("/tasks/", query).content.decode()
    shown = {name for name, t in tasks.items() if f'data-task="{t.pk}"' in html}
    assert shown == expected


def test_the_page_filters_by_assignee_and_patient(team, tasks):
    client = pages_of(team.desk)
    html = client.get("/tasks/", {"assignee": str(team.doc.pk)}).content.decode()
    assert f'data-task="{tasks["late"].pk}"' in html and "Fax the referral" not in html
    html = client.get("/tasks/", {"patient": str(team.patient.pk)}).content.decode()
    assert f'data-task="{tasks["late"].pk}"' in html and "Order gloves" not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": ["open", "done"]}, {"late", "mine", "later", "done"}),
        ({"overdue": "true"}, {"late"}),
        ({"mine": "true"}, {"mine", "done"}),
        ({"kind": "manual", "priority": "low"}, {"later"}),
        ({"due_before": "2000-01-01"}, set()),
    ],
)
def test_the_api_filters(team, tasks, query, expected):
    body = api_of(team.desk).get("/api/v1/tasks/", query).json()
    assert _ids(body) == {tasks[name].pk for name in expected}


def test_the_api_refuses_a_bad_filter_with_a_field_error(team, tasks):
    response = api_of(team.desk).get("/api/v1/tasks/", {"state": "sleeping"})
    assert response.status_code == 400 and "state" in response.json()


def test_the_api_creates_moves_assigns_and_comments(team):
    api = api_of(team.desk)
    created = api.post(
        "/api/v1/tasks/",
        {
            "title": "Check insurance",
            "patient": team.patient.pk,
            "assignee": team.doc.pk,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    task = created.json()
    assert task["allowed_moves"] == ["in_progress", "done", "cancelled"]
    pk = task["id"]
    moved = api.post(f"/api/v1/tasks/{pk}/move/", {"to": "done"}, format="json").json()
    assert moved["state"] == "done" and moved["allowed_moves"] == ["open"]
    refused = api.post(
        f"/api/v1/tasks/{pk}/move/", {"to": "in_progress"}, format="json"
    )
    assert refused.status_code == 400 and "state" in refused.json()
    assign = api.post(f"/api/v1/tasks/{pk}/assign/", {"assignee": None}, format="json")
    assert assign.json()["assignee"] is None
    comment = api.post(
        f"/api/v1/tasks/{pk}/comment/", {"note": "Done by phone"}, format="json"
    )
    kinds = [e["kind"] for e in comment.json()["events"]]
    assert kinds == ["created", "moved", "assigned", "comment"]
    patched = api.patch(f"/api/v1/tasks/{pk}/", {"priority": "urgent"}, format="json")
    assert patched.json()["priority"] == "urgent"


def test_the_api_refuses_an_assignee_from_another_clinic_or_a_system_kind(
    team, other_clinic, other_staff_user
):
    from portal.models import Membership

    outsider = Membership.objects.get(user=other_staff_user, clinic=other_clinic)
    api = api_of(team.desk)
    refused = api.post(
        "/api/v1/tasks/", {"title": "x", "assignee": outsider.pk}, format="json"
    )
    assert refused.status_code == 400 and "assignee" in refused.json()
    made = api.post(
        "/api/v1/tasks/", {"title": "x", "kind": "claim_follow_up"}, format="json"
    )
    assert made.json()["kind"] == "manual"  # kind is the portal's to set


def test_pages_create_move_assign_and_comment(team):
    client = pages_of(team.desk)
    refused = client.post("/tasks/new/", {"title": "", "priority": "normal"})
    assert refused.status_code == 400
    made = client.post(
        "/tasks/new/",
        {
            "title": "Recall letter",
            "priority": "normal",
            "assignee": str(team.colleague.pk),
        },
    )
    assert made.status_code == 302
    pk = int(made.url.rstrip("/").rsplit("/", 1)[1])
    assert client.post(f"/tasks/{pk}/move/", {"to": "in_progress"}).status_code == 302
    bad = client.post(f"/tasks/{pk}/move/", {"to": "in_progress"})
    assert bad.status_code == 400 and "cannot become" in bad.content.decode()
    assert (
        client.post(f"/tasks/{pk}/assign/", {"assignee": str(team.doc.pk)}).status_code
        == 302
    )
    assert client.post(f"/tasks/{pk}/comment/", {"note": "Sent"}).status_code == 302
    html = client.get(f"/tasks/{pk}/").content.decode()
    assert "moved it from open to in_progress" in html and "Sent" in html
    assert "Dr. Ann Able" in html
    connection.set_tenant(team.clinic)
    assert Task.objects.get(pk=pk).state == "in_progress"


def test_another_clinics_user_and_token_get_no_task(
    team, tasks, other_staff_user, other_clinic
):
    pk = tasks["late"].pk
    stranger = page_client(other_staff_user, team.clinic)
    for url in ("/tasks/", "/tasks/mine/", f"/tasks/{pk}/", "/tasks/new/"):
        assert stranger.get(url).status_code in (302, 403)
    assert stranger.post(f"/tasks/{pk}/move/", {"to": "done"}).status_code in (302, 403)
    token = client_for(other_staff_user, other_clinic)
    token.defaults["HTTP_HOST"] = "alpha.localhost"
    assert token.get("/api/v1/tasks/").status_code in (401, 403)
    own = client_for(other_staff_user, other_clinic)
    assert own.get(f"/api/v1/tasks/{pk}/").status_code == 404
    assert _ids(own.get("/api/v1/tasks/").json()) == set()
    assert (
        page_client(other_staff_user, other_clinic).get(f"/tasks/{pk}/").status_code
        == 404
    )
    connection.set_tenant(team.clinic)
    assert Task.objects.get(pk=pk).state == "open"
