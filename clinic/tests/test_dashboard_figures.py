"""The dashboard: today's visits by status, 30-day rates, tasks, unread conversations,
on the home page and over the API; each clinic sees its own figures only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from calls.models import Conversation
from clinic.clock import clinic_today, local_day_bounds
from clinic.models import Document
from clinic.selectors import dashboard as dashboard_selectors
from clinic.selectors.dashboard import dashboard_figures
from clinic.services.tasks import task_create, task_move
from clinic.tests.api_support import client_for
from clinic.tests.records_support import (  # noqa: F401
    api_of,
    page_client,
    pages_of,
    team_fixture,
    visit,
)


@pytest.fixture(autouse=True)
def _fresh_window(in_clinic):
    """The 30-day window is cached per clinic and day (Redis, outside the test's
    transaction): each test starts without it, and leaves none behind."""
    dashboard_selectors.dashboard_cache_clear(today=clinic_today())
    yield
    connection.set_tenant(in_clinic)
    dashboard_selectors.dashboard_cache_clear(today=clinic_today())


def _at(day_offset: int, hour: float):
    day = clinic_today() + timedelta(days=day_offset)
    return local_day_bounds(day)[0] + timedelta(hours=hour)


@pytest.fixture
def busy(team):
    # Today: 2 scheduled, 1 confirmed, 1 checked in, 1 cancelled.
    for i, status in enumerate(
        ["scheduled", "scheduled", "confirmed", "checked_in", "cancelled"]
    ):
        visit(team, start=_at(0, 9 + i), status=status)
    # The last 30 days: 6 visits kept or missed (4 confirmed first), 2 no-shows,
    # 1 cancelled (left out), and one 31 days ago (outside the window).
    past = [
        ("completed", True),
        ("completed", True),
        ("completed", True),
        ("completed", False),
        ("no_show", True),
        ("no_show", False),
        ("cancelled", True),
    ]
    for i, (status, confirmed) in enumerate(past):
        visit(team, start=_at(-(i + 1), 10), status=status, confirmed=confirmed)
    visit(team, start=_at(-31, 10), status="no_show")
    today = clinic_today()
    task_create(
        actor=team.desk,
        title="Late",
        assignee=team.desk,
        due_date=today - timedelta(days=1),
    )
    task_create(actor=team.desk, title="Later", due_date=today + timedelta(days=3))
    done = task_create(
        actor=team.desk, title="Done", due_date=today - timedelta(days=9)
    )
    task_move(actor=team.desk, task=done, to="done")
    Conversation.objects.create(number="+14155550111", unread_count=3)
    Conversation.objects.create(number="+14155550112", unread_count=0)
    return team


def test_the_figures(busy):
    board = dashboard_figures(today=clinic_today(), member_id=busy.desk.pk)
    assert board.today_by_status == {
        "scheduled": 2,
        "confirmed": 1,
        "checked_in": 1,
        "completed": 0,
        "cancelled": 1,
        "no_show": 0,
    }
    assert board.totals == {
        "visits": 6,
        "confirmed": 4,
        "no_shows": 2,
        "with_outcome": 6,
    }
    assert board.confirmation_rate == pytest.approx(4 / 6)
    assert board.no_show_rate == pytest.approx(2 / 6)
    assert len(board.days) == 30 and board.days[-1].day == clinic_today() - timedelta(
        days=1
    )
    assert (board.open_tasks, board.overdue_tasks) == (2, 1)
    assert (board.my_open_tasks, board.my_overdue_tasks) == (1, 1)
    assert board.unread_conversations == 1
    assert board.documents_awaiting_review == 0  # no kinds asked for


def test_the_window_is_served_from_the_cache_until_cleared(busy):
    today = clinic_today()
    first = dashboard_figures(today=today, member_id=busy.desk.pk)
    visit(busy, start=_at(-2, 15), status="no_show")
    cached = dashboard_figures(today=today, member_id=busy.desk.pk)
    assert cached.totals == first.totals  # history, cached for a few minutes
    dashboard_selectors.dashboard_cache_clear(today=today)
    fresh = dashboard_figures(today=today, member_id=busy.desk.pk)
    assert fresh.totals["no_shows"] == first.totals["no_shows"] + 1


def test_an_empty_clinic_has_no_rates_rather_than_zero(team):
    board = dashboard_figures(today=clinic_today(), member_id=team.desk.pk)
    assert board.confirmation_rate is None and board.no_show_rate is None
    assert board.today_total == 0


def test_the_home_page_shows_tiles_and_charts(busy):
    html = pages_of(busy.desk).get("/").content.decode()
    assert 'id="tile-today"><span class="num">5</span>' in html
    assert 'id="tile-confirmation"><span class="num">67%</span>' in html
    assert 'id="tile-no-show"><span class="num">33%</span>' in html
    assert 'id="tile-overdue-tasks"><span class="num">1</span>' in html
    assert 'id="tile-unread"><span class="num">1</span>' in html
    assert 'id="tile-documents"><span class="num">0</span>' in html
    assert '<svg viewBox="0 0 640 240" role="img"' in html and 'id="chart-days"' in html


def _awaiting(team, kind: str, status: str = "needs_review") -> Document:
    n = next(_names)
    return Document.objects.create(
        patient=team.patient,
        kind=kind,
        file_name=f"{team.clinic.schema_name}/documents/test-{n}.png",
        original_name="scan.png",
        content_type="image/png",
        size=10,
        sha256="0" * 64,
        status=status,
        uploaded_by_label="test",
    )


_names = iter(range(10_000))


def test_documents_awaiting_review_count_only_the_kinds_the_member_may_see(busy):
    _awaiting(busy, "insurance_card")
    _awaiting(busy, "lab_result")
    _awaiting(busy, "lab_result", status="processed")
    desk_page = pages_of(busy.desk).get("/").content.decode()
    doc_page = pages_of(busy.doc).get("/").content.decode()
    assert 'id="tile-documents"><span class="num">1</span>' in desk_page
    assert 'id="tile-documents"><span class="num">2</span>' in doc_page
    body = api_of(busy.billing).get("/api/v1/dashboard/").json()
    assert (
        body["documents_awaiting_review"] == 1
    )  # the card; lab results are not theirs


def test_the_api_returns_the_same_figures(busy):
    body = api_of(busy.desk).get("/api/v1/dashboard/").json()
    assert body["today_total"] == 5 and body["today_by_status"]["scheduled"] == 2
    assert body["confirmation_rate"] == 0.6667 and body["no_show_rate"] == 0.3333
    assert body["tasks"] == {"open": 2, "overdue": 1, "mine_open": 1, "mine_overdue": 1}
    assert body["unread_conversations"] == 1 and body["documents_awaiting_review"] == 0
    assert len(body["last_days"]) == 30
    assert sum(d["no_shows"] for d in body["last_days"]) == 2


def test_another_clinic_sees_its_own_figures_and_no_door_into_alphas(
    busy, other_staff_user, other_clinic
):
    own = client_for(other_staff_user, other_clinic).get("/api/v1/dashboard/").json()
    assert own["today_total"] == 0 and own["tasks"]["open"] == 0
    assert own["unread_conversations"] == 0
    token = client_for(other_staff_user, other_clinic)
    token.defaults["HTTP_HOST"] = "alpha.localhost"
    assert token.get("/api/v1/dashboard/").status_code in (401, 403)
    assert page_client(other_staff_user, busy.clinic).get("/").status_code in (302, 403)
