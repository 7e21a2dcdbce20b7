"""The patient ledger's reads: the balance and its entries, computed in the database.

    balance = charges - insurance paid - insurance adjustments - patient paid
              - adjustments + refunds

Charges are the coded service lines of the patient's encounters (not void);
insurance money is what posted 835s paid and adjusted (patient responsibility
stays on the account, now owed by the patient; OA-23 restates earlier payers).
Nothing of this is stored: one query adds it up each time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection

from billing.money import ZERO

POSTED = "('posted', 'resolved')"
REDUCES = "NOT (a.\"group\" = 'PR' OR (a.\"group\" = 'OA' AND a.reason = '23'))"

# One row per ledger entry of one patient: (day, order, kind, description, amount,
# reference id); positive amounts add to what is owed.
ENTRIES_SQL = f"""
SELECT e.date_of_service AS day, 1 AS ord, 'charge' AS kind,
       l.code || ' x' || l.units AS description, l.charge AS amount, e.id AS ref, l.id AS uid
  FROM billing_serviceline l JOIN billing_encounter e ON e.id = l.encounter_id
 WHERE e.patient_id = %(p)s AND e.status <> 'void'
UNION ALL
SELECT COALESCE(r.payment_date, r.imported_at::date), 2, 'insurance_payment',
       r.payer_name || ' ' || r.trace_number, -SUM(rl.paid), c.id, MIN(rl.id)
  FROM billing_remittanceline rl
  JOIN billing_remittanceclaim rc ON rc.id = rl.remittance_claim_id
  JOIN billing_remittance r ON r.id = rc.remittance_id
  JOIN billing_claim c ON c.id = rc.claim_id
 WHERE c.patient_id = %(p)s AND rc.match IN {POSTED}
 GROUP BY r.id, c.id, r.payment_date, r.imported_at, r.payer_name, r.trace_number
UNION ALL
SELECT COALESCE(r.payment_date, r.imported_at::date), 3, 'insurance_adjustment',
       a."group" || '-' || a.reason, -SUM(a.amount), c.id, MIN(a.id)
  FROM billing_remittanceadjustment a
  JOIN billing_remittanceclaim rc ON rc.id = a.remittance_claim_id
  JOIN billing_remittance r ON r.id = rc.remittance_id
  JOIN billing_claim c ON c.id = rc.claim_id
 WHERE c.patient_id = %(p)s AND rc.match IN {POSTED} AND {REDUCES}
 GROUP BY r.id, c.id, a."group", a.reason, r.payment_date, r.imported_at
UNION ALL
SELECT received_on, 4, 'payment', method || CASE WHEN reference <> '' THEN ' ' || reference
       ELSE '' END, -amount, id, id FROM billing_payment WHERE patient_id = %(p)s
UNION ALL
SELECT adjusted_on, 5, 'adjustment', reason, -amount, id, id
  FROM billing_adjustment WHERE patient_id = %(p)s
UNION ALL
SELECT refunded_on, 6, 'refund', reason, amount, id, id FROM billing_refund WHERE patient_id = %(p)s
"""

BALANCE_SQL = f"""
SELECT charges, insurance_paid, insurance_adjusted, patient_paid, adjusted, refunded,
       charges - insurance_paid - insurance_adjusted - patient_paid - adjusted + refunded,
       pending, patient_due
FROM (SELECT
  (SELECT COALESCE(SUM(l.charge), 0) FROM billing_serviceline l
     JOIN billing_encounter e ON e.id = l.encounter_id
    WHERE e.patient_id = %(p)s AND e.status <> 'void') AS charges,
  (SELECT COALESCE(SUM(rl.paid), 0) FROM billing_remittanceline rl
     JOIN billing_remittanceclaim rc ON rc.id = rl.remittance_claim_id
     JOIN billing_claim c ON c.id = rc.claim_id
    WHERE c.patient_id = %(p)s AND rc.match IN {POSTED}) AS insurance_paid,
  (SELECT COALESCE(SUM(a.amount), 0) FROM billing_remittanceadjustment a
     JOIN billing_remittanceclaim rc ON rc.id = a.remittance_claim_id
     JOIN billing_claim c ON c.id = rc.claim_id
    WHERE c.patient_id = %(p)s AND rc.match IN {POSTED} AND {REDUCES}) AS insurance_adjusted,
  (SELECT COALESCE(SUM(amount), 0) FROM billing_payment WHERE patient_id = %(p)s) AS patient_paid,
  (SELECT COALESCE(SUM(amount), 0) FROM billing_adjustment WHERE patient_id = %(p)s) AS adjusted,
  (SELECT COALESCE(SUM(amount), 0) FROM billing_refund WHERE patient_id = %(p)s) AS refunded,
  (SELECT COALESCE(SUM(c.total_charge - c.prior_payer_paid), 0) FROM billing_claim c
    WHERE c.patient_id = %(p)s AND c.status IN ('submitted', 'accepted', 'appealed')) AS pending,
  (SELECT COALESCE(SUM(i.amount
          - COALESCE((SELECT SUM(pa.amount) FROM billing_paymentallocation pa
                       WHERE pa.invoice_id = i.id), 0)
          - COALESCE((SELECT SUM(ad.amount) FROM billing_adjustment ad
                       WHERE ad.invoice_id = i.id), 0)), 0)
     FROM billing_invoice i WHERE i.patient_id = %(p)s AND i.status = 'open') AS patient_due
) parts
"""


@dataclass(frozen=True)
class Balance:
    charges: Decimal
    insurance_paid: Decimal
    insurance_adjusted: Decimal
    patient_paid: Decimal
    adjusted: Decimal
    refunded: Decimal
    balance: Decimal
    insurance_pending: Decimal  # billed to payers and not yet answered
    patient_due: Decimal  # open on the patient's invoices

    @property
    def credit(self) -> Decimal:
        return -self.balance if self.balance < ZERO else ZERO


@dataclass(frozen=True)
class LedgerEntry:
    day: date
    kind: str
    description: str
    amount: Decimal  # positive: owed more; negative: owed less
    reference: int
    running_balance: Decimal


def patient_balance(*, patient_id: int) -> Balance:
    with connection.cursor() as cursor:
        cursor.execute(BALANCE_SQL, {"p": patient_id})
        row = cursor.fetchone()
    return Balance(*row)


def patient_ledger(*, patient_id: int) -> list[LedgerEntry]:
    """Every entry in date order with the running balance (a window sum in SQL)."""
    sql = (
        "SELECT day, kind, description, amount, ref, SUM(amount) OVER"
        " (ORDER BY day, ord, uid ROWS UNBOUNDED PRECEDING)"
        f" FROM ({ENTRIES_SQL}) entries ORDER BY day, ord, uid"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"p": patient_id})
        return [LedgerEntry(*row) for row in cursor.fetchall()]


def balances_for(patient_ids: list[int]) -> dict[int, Decimal]:
    """The balance of each of these patients, in one query (lists)."""
    if not patient_ids:
        return {}
    sql = f"""
    SELECT p.id,
      COALESCE((SELECT SUM(l.charge) FROM billing_serviceline l JOIN billing_encounter e
                 ON e.id = l.encounter_id WHERE e.patient_id = p.id AND e.status <> 'void'), 0)
    - COALESCE((SELECT SUM(rl.paid) FROM billing_remittanceline rl
                 JOIN billing_remittanceclaim rc ON rc.id = rl.remittance_claim_id
                 JOIN billing_claim c ON c.id = rc.claim_id
                WHERE c.patient_id = p.id AND rc.match IN {POSTED}), 0)
    - COALESCE((SELECT SUM(a.amount) FROM billing_remittanceadjustment a
                 JOIN billing_remittanceclaim rc ON rc.id = a.remittance_claim_id
                 JOIN billing_claim c ON c.id = rc.claim_id
                WHERE c.patient_id = p.id AND rc.match IN {POSTED} AND {REDUCES}), 0)
    - COALESCE((SELECT SUM(amount) FROM billing_payment WHERE patient_id = p.id), 0)
    - COALESCE((SELECT SUM(amount) FROM billing_adjustment WHERE patient_id = p.id), 0)
    + COALESCE((SELECT SUM(amount) FROM billing_refund WHERE patient_id = p.id), 0)
    FROM clinic_patient p WHERE p.id = ANY(%s)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(patient_ids)])
        return dict(cursor.fetchall())
