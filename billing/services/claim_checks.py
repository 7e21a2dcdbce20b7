"""What a claim must satisfy before it is ready to send (draft -> ready, and export).

Required fields, code formats, the policy active on the date of service, the
billing and rendering NPIs with valid check digits, charges that add up.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.addresses import parse_address
from billing.codes import (
    MAX_DIAGNOSES,
    npi_is_valid,
    validate_icd10,
    validate_modifiers,
    validate_pos,
    validate_procedure,
)
from billing.models import BillingSettings, Claim, Policy, ProviderBilling
from billing.money import ZERO
from clinic.clock import clinic_tz

Problems = dict[str, list[str]]


def _add(problems: Problems, key: str, message: str) -> None:
    problems.setdefault(key, []).append(message)


def settings_problems(settings: BillingSettings | None) -> Problems:
    problems: Problems = {}
    if settings is None:
        _add(
            problems, "billing_settings", "Fill in the clinic's billing settings first."
        )
        return problems
    for name, label in (
        ("organization_name", "the billing provider's name"),
        ("tax_id", "the tax id (EIN)"),
        ("address_line", "the billing address"),
        ("city", "the billing city"),
        ("state", "the billing state"),
        ("submitter_id", "the submitter id"),
        ("receiver_id", "the clearinghouse (receiver) id"),
        ("contact_phone", "a contact phone number"),
    ):
        if not getattr(settings, name):
            _add(problems, "billing_settings", f"Billing settings lack {label}.")
    if len(settings.postal_code or "") != 9 or not settings.postal_code.isdigit():
        _add(
            problems,
            "billing_settings",
            "The billing provider's ZIP code needs all nine digits.",
        )
    if not npi_is_valid(settings.npi):
        _add(
            problems,
            "billing_provider_npi",
            f"The billing provider NPI {settings.npi or '(none)'} is not valid "
            "(ten digits with a Luhn check digit over the 80840 prefix).",
        )
    return problems


_LOOK_UP = object()


def claim_problems(
    claim: Claim,
    *,
    today=None,
    settings: BillingSettings | None | object = _LOOK_UP,
    renderings: dict[int, ProviderBilling] | None = None,
) -> Problems:
    """Every reason the claim cannot be sent yet, by field; empty when it can.

    A batch passes its billing settings and its providers' billing identities
    (by provider id), read once, instead of two queries per claim.
    """
    if settings is _LOOK_UP:
        settings = BillingSettings.objects.first()
    problems = settings_problems(settings)
    today = today or timezone.localdate(timezone=clinic_tz())
    dos = claim.date_of_service
    policy: Policy = claim.policy
    payer = claim.payer
    patient = claim.patient

    if dos > today:
        _add(problems, "date_of_service", "The date of service is in the future.")
    if not policy.covers(dos):
        _add(
            problems,
            "policy",
            f"The policy is not active on the date of service ({dos}).",
        )
    if policy.payer_id != payer.pk:
        _add(problems, "policy", "The policy is with another payer than the claim's.")
    if not payer.is_active:
        _add(problems, "payer", f"{payer} is no longer active.")
    elif (today - dos).days > payer.timely_filing_days:
        _add(
            problems,
            "date_of_service",
            f"Past {payer}'s timely filing limit of {payer.timely_filing_days} days.",
        )
    if not policy.member_id:
        _add(problems, "policy", "The policy has no member id.")
    if policy.relationship != Policy.Relationship.SELF and not (
        policy.subscriber_last_name
        and policy.subscriber_first_name
        and policy.subscriber_date_of_birth
    ):
        _add(problems, "policy", "Name the subscriber and give their date of birth.")

    if parse_address(patient.address) is None:
        _add(
            problems,
            "patient",
            "The patient's address must read 'street' then 'city, ST 12345' on the next line.",
        )

    if renderings is None:
        rendering = ProviderBilling.objects.filter(
            provider_id=claim.provider_id
        ).first()
    else:
        rendering = renderings.get(claim.provider_id)
    if rendering is None:
        _add(
            problems,
            "rendering_provider_npi",
            f"{claim.provider} has no NPI on file (billing identity).",
        )
    elif not npi_is_valid(rendering.npi):
        _add(
            problems,
            "rendering_provider_npi",
            f"{claim.provider}'s NPI {rendering.npi} has a wrong check digit.",
        )

    codes = list(claim.diagnosis_codes)
    if not 1 <= len(codes) <= MAX_DIAGNOSES:
        _add(problems, "diagnoses", f"A claim carries 1 to {MAX_DIAGNOSES} diagnoses.")
    for code in codes:
        try:
            validate_icd10(code)
        except ValidationError as exc:
            _add(problems, "diagnoses", exc.messages[0])
    try:
        validate_pos(claim.place_of_service)
    except ValidationError as exc:
        _add(problems, "place_of_service", exc.messages[0])

    lines = list(claim.lines.all())
    if not lines:
        _add(problems, "lines", "A claim needs at least one service line.")
    total = ZERO
    for line in lines:
        key = f"lines.{line.line_number}"
        total += line.charge
        try:
            validate_procedure(line.code)
            validate_modifiers(list(line.modifiers))
        except ValidationError as exc:
            _add(problems, key, exc.messages[0])
        if line.charge <= ZERO:
            _add(problems, key, "A billed line has a charge above zero.")
        if not line.diagnosis_pointers or any(
            not 1 <= p <= len(codes) for p in line.diagnosis_pointers
        ):
            _add(
                problems,
                key,
                "Its diagnosis pointers must point at the claim's diagnoses.",
            )
    if total != claim.total_charge:
        _add(
            problems,
            "total_charge",
            f"The total {claim.total_charge} is not the sum of the lines ({total}).",
        )
    if claim.prior_payer_paid > claim.total_charge:
        _add(
            problems,
            "prior_payer_paid",
            "Earlier payers cannot have paid more than the charge.",
        )
    if (
        claim.frequency_code != Claim.Frequency.ORIGINAL
        and not claim.payer_claim_number
    ):
        _add(
            problems,
            "payer_claim_number",
            "A corrected or void claim carries the payer's original claim number.",
        )
    return problems
