"""A/R: what payers and patients still owe, by age, and what came in by month.

Insurance A/R is each claim's charge less what earlier payers paid and what its
own posted remittances paid and adjusted (patient responsibility included: it
moved to the patient), over claims a payer may still pay on. Patient A/R is
what is still open on patients' invoices. Both are one query each, computed
when asked, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction

from billing.money import ZERO

BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")
OPEN_CLAIM_STATUSES = ("submitted", "accepted", "appealed", "partially_paid", "denied")

_BUCKET_SQL = """
  SUM(due) FILTER (WHERE age <= 30), SUM(due) FILTER (WHERE age BETWEEN 31 AND 60),
  SUM(due) FILTER (WHERE age BETWEEN 61 AND 90), SUM(due) FILTER (WHERE age BETWEEN 91 AND 120),
  SUM(due) FILTER (WHERE age > 120), SUM(due) AS total, COUNT(*) AS count
"""

# Each open claim's due is its charge less what earlier payers paid and what its
# posted remittances paid and adjusted (RemittanceClaim.adjusted, each claim
# payment's CAS total, checked against its adjustments by a deferred trigger).
# The shape is what keeps it cheap (see migration 0003): the open claims come
# from a partial covering index in id order, the claim payments from a covering
# index in claim order, so PostgreSQL merges the two without touching either
# table and adds up each claim once, instead of probing the remittances once per
# claim; the walk through the claim payments starts at the oldest open claim
# (older claims are mostly settled, so it skips most of the history); the payers'
# names are joined to the per-payer totals, not to every claim.
INSURANCE_AGING_SQL = f"""
SELECT a.*, py.name FROM (
  SELECT payer_id, {_BUCKET_SQL} FROM (
    SELECT c.payer_id, %(today)s::date - c.date_of_service AS age,
           c.total_charge - c.prior_payer_paid - COALESCE(SUM(rc.paid + rc.adjusted), 0) AS due
      FROM billing_claim c
      LEFT JOIN billing_remittanceclaim rc
        ON rc.claim_id = c.id AND rc.match IN ('posted', 'resolved')
           AND rc.claim_id >= (SELECT MIN(id) FROM billing_claim
                                WHERE status IN {OPEN_CLAIM_STATUSES})
     WHERE c.status IN {OPEN_CLAIM_STATUSES}
     GROUP BY c.id
  ) claims WHERE due > 0 GROUP BY payer_id
) a JOIN billing_payer py ON py.id = a.payer_id
"""

# Settled invoices are `paid` (the payment services mark them): only open ones
# age. Payments and adjustments off an invoice come as one stream in invoice
# order (two covering indexes, from the oldest open invoice on), merged with the
# open invoices (a partial one).
PATIENT_AGING_SQL = f"""
SELECT {_BUCKET_SQL} FROM (
    SELECT %(today)s::date - i.issued_on AS age, i.amount - COALESCE(SUM(off.amount), 0) AS due
      FROM billing_invoice i
      LEFT JOIN (SELECT invoice_id, amount FROM billing_paymentallocation
                 UNION ALL
                 SELECT invoice_id, amount FROM billing_adjustment WHERE invoice_id IS NOT NULL
      ) off ON off.invoice_id = i.id
           AND off.invoice_id >= (SELECT MIN(id) FROM billing_invoice WHERE status = 'open')
     WHERE i.status = 'open'
     GROUP BY i.id
) dues WHERE due > 0
"""

# Each branch adds up its own months first; insurance is each remittance of the
# period's posted claim payments, read from a covering index per remittance.
# Both in one statement: on a busy server each round trip waits for the database
# process to be scheduled again. The patients' row is the one without a payer.
AGING_SQL = f"""
SELECT * FROM ({INSURANCE_AGING_SQL}) payers
UNION ALL
SELECT NULL, patients.*, NULL FROM ({PATIENT_AGING_SQL}) patients
"""

# Aggregates over many rows look costly enough to PostgreSQL to JIT-compile, which
# costs far more than these queries themselves; parallel workers start slower than
# these scans finish on a busy server. Both off for the transaction, in one trip.
SESSION_SQL = (
    "SELECT set_config('jit', 'off', true),"
    " set_config('max_parallel_workers_per_gather', '0', true)"
)

COLLECTIONS_SQL = """
SELECT month, SUM(patient), SUM(insurance) FROM (
    SELECT date_trunc('month', received_on)::date AS month, SUM(amount) AS patient,
           0 AS insurance
      FROM billing_payment WHERE received_on >= %(since)s GROUP BY 1
    UNION ALL
    SELECT date_trunc('month', COALESCE(r.payment_date, r.imported_at::date))::date, 0,
           (SELECT COALESCE(SUM(rc.paid), 0) FROM billing_remittanceclaim rc
             WHERE rc.remittance_id = r.id AND rc.match IN ('posted', 'resolved'))
      FROM billing_remittance r
     WHERE COALESCE(r.payment_date, r.imported_at::date) >= %(since)s
    UNION ALL
    SELECT date_trunc('month', refunded_on)::date, -SUM(amount), 0
      FROM billing_refund WHERE refunded_on >= %(since)s GROUP BY 1
) money GROUP BY month ORDER BY month
"""


@dataclass
class AgingRow:
    label: str
    buckets: list[Decimal]
    total: Decimal
    count: int
    payer_id: int | None = None


@dataclass
class Aging:
    payers: list[AgingRow] = field(default_factory=list)
    patients: AgingRow | None = None

    @property
    def insurance_total(self) -> AgingRow:
        sums = [
            sum((r.buckets[i] for r in self.payers), ZERO) for i in range(len(BUCKETS))
        ]
        return AgingRow(
            "All payers", sums, sum(sums, ZERO), sum(r.count for r in self.payers)
        )


def _row(label: str, values: tuple, payer_id: int | None = None) -> AgingRow:
    *buckets, total, count = values
    return AgingRow(
        label, [b or ZERO for b in buckets], total or ZERO, count or 0, payer_id
    )


def ar_aging(*, today: date) -> Aging:
    """Insurance A/R by payer and patient A/R, in the five age buckets."""
    aging = Aging()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SESSION_SQL)
        cursor.execute(AGING_SQL, {"today": today})
        rows = cursor.fetchall()
    for payer_id, *values, name in rows:
        if payer_id is None:
            aging.patients = _row("Patient responsibility", tuple(values))
        else:
            aging.payers.append(_row(name, tuple(values), payer_id))
    aging.payers.sort(key=lambda row: (-row.total, row.label))
    return aging


def collections_by_month(*, since: date) -> list[tuple[date, Decimal, Decimal]]:
    """(month, patient payments less refunds, insurance payments) from `since` on."""
    with connection.cursor() as cursor:
        cursor.execute(COLLECTIONS_SQL, {"since": since})
        return [
            (month, patient or ZERO, insurance or ZERO)
            for month, patient, insurance in cursor.fetchall()
        ]
