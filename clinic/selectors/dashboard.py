"""The clinic's dashboard figures: a handful of indexed aggregate queries.

- Today's visits by status: one GROUP BY over today's range of
  clinic_appt_start.
- The last 30 days (before today, on the clinic's calendar), per day: visits
  not cancelled, those confirmed at some point (an appointment event of kind
  "confirmed", so a visit confirmed and then completed still counts), and
  no-shows. Confirmation rate = confirmed / visits not cancelled; no-show
  rate = no-shows / visits with an outcome (checked in, completed or no-show).
- Tasks: open, overdue (open and due before today), and the member's own,
  in one aggregate over the open tasks (clinic_task_state_due_idx).
- Unread conversations: a count over the partial index calls_conv_unread.

The 30 days before today are history: they change only when a past visit is
edited (a no-show marked the next morning). Their figures are the one costly
query (every visit of the month, and whether each was ever confirmed), so they
are cached per clinic and day for `LAST_DAYS_CACHE_SECONDS`; today's figures,
tasks and conversations are read live on every load.
- Documents awaiting review: `documents_awaiting_review()`, of the kinds the
  viewer may see (clinic.permissions).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncDate

from calls.models import Conversation
from clinic.clock import clinic_tz, local_day_bounds
from clinic.models import Appointment, AppointmentEvent, Document, Task

WINDOW_DAYS = 30
LAST_DAYS_CACHE_SECONDS = 300
S = Appointment.Status
OUTCOMES = (S.CHECKED_IN, S.COMPLETED, S.NO_SHOW)


@dataclass
class DayFigures:
    day: date
    visits: int = 0
    confirmed: int = 0
    no_shows: int = 0
    with_outcome: int = 0


@dataclass
class Dashboard:
    today: date
    today_by_status: dict[str, int]
    days: list[DayFigures]
    open_tasks: int
    overdue_tasks: int
    my_open_tasks: int
    my_overdue_tasks: int
    unread_conversations: int | None
    documents_awaiting_review: int | None
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def today_total(self) -> int:
        return sum(self.today_by_status.values())

    @property
    def confirmation_rate(self) -> float | None:
        visits = self.totals.get("visits", 0)
        return self.totals.get("confirmed", 0) / visits if visits else None

    @property
    def no_show_rate(self) -> float | None:
        outcomes = self.totals.get("with_outcome", 0)
        return self.totals.get("no_shows", 0) / outcomes if outcomes else None


def documents_awaiting_review(kinds: Iterable[str]) -> int:
    """Documents of these kinds whose extraction needs a person to confirm it.

    Only the kinds the viewer may see are counted (clinic.permissions).
    """
    return Document.objects.filter(
        status=Document.Status.NEEDS_REVIEW, kind__in=list(kinds)
    ).count()


def _today_by_status(today: date) -> dict[str, int]:
    start, end = local_day_bounds(today)
    counts = dict.fromkeys(S.values, 0)
    rows = (
        Appointment.objects.filter(start__gte=start, start__lt=end)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts.update(dict(rows))
    return counts


def _last_days_key(today: date) -> str:
    # The cache's key function adds the clinic's schema (django_tenants.cache).
    return f"dashboard:last-days:{today.isoformat()}"


def _last_days(today: date) -> list[DayFigures]:
    """The window's daily figures, from the clinic's cache when fresh."""
    key = _last_days_key(today)
    days = cache.get(key)
    if days is None:
        days = last_days_uncached(today)
        cache.set(key, days, LAST_DAYS_CACHE_SECONDS)
    return days


def dashboard_cache_clear(*, today: date) -> None:
    """Forget the cached window (tests, and after editing many past visits at once)."""
    cache.delete(_last_days_key(today))


def last_days_uncached(today: date) -> list[DayFigures]:
    start = local_day_bounds(today - timedelta(days=WINDOW_DAYS))[0]
    end = local_day_bounds(today)[0]
    confirmed = AppointmentEvent.objects.filter(
        appointment_id=OuterRef("pk"), kind=AppointmentEvent.Kind.CONFIRMED
    )
    rows = (
        Appointment.objects.filter(start__gte=start, start__lt=end)
        .exclude(status=S.CANCELLED)
        .annotate(day=TruncDate("start", tzinfo=clinic_tz()))
        .values("day")
        .annotate(
            visits=Count("id"),
            confirmed=Count("id", filter=Q(Exists(confirmed))),
            no_shows=Count("id", filter=Q(status=S.NO_SHOW)),
            with_outcome=Count("id", filter=Q(status__in=OUTCOMES)),
        )
        .order_by()
    )
    by_day = {row["day"]: row for row in rows}
    days = []
    for offset in range(WINDOW_DAYS, 0, -1):
        day = today - timedelta(days=offset)
        row = by_day.get(day, {})
        days.append(
            DayFigures(
                day=day,
                visits=row.get("visits", 0),
                confirmed=row.get("confirmed", 0),
                no_shows=row.get("no_shows", 0),
                with_outcome=row.get("with_outcome", 0),
            )
        )
    return days


def _tasks(today: date, member_id: int | None) -> dict[str, int]:
    overdue = Q(due_date__lt=today)
    mine = Q(assignee_id=member_id)
    return Task.objects.filter(state__in=Task.OPEN_STATES).aggregate(
        open=Count("id"),
        overdue=Count("id", filter=overdue),
        mine=Count("id", filter=mine),
        mine_overdue=Count("id", filter=mine & overdue),
    )


def dashboard_figures(
    *,
    today: date,
    member_id: int | None,
    with_conversations: bool = True,
    document_kinds: Iterable[str] = (),
) -> Dashboard:
    """Every figure of the dashboard for this clinic day and member."""
    days = _last_days(today)
    tasks = _tasks(today, member_id)
    totals = {
        name: sum(getattr(d, name) for d in days)
        for name in ("visits", "confirmed", "no_shows", "with_outcome")
    }
    unread = None
    if with_conversations:
        unread = Conversation.objects.filter(unread_count__gt=0).count()
    return Dashboard(
        today=today,
        today_by_status=_today_by_status(today),
        days=days,
        open_tasks=tasks["open"],
        overdue_tasks=tasks["overdue"],
        my_open_tasks=tasks["mine"],
        my_overdue_tasks=tasks["mine_overdue"],
        unread_conversations=unread,
        documents_awaiting_review=documents_awaiting_review(document_kinds),
        totals=totals,
    )


def dashboard_to_dict(board: Dashboard) -> dict:
    """The figures as the API answers them (and the page's numbers)."""
    return {
        "today": board.today.isoformat(),
        "today_by_status": board.today_by_status,
        "today_total": board.today_total,
        "window_days": WINDOW_DAYS,
        "confirmation_rate": _rate(board.confirmation_rate),
        "no_show_rate": _rate(board.no_show_rate),
        "last_days": [
            {
                "date": d.day.isoformat(),
                "visits": d.visits,
                "confirmed": d.confirmed,
                "no_shows": d.no_shows,
            }
            for d in board.days
        ],
        "tasks": {
            "open": board.open_tasks,
            "overdue": board.overdue_tasks,
            "mine_open": board.my_open_tasks,
            "mine_overdue": board.my_overdue_tasks,
        },
        "unread_conversations": board.unread_conversations,
        "documents_awaiting_review": board.documents_awaiting_review,
    }


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
