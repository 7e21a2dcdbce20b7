"""The work list's ids: statuses read in order one by one and merged, page by page."""

from __future__ import annotations

from django.utils import timezone

from billing.models import Claim
from billing.selectors.claims import WorkList
from billing.services import claim_mark_ready
from billing.tests.support import NY, draft_claim, past_day
from portal.pagination import LookaheadPaginator


def test_pages_of_several_statuses_merge_in_date_of_service_order(setup, team):
    for n, days in enumerate([9, 3, 7, 3, 12, 5, 1, 8]):
        claim = draft_claim(setup, team.billing, day=past_day(days))
        if n % 2:
            claim_mark_ready(claim=claim, actor=team.billing)
    expected = list(
        Claim.objects.order_by("date_of_service", "id").values_list("id", flat=True)
    )
    today = timezone.localdate(timezone=NY)
    for statuses in (["draft", "ready"], ["ready", "draft", "denied"], [], ["ready"]):
        want = [
            pk
            for pk in expected
            if not statuses or Claim.objects.get(pk=pk).status in statuses
        ]
        rows = WorkList(cleaned={"status": statuses}, today=today)
        got, number, more = [], 1, True
        while more:
            page = LookaheadPaginator(rows, 3).page(number)
            got += [claim.pk for claim in page]
            more, number = page.has_next(), number + 1
        assert got == want, statuses
    aged = WorkList(
        cleaned={"status": ["draft", "ready"], "age": "0-30", "payer": setup.payer.pk},
        today=today,
    )
    assert [c.pk for c in aged[0:100]] == expected
    assert (
        WorkList(
            cleaned={"status": ["draft", "ready"], "payer": setup.second_payer.pk},
            today=today,
        )[0:10]
        == []
    )
