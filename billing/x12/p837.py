"""The 837P professional claim (005010X222A1): one interchange for a batch of claims.

Layout per claim: 2000B subscriber (and 2000C patient when the patient is not
the subscriber) under the one 2000A billing provider, then 2300 claim with its
2310B rendering provider, 2320/2330 prior payers for a secondary claim, and
2400 service lines. At most 5000 claims go in one ST-SE transaction (the
implementation guide's limit); a larger batch gets several.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing.addresses import parse_address
from billing.models import (
    BillingSettings,
    Claim,
    Policy,
    ProviderBilling,
    RemittanceAdjustment,
)
from billing.x12.writer import REPETITION, Segments, amount, clean, composite

IMPLEMENTATION = "005010X222A1"
CLAIMS_PER_TRANSACTION = 5000
SEX = {"female": "F", "male": "M"}


@dataclass
class PriorPayer:
    """What an earlier payer decided, for 2320/2330 of a secondary claim."""

    policy: Policy
    paid: Decimal
    adjustments: dict[str, list[tuple[str, Decimal]]]  # group -> [(reason, amount)]


def _name(text: str) -> tuple[str, str]:
    """(last, first) of a provider's display name like 'Dr. Ann Able'."""
    words = [
        w
        for w in text.replace(",", " ").split()
        if w.rstrip(".").lower() not in ("dr", "md", "do", "np", "pa", "dds")
    ]
    if not words:
        return clean(text, 60), ""
    return clean(words[-1], 60), clean(" ".join(words[:-1]), 35)


def _n3n4(out: Segments, street: str, city: str, state: str, postal: str) -> None:
    out.add("N3", clean(street, 55))
    out.add("N4", clean(city, 30), clean(state, 2), clean(postal, 15))


def _envelope_head(
    out: Segments, settings: BillingSettings, control: int, now: datetime, usage: str
) -> None:
    sender = clean(settings.submitter_id, 15).ljust(15)
    receiver = clean(settings.receiver_id, 15).ljust(15)
    out.lines.append(
        "*".join(
            [
                "ISA",
                "00",
                " " * 10,
                "00",
                " " * 10,
                "ZZ",
                sender,
                "ZZ",
                receiver,
                now.strftime("%y%m%d"),
                now.strftime("%H%M"),
                REPETITION,
                "00501",
                f"{control:09d}",
                "0",
                usage,
                ":",
            ]
        )
        + "~"
    )
    out.add(
        "GS",
        "HC",
        clean(settings.submitter_id, 15),
        clean(settings.receiver_id, 15),
        now.strftime("%Y%m%d"),
        now.strftime("%H%M"),
        control,
        "X",
        IMPLEMENTATION,
    )


def _submitter(out: Segments, settings: BillingSettings) -> None:
    out.add(
        "NM1",
        "41",
        "2",
        clean(settings.organization_name, 60),
        "",
        "",
        "",
        "",
        "46",
        clean(settings.submitter_id, 80),
    )
    out.add(
        "PER",
        "IC",
        clean(settings.contact_name or settings.organization_name, 60),
        "TE",
        clean(settings.contact_phone, 10),
    )
    out.add(
        "NM1",
        "40",
        "2",
        clean(settings.receiver_name or settings.receiver_id, 60),
        "",
        "",
        "",
        "",
        "46",
        clean(settings.receiver_id, 80),
    )


def _billing_provider(out: Segments, settings: BillingSettings, hl: int) -> None:
    out.add("HL", hl, "", "20", "1")
    if settings.taxonomy_code:
        out.add("PRV", "BI", "PXC", clean(settings.taxonomy_code, 10))
    out.add(
        "NM1",
        "85",
        "2",
        clean(settings.organization_name, 60),
        "",
        "",
        "",
        "",
        "XX",
        settings.npi,
    )
    _n3n4(
        out, settings.address_line, settings.city, settings.state, settings.postal_code
    )
    out.add("REF", "EI", settings.tax_id)


def _demographics(out: Segments, born, sex: str) -> None:
    out.add("DMG", "D8", born.strftime("%Y%m%d"), sex or "U")


def _subscriber(out: Segments, claim: Claim, hl: int, parent: int) -> bool:
    """2000B (and 2010BA/BB); answers whether a 2000C patient loop follows."""
    policy, patient, payer = claim.policy, claim.patient, claim.payer
    is_self = policy.relationship == Policy.Relationship.SELF
    out.add("HL", hl, parent, "22", "0" if is_self else "1")
    out.add(
        "SBR",
        claim.payer_order,
        "18" if is_self else "",
        clean(policy.group_number, 50),
        "",
        "",
        "",
        "",
        "",
        payer.filing_indicator,
    )
    address = parse_address(patient.address)
    if is_self:
        out.add(
            "NM1",
            "IL",
            "1",
            clean(patient.last_name, 60),
            clean(patient.first_name, 35),
            "",
            "",
            "",
            "MI",
            clean(policy.member_id, 80),
        )
        if address:
            _n3n4(out, *address)
        _demographics(out, patient.date_of_birth, SEX.get(patient.sex, "U"))
    else:
        out.add(
            "NM1",
            "IL",
            "1",
            clean(policy.subscriber_last_name, 60),
            clean(policy.subscriber_first_name, 35),
            "",
            "",
            "",
            "MI",
            clean(policy.member_id, 80),
        )
        if policy.subscriber_date_of_birth:
            _demographics(
                out, policy.subscriber_date_of_birth, policy.subscriber_sex or "U"
            )
    out.add(
        "NM1",
        "PR",
        "2",
        clean(payer.name, 60),
        "",
        "",
        "",
        "",
        "PI",
        clean(payer.payer_id, 80),
    )
    if payer.address_line and payer.city and payer.state and payer.postal_code:
        _n3n4(out, payer.address_line, payer.city, payer.state, payer.postal_code)
    return not is_self


def _patient(out: Segments, claim: Claim, hl: int, parent: int) -> None:
    patient = claim.patient
    out.add("HL", hl, parent, "23", "0")
    out.add("PAT", claim.policy.relationship)
    out.add(
        "NM1", "QC", "1", clean(patient.last_name, 60), clean(patient.first_name, 35)
    )
    address = parse_address(patient.address)
    if address:
        _n3n4(out, *address)
    _demographics(out, patient.date_of_birth, SEX.get(patient.sex, "U"))


def _cas(out: Segments, adjustments: dict[str, list[tuple[str, Decimal]]]) -> None:
    for group in sorted(adjustments):
        items = [(reason, value) for reason, value in adjustments[group] if value]
        for start in range(0, len(items), 6):  # six reasons per CAS segment
            elements: list[object] = [group]
            for reason, value in items[start : start + 6]:
                elements += [reason, amount(value), ""]
            out.add("CAS", *elements)


def _prior_payers(out: Segments, prior: PriorPayer | None) -> None:
    if prior is None:
        return
    policy = prior.policy
    is_self = policy.relationship == Policy.Relationship.SELF
    out.add(
        "SBR",
        "P",
        "18" if is_self else policy.relationship,
        clean(policy.group_number, 50),
        "",
        "",
        "",
        "",
        "",
        policy.payer.filing_indicator,
    )
    _cas(out, prior.adjustments)
    out.add("AMT", "D", amount(prior.paid))
    out.add("OI", "", "", "Y", "", "", "Y")
    last = policy.patient.last_name if is_self else policy.subscriber_last_name
    first = policy.patient.first_name if is_self else policy.subscriber_first_name
    out.add(
        "NM1",
        "IL",
        "1",
        clean(last, 60),
        clean(first, 35),
        "",
        "",
        "",
        "MI",
        clean(policy.member_id, 80),
    )
    out.add(
        "NM1",
        "PR",
        "2",
        clean(policy.payer.name, 60),
        "",
        "",
        "",
        "",
        "PI",
        clean(policy.payer.payer_id, 80),
    )


def _claim(
    out: Segments,
    claim: Claim,
    rendering: ProviderBilling | None,
    prior: PriorPayer | None,
) -> None:
    out.add(
        "CLM",
        claim.control_number,
        amount(claim.total_charge),
        "",
        "",
        composite(claim.place_of_service, "B", claim.frequency_code),
        "Y",
        "A",
        "Y",
        "Y",
    )
    if claim.frequency_code != Claim.Frequency.ORIGINAL:
        out.add("REF", "F8", clean(claim.payer_claim_number, 50))
    codes = list(claim.diagnosis_codes)
    out.add(
        "HI",
        *[composite("ABK" if i == 0 else "ABF", code) for i, code in enumerate(codes)],
    )
    if rendering is not None:
        last, first = clean(rendering.last_name, 60), clean(rendering.first_name, 35)
        out.add("NM1", "82", "1", last, first, "", "", "", "XX", rendering.npi)
        if rendering.taxonomy_code:
            out.add("PRV", "PE", "PXC", clean(rendering.taxonomy_code, 10))
    _prior_payers(out, prior)
    for index, line in enumerate(claim.lines.all(), start=1):
        out.add("LX", index)
        out.add(
            "SV1",
            composite("HC", line.code, *line.modifiers),
            amount(line.charge),
            "UN",
            line.units,
            line.place_of_service
            if line.place_of_service != claim.place_of_service
            else "",
            "",
            composite(*[str(p) for p in line.diagnosis_pointers]),
        )
        out.add("DTP", "472", "D8", line.date_of_service.strftime("%Y%m%d"))
        out.add("REF", "6R", f"L{line.pk}")


def build_837(
    *,
    claims: Sequence[Claim],
    settings: BillingSettings,
    control_number: int,
    now: datetime,
    usage: str = "T",
    priors: dict[int, PriorPayer] | None = None,
) -> str:
    """The interchange text for `claims` (loaded with their lines, policy, payer, patient)."""
    priors = priors or {}
    rendering = {
        identity.provider_id: identity
        for identity in ProviderBilling.objects.filter(
            provider_id__in={claim.provider_id for claim in claims}
        )
    }
    out = Segments()
    _envelope_head(out, settings, control_number, now, usage)
    chunks = [
        claims[i : i + CLAIMS_PER_TRANSACTION]
        for i in range(0, len(claims), CLAIMS_PER_TRANSACTION)
    ] or [[]]
    for number, chunk in enumerate(chunks, start=1):
        out.start_transaction()
        set_control = f"{number:04d}"
        out.add("ST", "837", set_control, IMPLEMENTATION)
        out.add(
            "BHT",
            "0019",
            "00",
            f"{control_number:09d}{number:04d}",
            now.strftime("%Y%m%d"),
            now.strftime("%H%M"),
            "CH",
        )
        _submitter(out, settings)
        _billing_provider(out, settings, 1)
        hl = 1
        for claim in chunk:
            hl += 1
            subscriber_hl = hl
            if _subscriber(out, claim, subscriber_hl, 1):
                hl += 1
                _patient(out, claim, hl, subscriber_hl)
            _claim(out, claim, rendering.get(claim.provider_id), priors.get(claim.pk))
        out.add("SE", out.since_st + 1, set_control)
    out.add("GE", len(chunks), control_number)
    out.add("IEA", 1, f"{control_number:09d}")
    return out.text()


def adjustments_by_group(rows) -> dict[str, list[tuple[str, Decimal]]]:
    """Sum CAS rows by group and reason (for 2320): {'CO': [('45', 20.00)], ...}."""
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        totals[row.group][row.reason] += row.amount
    return {group: sorted(reasons.items()) for group, reasons in totals.items()}


__all__ = ["PriorPayer", "RemittanceAdjustment", "adjustments_by_group", "build_837"]
