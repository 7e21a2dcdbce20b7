"""One clinic's dispatcher run: reconcile, then claim and send in batches until done.

Beat starts one run per clinic every minute (calls.tasks). Runs of the same
clinic may overlap (a long run, a second worker); SKIP LOCKED gives each row
to one of them. A run stops when nothing is due or its time budget is spent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings

from calls.services.common import current_clinic
from calls.services.outbox import (
    outbox_claim,
    outbox_send,
    outbox_send_finish,
    outbox_send_start,
)
from calls.services.reconcile import outbox_reconcile
from calls.services.reminders import Claimed, reminders_claim_due


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    refused: int = 0
    batches: int = 0
    reconciled: dict[str, int] = field(default_factory=dict)


def dispatch_run(
    *, budget_seconds: float | None = None, batch: int | None = None
) -> DispatchReport:
    """Claim and send until nothing is due; the next batch is claimed while one is on the wire."""
    batch = batch or settings.SMS_DISPATCH_BATCH
    deadline = time.monotonic() + (budget_seconds or settings.SMS_DISPATCH_SECONDS)
    report = DispatchReport(reconciled=outbox_reconcile())
    clinic = current_clinic()
    in_flight: list = []
    while True:
        claimed = (
            reminders_claim_due(limit=batch)
            if time.monotonic() < deadline
            else Claimed()
        )
        # Retries and staff texts waiting in the outbox go along.
        ready = (
            outbox_claim(limit=batch)
            if claimed.count < batch and time.monotonic() < deadline
            else []
        )
        if in_flight:
            _count(report, outbox_send_finish(in_flight))
        in_flight = outbox_send_start(claimed.messages + ready, clinic=clinic)
        report.claimed += claimed.count
        report.batches += 1
        if not in_flight and not claimed.count:
            return report


def _count(report: DispatchReport, outcomes: list) -> None:
    report.sent += sum(1 for o in outcomes if o.result is not None)
    report.refused += sum(1 for o in outcomes if o.error is not None)


def messages_send(*, ids: list[int]) -> int:
    """Send these outbox rows now, if still pending and due (staff texts, replies)."""
    ready = outbox_claim(limit=len(ids), ids=ids)
    return sum(1 for o in outbox_send(ready) if o.result is not None)
