"""The billing home (by role) and the A/R dashboard with its SVG charts."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from billing.charts import bar_chart
from billing.models import FollowUp
from billing.permissions import Perm, role_may
from billing.selectors.aging import BUCKETS, ar_aging, collections_by_month
from billing.views.helpers import billing_page
from clinic.clock import clinic_tz


@billing_page(Perm.SEE_BILLING)
def billing_home(request: HttpRequest) -> HttpResponse:
    role = request.membership.role
    if role_may(role, Perm.DASHBOARD):
        return redirect("billing-dashboard")
    if role_may(role, Perm.VIEW_CLAIMS):
        return redirect("billing-claims")
    return redirect("billing-encounters")


def _months_back(today: date, count: int) -> list[date]:
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return months[::-1]


@billing_page(Perm.DASHBOARD)
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate(timezone=clinic_tz())
    aging = ar_aging(today=today)
    months = _months_back(today, 12)
    collected = {m: (p, i) for m, p, i in collections_by_month(since=months[0])}
    groups = [(m.strftime("%b"), list(collected.get(m, (0, 0)))) for m in months]
    totals = aging.insurance_total
    return render(
        request,
        "billing/dashboard.html",
        {
            "aging": aging,
            "buckets": BUCKETS,
            "insurance_total": totals,
            "aging_chart": bar_chart(
                "A/R by age",
                [
                    (bucket, [totals.buckets[i], aging.patients.buckets[i]])
                    for i, bucket in enumerate(BUCKETS)
                ],
                ["Insurance", "Patients"],
            ),
            "collections_chart": bar_chart(
                "Collections by month",
                groups,
                ["Patient payments", "Insurance payments"],
            ),
            "collections": [(m, *collected.get(m, (0, 0))) for m in months],
            "follow_ups": FollowUp.objects.filter(status="open")
            .select_related("claim__payer")
            .order_by("created_at")[:20],
            "today": today,
        },
    )
