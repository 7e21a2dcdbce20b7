"""The clinic's home page: a dashboard of the clinic's day, its last 30 days and its work."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing.charts import bar_chart
from calls.permissions import can_read_messages
from clinic import selectors
from clinic.clock import clinic_today
from clinic.models import Appointment
from clinic.permissions import document_kinds_visible
from clinic.selectors.dashboard import dashboard_figures
from clinic.views.helpers import clinic_time
from portal.decorators import staff_required


@staff_required
@clinic_time
def home(request: HttpRequest) -> HttpResponse:
    """Today's visits by status, 30-day rates, tasks, review queue, unread texts."""
    member = request.membership
    board = dashboard_figures(
        today=clinic_today(),
        member_id=member.pk,
        with_conversations=can_read_messages(member),
        document_kinds=document_kinds_visible(member),
    )
    today_chart = bar_chart(
        "Today's visits by status",
        [
            (label, [Decimal(board.today_by_status.get(value, 0))])
            for value, label in Appointment.Status.choices
        ],
        ["Visits"],
    )
    days_chart = bar_chart(
        "Visits and no-shows, last 30 days",
        [
            (
                d.day.strftime("%-d") if i % 5 == 0 else "",
                [Decimal(d.visits), Decimal(d.no_shows)],
            )
            for i, d in enumerate(board.days)
        ],
        ["Visits", "No-shows"],
    )
    context = {
        "board": board,
        "today_chart": today_chart,
        "days_chart": days_chart,
        "confirmation_pct": _pct(board.confirmation_rate),
        "no_show_pct": _pct(board.no_show_rate),
        # Names only: a count per workflow would scan every patient on each visit.
        "workflows": selectors.workflows_active().only("name", "slug"),
    }
    return render(request, "clinic/home.html", context)


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"
