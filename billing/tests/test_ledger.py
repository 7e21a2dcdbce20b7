"""The patient ledger: payments settle invoices, refunds and adjustments, a balance
computed in the database that stays exact to the cent whatever happens."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Invoice, PaymentAllocation
from billing.selectors.ledger import balances_for, patient_balance, patient_ledger
from billing.services import claim_mark_ready, claim_submit
from billing.services.ledger import (
    adjustment_record,
    invoice_create,
    invoice_open_amount,
    invoice_void,
    payment_record,
    refund_issue,
)
from billing.services.remittances import remittance_import
from billing.tests.support import coded_encounter, draft_claim
from billing.tests.test_x12_import import sample
from portal.errors import ApplicationError

D = Decimal


def test_payments_settle_the_oldest_invoices_first_and_the_rest_is_credit(setup, team):
    patient = setup.patient
    coded_encounter(
        setup, team.billing
    )  # 155.50 of charges, self-pay as far as this goes
    older = invoice_create(
        patient=patient,
        actor=team.billing,
        kind="copay",
        amount="20",
        issued_on=date(2025, 1, 1),
    )
    newer = invoice_create(
        patient=patient,
        actor=team.billing,
        kind="self_pay",
        amount="50",
        issued_on=date(2025, 2, 1),
    )
    payment_record(patient=patient, actor=team.front_desk, amount="30", method="card")
    assert invoice_open_amount(older) == D("0") and invoice_open_amount(newer) == D(
        "40"
    )
    payment = payment_record(
        patient=patient, actor=team.front_desk, amount="45.50", method="cash"
    )
    assert invoice_open_amount(newer) == D("0")
    balance = patient_balance(patient_id=patient.pk)
    # Invoices bill part of the charges; they are not charges of their own.
    assert balance.balance == D("155.50") - D("75.50") == D("80.00")
    assert balance.patient_due == D("0")
    with pytest.raises(ValidationError):  # 5.50 of it paid no invoice
        refund_issue(
            payment=payment,
            actor=team.billing,
            amount="5.51",
            method="cash",
            reason="overpaid",
        )
    refund_issue(
        payment=payment,
        actor=team.billing,
        amount="5.50",
        method="cash",
        reason="overpaid",
    )
    assert patient_balance(patient_id=patient.pk).balance == D("85.50")


def test_a_payment_can_go_to_one_invoice(setup, team):
    first = invoice_create(
        patient=setup.patient, actor=team.billing, kind="copay", amount="20"
    )
    second = invoice_create(
        patient=setup.patient, actor=team.billing, kind="copay", amount="25"
    )
    payment_record(
        patient=setup.patient,
        actor=team.billing,
        amount="10",
        method="check",
        reference="1001",
        invoice=second,
    )
    assert (invoice_open_amount(first), invoice_open_amount(second)) == (
        D("20"),
        D("15"),
    )


def test_the_front_desk_takes_payments_but_does_not_refund_or_adjust(setup, team):
    payment = payment_record(
        patient=setup.patient, actor=team.front_desk, amount="10", method="cash"
    )
    for call in (
        lambda: refund_issue(
            payment=payment,
            actor=team.front_desk,
            amount="1",
            method="cash",
            reason="x",
        ),
        lambda: adjustment_record(
            patient=setup.patient, actor=team.front_desk, amount="1", reason="write_off"
        ),
        lambda: invoice_create(
            patient=setup.patient, actor=team.front_desk, kind="copay", amount="1"
        ),
    ):
        with pytest.raises(ApplicationError) as refused:
            call()
        assert refused.value.status == 403
    with pytest.raises(ApplicationError):
        payment_record(
            patient=setup.patient, actor=team.clinician, amount="1", method="cash"
        )


@pytest.mark.parametrize("amount", ["0", "-1", "0.001", "10000000", "abc"])
def test_amounts_are_positive_cents(setup, team, amount):
    with pytest.raises(ValidationError):
        payment_record(
            patient=setup.patient, actor=team.billing, amount=amount, method="cash"
        )


def test_an_invoice_with_payments_is_not_voided(setup, team):
    invoice = invoice_create(
        patient=setup.patient, actor=team.billing, kind="copay", amount="20"
    )
    payment_record(patient=setup.patient, actor=team.billing, amount="5", method="cash")
    with pytest.raises(ApplicationError):
        invoice_void(invoice=invoice, actor=team.billing)


def test_the_balance_follows_the_claim_from_charge_to_payer_to_patient(setup, team):
    claim = claim_submit(
        claim=claim_mark_ready(
            claim=draft_claim(setup, team.billing), actor=team.billing
        ),
        actor=team.billing,
    )
    before = patient_balance(patient_id=setup.patient.pk)
    assert (before.charges, before.balance, before.insurance_pending) == (
        D("155.50"),
        D("155.50"),
        D("155.50"),
    )
    remittance_import(content=sample("paid", claim), actor=team.billing)
    after = patient_balance(patient_id=setup.patient.pk)
    assert after.insurance_paid == D("128.00") and after.insurance_adjusted == D("7.50")
    assert (
        after.balance == D("20.00") == after.patient_due
    )  # the copay, now the patient's
    assert after.insurance_pending == D("0")
    payment_record(
        patient=setup.patient, actor=team.front_desk, amount="20", method="card"
    )
    final = patient_balance(patient_id=setup.patient.pk)
    assert final.balance == D("0") and final.patient_due == D("0")
    ledger = patient_ledger(patient_id=setup.patient.pk)
    assert ledger[-1].running_balance == D("0")
    assert sorted(e.kind for e in ledger) == [
        "charge",
        "charge",
        "insurance_adjustment",
        "insurance_payment",
        "payment",
    ]
    assert [e.day for e in ledger] == sorted(e.day for e in ledger)
    assert balances_for([setup.patient.pk]) == {setup.patient.pk: D("0")}


amounts = st.decimals(min_value=D("0.01"), max_value=D("999.99"), places=2)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("invoice"), amounts),
        st.tuples(st.just("pay"), amounts, st.booleans()),
        st.tuples(st.just("refund"), amounts, st.integers(0, 9)),
        st.tuples(st.just("adjust"), amounts, st.booleans()),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_totals_stay_exact_over_any_payments_refunds_and_adjustments(setup, team, ops):
    """Whatever mix of partial payments, refunds and adjustments, the database's balance
    is the exact Decimal sum, invoices never go below zero and payments are never
    allocated or refunded past their amount."""
    patient = setup.patient
    with transaction.atomic():
        coded_encounter(setup, team.billing)  # 155.50 of charges
        expected = D("155.50")
        payments, invoices = [], []
        for op in ops:
            kind, amount = op[0], op[1]
            try:
                with transaction.atomic():
                    if kind == "invoice":
                        invoices.append(
                            invoice_create(
                                patient=patient,
                                actor=team.billing,
                                kind="self_pay",
                                amount=amount,
                            )
                        )
                    elif kind == "pay":
                        target = invoices[-1] if op[2] and invoices else None
                        payments.append(
                            payment_record(
                                patient=patient,
                                actor=team.front_desk,
                                amount=amount,
                                method="card",
                                invoice=target,
                            )
                        )
                        expected -= amount
                    elif kind == "refund" and payments:
                        refund_issue(
                            payment=payments[op[2] % len(payments)],
                            actor=team.billing,
                            amount=amount,
                            method="card",
                            reason="test",
                        )
                        expected += amount
                    elif kind == "adjust":
                        signed = amount if op[2] else -amount
                        adjustment_record(
                            patient=patient,
                            actor=team.billing,
                            amount=signed,
                            reason="correction",
                        )
                        expected -= signed
            except ValidationError:
                pass  # refused (over-refund, settled invoice): the books must not move
        balance = patient_balance(patient_id=patient.pk)
        assert balance.balance == expected
        assert balance.balance == (
            balance.charges
            - balance.insurance_paid
            - balance.insurance_adjusted
            - balance.patient_paid
            - balance.adjusted
            + balance.refunded
        )
        ledger = patient_ledger(patient_id=patient.pk)
        assert ledger[-1].running_balance == expected
        assert sum((e.amount for e in ledger), D("0")) == expected
        due = D("0")
        for invoice in Invoice.objects.filter(patient=patient):
            open_amount = invoice_open_amount(invoice)
            assert D("0") <= open_amount <= invoice.amount
            due += open_amount
        assert balance.patient_due == due
        for payment in payments:
            allocated = PaymentAllocation.objects.filter(payment=payment).aggregate(
                total=Sum("amount")
            )["total"] or D("0")
            refunded = payment.refunds.aggregate(total=Sum("amount"))["total"] or D("0")
            assert allocated + refunded <= payment.amount
        connection.check_constraints()
        transaction.set_rollback(True)


def test_ar_aging_puts_what_payers_and_patients_owe_in_age_buckets(setup, team):
    from django.utils import timezone

    from billing.selectors.aging import ar_aging
    from billing.tests.support import NY, past_day

    recent = claim_submit(
        claim=claim_mark_ready(
            claim=draft_claim(setup, team.billing), actor=team.billing
        ),
        actor=team.billing,
    )
    older = claim_submit(
        claim=claim_mark_ready(
            claim=draft_claim(setup, team.billing, day=past_day(45)), actor=team.billing
        ),
        actor=team.billing,
    )
    draft_claim(setup, team.billing)  # not billed yet: no A/R
    remittance_import(content=sample("partial", older), actor=team.billing)
    aging = ar_aging(today=timezone.localdate(timezone=NY))
    [acme] = aging.payers
    # The recent claim owes all of its charge; the older one was partially paid:
    # 155.50 - 96.00 paid - 24.00 CO-45 - 35.50 CO-50 = 0, so it owes nothing.
    assert acme.buckets == [D("155.50"), D("0"), D("0"), D("0"), D("0")]
    assert (acme.total, acme.count) == (D("155.50"), 1)
    remittance_import(content=sample("paid", recent), actor=team.billing)
    aging = ar_aging(today=timezone.localdate(timezone=NY))
    assert aging.payers == []
    assert aging.patients.total == D("20.00") and aging.patients.count == 1  # the copay
    payment_record(
        patient=setup.patient, actor=team.front_desk, amount="20", method="cash"
    )
    assert ar_aging(today=timezone.localdate(timezone=NY)).patients.total == D("0")


def test_ar_aging_adds_up_every_payment_and_adjustment_of_a_claim_or_invoice_once(
    setup, team
):
    from django.utils import timezone

    from billing.selectors.aging import ar_aging
    from billing.services import claim_reverse
    from billing.tests.support import NY, past_day

    def today_aging():
        return ar_aging(today=timezone.localdate(timezone=NY))

    # A settled claim older than every open one: its payments are not A/R.
    settled = claim_submit(
        claim=claim_mark_ready(
            claim=draft_claim(setup, team.billing), actor=team.billing
        ),
        actor=team.billing,
    )
    remittance_import(content=sample("paid", settled), actor=team.billing)
    # Paid, reversed and paid again (three claim payments), then reopened by hand:
    # what the three took off adds up to the whole charge, so nothing is owed.
    reopened = claim_submit(
        claim=claim_mark_ready(
            claim=draft_claim(setup, team.billing, day=past_day(70)), actor=team.billing
        ),
        actor=team.billing,
    )
    remittance_import(content=sample("paid", reopened), actor=team.billing)
    remittance_import(content=sample("reversal", reopened), actor=team.billing)
    claim_reverse(claim=reopened, actor=team.billing, note="payer phoned: reprocessing")
    owing = claim_submit(
        claim=claim_mark_ready(
            claim=draft_claim(setup, team.billing, day=past_day(95)), actor=team.billing
        ),
        actor=team.billing,
    )
    aging = today_aging()
    [acme] = aging.payers
    assert acme.buckets == [D("0"), D("0"), D("0"), D(owing.total_charge), D("0")]
    assert (acme.total, acme.count, acme.payer_id) == (D("155.50"), 1, setup.payer.pk)
    # Patients: the copays the 835s billed, then an invoice paid twice in part and
    # adjusted once, each taken off once.
    before = today_aging().patients
    patient = setup.patient
    invoice = invoice_create(
        patient=patient,
        actor=team.billing,
        kind="self_pay",
        amount="100.00",
        issued_on=past_day(40),
    )
    for amount in ("20.00", "15.50"):
        payment_record(
            patient=patient,
            actor=team.front_desk,
            amount=amount,
            method="card",
            invoice=invoice,
        )
    adjustment_record(
        patient=patient,
        actor=team.billing,
        amount="4.50",
        reason="discount",
        invoice=invoice,
    )
    after = today_aging().patients
    assert after.total - before.total == D("60.00")
    assert after.buckets[1] - before.buckets[1] == D("60.00")
    assert after.count == before.count + 1
