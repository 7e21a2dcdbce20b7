"""Seeding bench/billing.py's clinic: 200,000 claims with their visits, coding, lines,
timelines, 835 postings, invoices and payments, written with COPY.

Import after django.setup() (bench/billing.py does).
"""

from __future__ import annotations

import random
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from bench._common import FIRST, LAST
from billing.codes import npi_check_digit
from billing.crypto import encrypt
from billing.models import BillingSettings
from clinic.models import Workflow
from portal.models import Clinic, Role, User
from portal.services import (
    clinic_ensure_public,
    clinic_ensure_template,
    clinic_provision,
    membership_grant,
    user_create,
)

SLUG = "bench-billing"
HOST = f"{SLUG}.{settings.PORTAL_DOMAIN}"
ADMIN_EMAIL = "admin@bench-billing.example"
BILLER_EMAIL = "billing@bench-billing.example"
PASSWORD = "bench-billing-password-1"
TZ = ZoneInfo("America/New_York")
PAYERS = 8
PROVIDERS = 20
PATIENTS = 20_000
READY_POOL = 5_000
NULL = r"\N"
CODES = [
    ("99213", "120.00"),
    ("99214", "175.00"),
    ("87880", "35.50"),
    ("36415", "12.00"),
    ("90471", "25.00"),
    ("93000", "60.00"),
]
DX = ["J029", "R509", "E1165", "I10", "Z0000", "M545", "K219", "F411"]
# Outcome of the 200,000 claims: (status, share); the ready ones feed the export run.
MIX = [
    ("paid", 0.70),
    ("partially_paid", 0.05),
    ("denied", 0.05),
    ("submitted", 0.08),
    ("accepted", 0.03),
    ("appealed", 0.01),
    ("draft", 0.055),
]


def npi(n: int) -> str:
    body = f"1{n:08d}"
    return body + str(npi_check_digit(body))


def ensure_clinic() -> Clinic:
    clinic_ensure_public()
    clinic_ensure_template()
    clinic = Clinic.objects.filter(slug=SLUG).first()
    if clinic is None:
        clinic = clinic_provision(
            slug=SLUG,
            name="Billing Benchmark Clinic",
            admin_email=ADMIN_EMAIL,
            admin_password=PASSWORD,
            timezone_name=TZ.key,
            password_expiry_days=0,
        )
    biller = User.objects.filter(email=BILLER_EMAIL).first() or user_create(
        email=BILLER_EMAIL, password=PASSWORD, full_name="Bench Biller"
    )
    membership_grant(user=biller, clinic=clinic, role=Role.BILLING)
    return clinic


def _copy(table_columns: str, rows: list[str]) -> None:
    with (
        connection.cursor() as cur,
        cur.cursor.copy(f"COPY {table_columns} FROM STDIN") as copy,
    ):
        for start in range(0, len(rows), 50_000):
            copy.write("".join(rows[start : start + 50_000]))


def _ids(table: str) -> list[int]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT id FROM {table} ORDER BY id")
        return [row[0] for row in cur.fetchall()]


def seed(clinic: Clinic, claims: int) -> None:
    """Everything the figures read, written with COPY (triggers off while it loads)."""
    rng = random.Random(7)
    started = time.perf_counter()
    today = timezone.localdate(timezone=TZ)
    stamp = "2026-01-01T00:00:00+00:00"
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        BillingSettings.objects.update_or_create(
            singleton=True,
            defaults=dict(
                organization_name="BENCH BILLING CLINIC",
                npi=npi(1),
                tax_id="123456789",
                address_line="1 BENCH ST",
                city="SPRINGFIELD",
                state="IL",
                postal_code="627011234",
                contact_name="BILLING",
                contact_phone="2175550100",
                submitter_id="BENCH01",
                receiver_id="CLEARHOUSE",
                receiver_name="CLEAR HOUSE",
            ),
        )
        _copy(
            "billing_payer (name, payer_id, address_line, city, state, postal_code, phone,"
            " filing_indicator, timely_filing_days, accepts_secondary, is_active, created_at)",
            [
                f"Payer {n}\tPAY{n}\t{n} Insurance Way\tHartford\tCT\t06101\t\tCI\t3650\tt\tt\t{stamp}\n"
                for n in range(1, PAYERS + 1)
            ],
        )
        payers = _ids("billing_payer")
        workflow = Workflow.objects.get(is_default=True).pk
        _copy(
            "clinic_patient (first_name, last_name, date_of_birth, sex, phone, email, address,"
            " preferred_language, sms_consent, voice_consent, status, workflow_id, fields,"
            " created_at, updated_at)",
            [
                f"{rng.choice(FIRST)}\t{rng.choice(LAST)}\t{date(1950, 1, 1) + timedelta(days=rng.randint(0, 25000))}"
                f"\tfemale\t+1415555{n % 10000:04d}\tp{n}@example.org\t{n} Main St\\nSpringfield, IL 62701"
                f"\ten\tf\tf\tactive\t{workflow}\t{{}}\t{stamp}\t{stamp}\n"
                for n in range(PATIENTS)
            ],
        )
        patients = _ids("clinic_patient")
        token = encrypt(
            "MEMBER000000"
        )  # one token for all: encrypting 20k adds nothing measured
        _copy(
            "billing_policy (patient_id, payer_id, member_id, group_number, priority, relationship,"
            " subscriber_first_name, subscriber_last_name, subscriber_sex, effective_from,"
            " is_active, eligibility_note, created_at, updated_at)",
            [
                f"{p}\t{rng.choice(payers)}\t{token}\tG1\tprimary\t18\t\t\t\t2020-01-01\tt\t\t{stamp}\t{stamp}\n"
                for p in patients
            ],
        )
        policy_of = dict(zip(patients, _ids("billing_policy"), strict=True))
        cur.execute("SELECT patient_id, payer_id FROM billing_policy")
        payer_of_patient = dict(cur.fetchall())
        cur.execute(
            "INSERT INTO clinic_location (name, address, is_active) VALUES ('Bench site', '', true)"
            " RETURNING id"
        )
        location = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO clinic_appointmenttype (name, duration_minutes, slot_interval_minutes,"
            " buffer_after_minutes, colour, requires_confirmation, is_active) VALUES"
            " ('Bench visit', 30, 30, 0, '#0ea5e9', false, true) RETURNING id"
        )
        visit_type = cur.fetchone()[0]
        _copy(
            "clinic_provider (name, credentials, specialty, colour, is_active)",
            [
                f"Dr. Bench {n}\tMD\tFamily medicine\t#4f46e5\tt\n"
                for n in range(PROVIDERS)
            ],
        )
        providers = _ids("clinic_provider")
        _copy(
            "billing_providerbilling (provider_id, npi, last_name, first_name, taxonomy_code)",
            [
                f"{p}\t{npi(100 + i)}\tBENCH{i}\tDOC\t\n"
                for i, p in enumerate(providers)
            ],
        )
        # Visits: each provider's half hours, one after another, back from yesterday.
        visits = []
        for n in range(claims):
            provider = providers[n % PROVIDERS]
            start = datetime.combine(today, datetime.min.time(), tzinfo=TZ) - timedelta(
                minutes=30 * (n // PROVIDERS + 48)
            )
            visits.append((provider, rng.choice(patients), start))
        _copy(
            'clinic_appointment (start, "end", busy_until, status, source, reason, notes,'
            " is_overbooked, overbook_reason, cancel_reason, created_at, updated_at, patient_id,"
            " appointment_type_id, location_id, provider_id)",
            [
                f"{s.isoformat()}\t{(s + timedelta(minutes=30)).isoformat()}\t"
                f"{(s + timedelta(minutes=30)).isoformat()}\tcompleted\tstaff\t\t\tf\t\t\t{stamp}\t{stamp}"
                f"\t{pat}\t{visit_type}\t{location}\t{prov}\n"
                for prov, pat, s in visits
            ],
        )
        appointments = _ids("clinic_appointment")
        statuses = [
            status for status, share in MIX for _ in range(round(share * claims))
        ]
        statuses += ["ready"] * (claims - len(statuses))
        rng.shuffle(statuses)
        _copy(
            "billing_encounter (appointment_id, patient_id, provider_id, date_of_service,"
            " place_of_service, status, self_pay, coded_at, created_at, updated_at)",
            [
                f"{a}\t{pat}\t{prov}\t{s.astimezone(TZ).date()}\t11\tcoded\tf\t{stamp}\t{stamp}\t{stamp}\n"
                for a, (prov, pat, s) in zip(appointments, visits, strict=True)
            ],
        )
        encounters = _ids("billing_encounter")
        lines, dx, claim_rows, charges = [], [], [], []
        for n, (enc, (prov, pat, s)) in enumerate(zip(encounters, visits, strict=True)):
            picked = rng.sample(CODES, 2)
            codes = rng.sample(DX, 2)
            dx += [f"{enc}\t1\t{codes[0]}\t\n", f"{enc}\t2\t{codes[1]}\t\n"]
            lines += [
                f"{enc}\t{i + 1}\t{c}\t{{}}\t\t1\t{amount}\t\t{{1}}\n"
                for i, (c, amount) in enumerate(picked)
            ]
            total = sum(Decimal(a) for _, a in picked)
            charges.append((picked, total))
            day = s.astimezone(TZ).date()
            status = statuses[n]
            submitted = stamp if status not in ("draft", "ready") else NULL
            claim_rows.append(
                f"{enc}\t{pat}\t{prov}\t{policy_of[pat]}\t{payer_of_patient[pat]}\tP\t{day}\t11\t"
                f"{{{codes[0]},{codes[1]}}}\t{status}\t1\t\t{total}\t0\t{submitted}\t{stamp}\t{stamp}\n"
            )
        _copy("billing_diagnosis (encounter_id, position, code, description)", dx)
        _copy(
            "billing_serviceline (encounter_id, line_number, code, modifiers, description, units,"
            " charge, place_of_service, diagnosis_pointers)",
            lines,
        )
        _copy(
            "billing_claim (encounter_id, patient_id, provider_id, policy_id, payer_id,"
            " payer_order, date_of_service, place_of_service, diagnosis_codes, status,"
            " frequency_code, payer_claim_number, total_charge, prior_payer_paid, submitted_at,"
            " created_at, updated_at)",
            claim_rows,
        )
        claim_ids = _ids("billing_claim")
        _copy(
            "billing_claimline (claim_id, line_number, code, modifiers, units, charge,"
            " place_of_service, diagnosis_pointers, date_of_service)",
            [
                f"{c}\t{i + 1}\t{code}\t{{}}\t1\t{amount}\t\t{{1}}\t{visits[n][2].astimezone(TZ).date()}\n"
                for n, c in enumerate(claim_ids)
                for i, (code, amount) in enumerate(charges[n][0])
            ],
        )
        _copy(
            "billing_claimevent (claim_id, action, from_status, to_status, actor_name, note, at)",
            [
                f"{c}\tcreate\t\tdraft\tSystem: bench seed\t\t{stamp}\n"
                for c in claim_ids
            ]
            + [
                f"{c}\tseed\tdraft\t{statuses[n]}\tSystem: bench seed\t\t{stamp}\n"
                for n, c in enumerate(claim_ids)
                if statuses[n] != "draft"
            ],
        )
        _seed_money(
            rng,
            claim_ids,
            statuses,
            charges,
            visits,
            payers,
            payer_of_patient,
            [row for row in zip(claim_ids, [v[1] for v in visits], strict=True)],
        )
        cur.execute("SET LOCAL session_replication_role = origin")
        cur.execute(
            "SELECT count(*) FROM billing_claim c WHERE c.total_charge <> (SELECT"
            " SUM(charge) FROM billing_claimline l WHERE l.claim_id = c.id)"
        )
        assert cur.fetchone()[0] == 0, "seeded claim totals do not add up"
        cur.execute(
            "SELECT count(*) FROM billing_remittanceclaim rc WHERE rc.adjusted <> COALESCE("
            "(SELECT SUM(amount) FROM billing_remittanceadjustment a WHERE"
            " a.remittance_claim_id = rc.id), 0)"
        )
        assert cur.fetchone()[0] == 0, "seeded remittance adjustments do not add up"
    # What autovacuum would have done by now on a clinic's tables: statistics and the
    # visibility map (index-only scans, which the A/R aging reads, rely on it).
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(f"seeded {claims} claims in {time.perf_counter() - started:.0f} s")


def _seed_money(
    rng, claim_ids, statuses, charges, visits, payers, payer_of_patient, claim_patient
):
    """835 postings for adjudicated claims (100 per remittance), PR invoices, patient payments."""
    answered = [
        n for n, s in enumerate(statuses) if s in ("paid", "partially_paid", "denied")
    ]
    remits, rclaims, rlines, adjustments, invoices, payments = [], [], [], [], [], []
    for r, _start in enumerate(range(0, len(answered), 100)):
        day = date.today() - timedelta(days=rng.randint(1, 360))
        remits.append(
            f"Payer\tPAY1\tTRN{r:07d}\t0\tACH\t{day}\tbench\t\t2026-01-01T00:00:00+00:00\n"
        )
    _copy(
        "billing_remittance (payer_name, payer_identifier, trace_number, payment_amount,"
        " payment_method, payment_date, file_sha256, content, imported_at)",
        remits,
    )
    remit_ids = _ids("billing_remittance")
    for k, n in enumerate(answered):
        picked, total = charges[n]
        status = statuses[n]
        paid = (
            Decimal(0)
            if status == "denied"
            else (total * Decimal("0.7")).quantize(Decimal("0.01"))
        )
        rclaims.append(
            f"{remit_ids[k // 100]}\t{k % 100 + 1}\t{claim_ids[n]}\tC{claim_ids[n]}\t"
            f"{'4' if status == 'denied' else '1'}\t{total}\t{paid}\t0\tP{n}\t\tposted\t\t\t0\n"
        )
    _copy(
        "billing_remittanceclaim (remittance_id, sequence, claim_id, patient_control_number,"
        " status_code, total_charge, paid, patient_responsibility, payer_claim_number,"
        " patient_name, match, unmatched_reason, resolution_note, adjusted)",
        rclaims,
    )
    rc_ids = _ids("billing_remittanceclaim")
    for rc, n in zip(rc_ids, answered, strict=True):
        picked, total = charges[n]
        status = statuses[n]
        for code, amount in picked:
            value = Decimal(amount)
            paid = (
                Decimal(0)
                if status == "denied"
                else (value * Decimal("0.7")).quantize(Decimal("0.01"))
            )
            rlines.append(f"{rc}\t{code}\t{{}}\t\t{value}\t{paid}\t1\n")
        rest = total - (
            Decimal(0)
            if status == "denied"
            else (total * Decimal("0.7")).quantize(Decimal("0.01"))
        )
        if status == "paid":
            copay = min(Decimal("20.00"), rest)
            adjustments += [
                f"{rc}\tCO\t45\t{rest - copay}\n",
                f"{rc}\tPR\t3\t{copay}\n",
            ]
        elif status == "partially_paid":
            adjustments.append(
                f"{rc}\tCO\t45\t{(rest / 2).quantize(Decimal('0.01'))}\n"
            )
        else:
            adjustments.append(f"{rc}\tCO\t50\t{rest}\n")
    _copy(
        "billing_remittanceline (remittance_claim_id, code, modifiers, line_control, charge, paid,"
        " units)",
        rlines,
    )
    _copy(
        'billing_remittanceadjustment (remittance_claim_id, "group", reason, amount)',
        adjustments,
    )
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE billing_remittanceclaim rc SET adjusted = a.total FROM (SELECT"
            " remittance_claim_id, SUM(amount) AS total FROM billing_remittanceadjustment"
            " GROUP BY remittance_claim_id) a WHERE a.remittance_claim_id = rc.id"
        )
    with connection.cursor() as cur:
        cur.execute(
            "SELECT a.id, rc.claim_id, c.patient_id, c.encounter_id, a.amount FROM"
            " billing_remittanceadjustment a JOIN billing_remittanceclaim rc ON rc.id ="
            " a.remittance_claim_id JOIN billing_claim c ON c.id = rc.claim_id"
            " WHERE a.\"group\" = 'PR'"
        )
        for adj, claim, patient, encounter, amount in cur.fetchall():
            issued = date.today() - timedelta(days=rng.randint(0, 200))
            invoices.append(
                f"{patient}\t{encounter}\t{claim}\t{adj}\tcopay\t{amount}\t\t{issued}\t"
                f"{issued + timedelta(days=30)}\topen\t2026-01-01T00:00:00+00:00\n"
            )
    _copy(
        "billing_invoice (patient_id, encounter_id, claim_id, source_adjustment_id, kind, amount,"
        " description, issued_on, due_on, status, created_at)",
        invoices,
    )
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, patient_id, amount, issued_on FROM billing_invoice ORDER BY id"
        )
        paid_invoices = [row for row in cur.fetchall() if rng.random() < 0.6]
    for _, patient, amount, issued in paid_invoices:
        payments.append(
            f"{patient}\t{amount}\tcard\t\t{issued + timedelta(days=rng.randint(0, 20))}"
            f"\t\t2026-01-01T00:00:00+00:00\n"
        )
    _copy(
        "billing_payment (patient_id, amount, method, reference, received_on, note, created_at)",
        payments,
    )
    _copy(
        "billing_paymentallocation (payment_id, invoice_id, amount)",
        [
            f"{pay}\t{inv}\t{amount}\n"
            for pay, (inv, _, amount, _) in zip(
                _ids("billing_payment"), paid_invoices, strict=True
            )
        ],
    )
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE billing_invoice SET status = 'paid' WHERE id IN"
            " (SELECT invoice_id FROM billing_paymentallocation)"
        )
