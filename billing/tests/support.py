"""Helpers of the billing tests: members in each role, a billable visit, its claim."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.utils import timezone

from billing.models import Claim, Encounter, Policy
from billing.services import (
    DiagnosisInput,
    LineInput,
    billing_settings_update,
    claim_create,
    encounter_code,
    encounter_open,
    fee_schedule_set,
    payer_create,
    policy_create,
    provider_billing_set,
)
from clinic.models import Appointment, Patient
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    ProviderFactory,
)
from portal.models import Clinic, Membership, Role
from portal.services import membership_grant, user_create

NY = ZoneInfo("America/New_York")
PASSWORD = "a-long-test-password-1"
VALID_NPI = "1234567893"  # the CMS example: check digit 3 over 80840123456789
OTHER_NPI = "1245319599"


def member(clinic: Clinic, role: str, name: str | None = None) -> Membership:
    """A user of `clinic` in `role` (created in the test's transaction)."""
    name = name or role
    user = user_create(
        email=f"{name}@{clinic.slug}.billing.test",
        password=PASSWORD,
        full_name=f"{name.replace('_', ' ').title()} of {clinic.slug}",
    )
    return membership_grant(user=user, clinic=clinic, role=role)


def members(clinic: Clinic) -> SimpleNamespace:
    return SimpleNamespace(
        admin=member(clinic, Role.ADMIN, "boss"),
        billing=member(clinic, Role.BILLING),
        clinician=member(clinic, Role.CLINICIAN),
        front_desk=member(clinic, Role.FRONT_DESK, "desk2"),
    )


def past_day(days: int = 3) -> date:
    return timezone.localdate(timezone=NY) - timedelta(days=days)


_SLOTS = itertools.count()


def completed_visit(patient: Patient, provider, day: date | None = None) -> Appointment:
    """A visit that took place (written directly: booking refuses the past).

    Each visit gets the next half hour of its day, so a provider is never
    booked twice at once (the schedule's exclusion constraint).
    """
    day = day or past_day()
    start = datetime.combine(day, time(0), tzinfo=NY) + timedelta(
        minutes=30 * (next(_SLOTS) % 46)
    )
    location = LocationFactory()
    visit_type = AppointmentTypeFactory(offered_by=[provider])
    return Appointment.objects.create(
        patient=patient,
        provider=provider,
        appointment_type=visit_type,
        location=location,
        start=start,
        end=start + timedelta(minutes=30),
        busy_until=start + timedelta(minutes=30),
        status=Appointment.Status.COMPLETED,
    )


def billing_setup(clinic: Clinic, biller: Membership) -> SimpleNamespace:
    """A clinic ready to bill: its identity, a payer, a provider with an NPI, fees."""
    billing_settings_update(
        actor=biller,
        organization_name="Alpha Family Practice",
        npi=VALID_NPI,
        tax_id="123456789",
        address_line="100 Main St",
        city="Springfield",
        state="IL",
        postal_code="627011234",
        contact_name="Billing Office",
        contact_phone="2175550100",
        submitter_id="ALPHA01",
        receiver_id="CLEARHOUSE",
        receiver_name="Clear House",
    )
    payer = payer_create(
        actor=biller,
        name="Acme Health",
        payer_id="ACME1",
        address_line="1 Insurance Way",
        city="Hartford",
        state="CT",
        postal_code="06101",
    )
    second_payer = payer_create(
        actor=biller, name="Second Mutual", payer_id="SECMUT", filing_indicator="CI"
    )
    provider = ProviderFactory(name="Dr. Ann Able")
    provider_billing_set(
        actor=biller,
        provider=provider,
        npi=OTHER_NPI,
        last_name="Able",
        first_name="Ann",
    )
    fee_schedule_set(
        actor=biller,
        code="99213",
        amount=Decimal("120.00"),
        description="Office visit, established, low",
    )
    fee_schedule_set(
        actor=biller,
        code="87880",
        amount=Decimal("35.50"),
        description="Rapid strep test",
    )
    patient = Patient.objects.create(
        first_name="Ada",
        last_name="Lovelace",
        date_of_birth=date(1990, 12, 10),
        sex=Patient.Sex.FEMALE,
        address="12 Elm St\nSpringfield, IL 62701",
    )
    policy = policy_create(
        patient=patient,
        actor=biller,
        payer=payer,
        member_id="XQZ123456789",
        group_number="G-100",
        priority=Policy.Priority.PRIMARY,
        effective_from=date(2020, 1, 1),
    )
    return SimpleNamespace(
        payer=payer,
        second_payer=second_payer,
        provider=provider,
        patient=patient,
        policy=policy,
    )


def coded_encounter(
    setup: SimpleNamespace,
    coder: Membership,
    day: date | None = None,
    patient: Patient | None = None,
) -> Encounter:
    visit = completed_visit(patient or setup.patient, setup.provider, day)
    encounter = encounter_open(appointment=visit)
    return encounter_code(
        encounter=encounter,
        actor=coder,
        diagnoses=[
            DiagnosisInput("J02.9", "Acute pharyngitis"),
            DiagnosisInput("R50.9"),
        ],
        lines=[
            LineInput("99213", modifiers=["25"], diagnosis_pointers=[1, 2]),
            LineInput("87880", diagnosis_pointers=[1]),
        ],
    )


def draft_claim(setup: SimpleNamespace, biller: Membership, **kwargs) -> Claim:
    return claim_create(
        encounter=coded_encounter(setup, biller, **kwargs), actor=biller
    )
