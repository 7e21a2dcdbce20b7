"""Notifications reach only their member: services, API, pages; preferences mute kinds."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from clinic.models import Notification
from clinic.services.notifications import (
    notification_mark_all_read,
    notification_preferences_set,
    notification_send,
)
from clinic.tests.api_support import client_for
from clinic.tests.records_support import (  # noqa: F401
    api_of,
    page_client,
    pages_of,
    team_fixture,
)
from portal.models import Membership


def _send(members, title="A patient's text arrived", kind="patient_text"):
    return notification_send(
        membership_ids=[m.pk for m in members], kind=kind, title=title, url="/messages/"
    )


def test_a_member_who_muted_a_kind_does_not_receive_it(team):
    notification_preferences_set(member=team.desk, receive=["task_assigned"])
    rows = _send([team.desk, team.admin])
    assert [n.member_id for n in rows] == [team.admin.pk]
    notification_preferences_set(
        member=team.desk, receive=["patient_text", "task_assigned"]
    )
    assert [n.member_id for n in _send([team.desk])] == [team.desk.pk]


def test_members_of_another_clinic_are_never_written(
    team, other_clinic, other_staff_user
):
    outsider = Membership.objects.get(user=other_staff_user, clinic=other_clinic)
    assert _send([outsider]) == []
    assert not Notification.objects.filter(member_id=outsider.pk).exists()


def test_a_link_off_the_clinic_and_an_unknown_kind_are_refused(team):
    with pytest.raises(ValidationError):
        notification_send(
            membership_ids=[team.desk.pk],
            kind="task_assigned",
            title="x",
            url="//evil.test/",
        )
    with pytest.raises(ValidationError):
        notification_send(membership_ids=[team.desk.pk], kind="gossip", title="x")
    with pytest.raises(ValidationError):
        notification_preferences_set(member=team.desk, receive=["gossip"])


def test_the_api_lists_only_the_tokens_member_and_marks_read(team):
    _send([team.desk, team.admin])
    _send([team.desk], title="Task #1 was assigned to you", kind="task_assigned")
    api = api_of(team.desk)
    body = api.get("/api/v1/notifications/").json()
    assert body["unread_count"] == 2 and len(body["results"]) == 2
    assert {n["kind"] for n in body["results"]} == {"patient_text", "task_assigned"}
    only = api.get("/api/v1/notifications/", {"kind": "task_assigned"}).json()
    assert [n["kind"] for n in only["results"]] == ["task_assigned"]
    first = body["results"][0]["id"]
    read = api.post(f"/api/v1/notifications/{first}/read/").json()
    assert read["is_read"] and read["read_at"]
    assert (
        api.get("/api/v1/notifications/", {"unread": "true"}).json()["unread_count"]
        == 1
    )
    assert api.post("/api/v1/notifications/read-all/").json()["marked_read"] == 1
    connection.set_tenant(team.clinic)
    # The admin's copy is untouched by the desk's reads.
    assert (
        Notification.objects.filter(
            member_id=team.admin.pk, read_at__isnull=True
        ).count()
        == 1
    )


def test_another_members_notification_is_not_found(team):
    (admins,) = _send([team.admin])
    api = api_of(team.desk)
    assert api.post(f"/api/v1/notifications/{admins.pk}/read/").status_code == 404
    assert (
        pages_of(team.desk).post(f"/notifications/{admins.pk}/read/").status_code == 404
    )
    connection.set_tenant(team.clinic)
    assert Notification.objects.get(pk=admins.pk).read_at is None


def test_preferences_through_the_api_and_the_page(team):
    api = api_of(team.desk)
    assert len(api.get("/api/v1/notifications/preferences/").json()["receive"]) == 5
    put = api.put(
        "/api/v1/notifications/preferences/",
        {"receive": ["claim_denied"]},
        format="json",
    )
    assert put.json() == {"receive": ["claim_denied"]}
    bad = api.put(
        "/api/v1/notifications/preferences/", {"receive": ["x"]}, format="json"
    )
    assert bad.status_code == 400 and "receive" in bad.json()
    client = pages_of(team.desk)
    assert (
        client.post(
            "/notifications/preferences/",
            {"receive": ["task_assigned", "patient_text"]},
        ).status_code
        == 302
    )
    connection.set_tenant(team.clinic)
    assert [n.member_id for n in _send([team.desk])] == [team.desk.pk]


def test_the_navigation_shows_the_members_own_unread_count(team):
    _send([team.desk])
    _send([team.desk])
    _send([team.admin])
    html = pages_of(team.desk).get("/").content.decode()
    assert 'id="nav-notif"' in html and 'aria-label="2 unread notifications"' in html
    assert 'font-size:.75em">2</span>' in html
    assert f'data-member="{team.desk.pk}"' in html and "js/notifications.js" in html
    badge = pages_of(team.admin).get("/notifications/badge/").content.decode()
    assert ">1</span>" in badge


def test_the_page_lists_marks_read_and_opens_the_link(team):
    (mine,) = _send([team.desk])
    client = pages_of(team.desk)
    html = client.get("/notifications/").content.decode()
    assert "A patient&#x27;s text arrived" in html and "notif-unread" in html
    opened = client.post(f"/notifications/{mine.pk}/read/", {"go": "1"})
    assert opened.status_code == 302 and opened.url == "/messages/"
    _send([team.desk])
    assert client.post("/notifications/read-all/").status_code == 302
    assert "notif-unread" not in client.get("/notifications/").content.decode()


def test_another_clinics_user_and_token_get_nothing(
    team, other_staff_user, other_clinic
):
    (mine,) = _send([team.desk])
    stranger = page_client(other_staff_user, team.clinic)
    for url in (
        "/notifications/",
        "/notifications/badge/",
        "/notifications/preferences/",
    ):
        assert stranger.get(url).status_code in (302, 403)
    assert stranger.post(f"/notifications/{mine.pk}/read/").status_code in (302, 403)
    token = client_for(other_staff_user, other_clinic)
    token.defaults["HTTP_HOST"] = "alpha.localhost"
    assert token.get("/api/v1/notifications/").status_code in (401, 403)
    own = client_for(other_staff_user, other_clinic)
    assert own.post(f"/api/v1/notifications/{mine.pk}/read/").status_code == 404
    assert own.get("/api/v1/notifications/").json()["results"] == []
    connection.set_tenant(team.clinic)
    assert notification_mark_all_read(member=team.admin) == 0
    assert Notification.objects.get(pk=mine.pk).read_at is None
