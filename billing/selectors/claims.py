"""The claims work list: filters, oldest date of service first, a page at a time.

A page is read in two steps. The ids come first, from the index on (status,
date of service, id) that holds the payer and provider too: with several
statuses ticked, each status is read in order up to the page's end and the
runs are merged (PostgreSQL 15 cannot read an IN list from one index in order,
so one query would fetch and sort every claim of those statuses, with their
patients). Then the page's own claims are read with their patient, payer and
provider.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import QuerySet

from billing.models import Claim

AGES = {
    "0-30": (0, 30),
    "31-60": (31, 60),
    "61-90": (61, 90),
    "91-120": (91, 120),
    "120+": (121, None),
}
ORDER = ("date_of_service", "id")


def work_list_ids(*, cleaned: dict, today: date) -> QuerySet | _Merged:
    """(id, date_of_service) of the claims the filters pick, in work-list order."""
    claims = Claim.objects.all()
    for name in ("payer", "provider"):
        if cleaned.get(name):
            claims = claims.filter(**{name: cleaned[name]})
    if cleaned.get("service_from"):
        claims = claims.filter(date_of_service__gte=cleaned["service_from"])
    if cleaned.get("service_to"):
        claims = claims.filter(date_of_service__lte=cleaned["service_to"])
    if cleaned.get("age") in AGES:
        low, high = AGES[cleaned["age"]]
        claims = claims.filter(date_of_service__lte=today - timedelta(days=low))
        if high is not None:
            claims = claims.filter(date_of_service__gte=today - timedelta(days=high))
    ids = claims.order_by(*ORDER).values_list("id", "date_of_service")
    statuses = list(dict.fromkeys(cleaned.get("status") or []))
    if len(statuses) == 1:
        return ids.filter(status=statuses[0])
    if not statuses:
        return ids
    return _Merged(ids, statuses)


class _Merged:
    """Each status's run, in order, cut at the slice's end, then merged and cut again."""

    ordered = True

    def __init__(self, ids: QuerySet, statuses: list[str]) -> None:
        self.ids, self.statuses = ids, statuses

    def __getitem__(self, window: slice) -> QuerySet:
        runs = [self.ids.filter(status=s)[: window.stop] for s in self.statuses]
        return runs[0].union(*runs[1:], all=True).order_by(*ORDER)[window]


def claims_by_id(ids: list[int]) -> QuerySet[Claim]:
    """The work list's rows for these ids, with what each row shows."""
    return (
        Claim.objects.filter(pk__in=ids)
        .select_related("patient", "payer", "provider")
        .only(
            "id",
            "status",
            "date_of_service",
            "total_charge",
            "frequency_code",
            "payer_order",
            "submitted_at",
            "patient_id",
            "patient__first_name",
            "patient__last_name",
            "payer__name",
            "provider__name",
            "provider__credentials",
        )
        .order_by(*ORDER)
    )


class WorkList:
    """What the paginator slices: the ids of the window, then their claims."""

    ordered = True

    def __init__(self, *, cleaned: dict, today: date) -> None:
        self.ids = work_list_ids(cleaned=cleaned, today=today)

    def __getitem__(self, window: slice) -> list[Claim]:
        ids = [pk for pk, _ in self.ids[window]]
        return list(claims_by_id(ids)) if ids else []
