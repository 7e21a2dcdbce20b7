"""Writes of billing's set-up: the clinic's billing identity, payers, fees, provider NPIs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from billing.actors import Actor
from billing.errors import refused_by_database
from billing.models import BillingSettings, FeeScheduleEntry, Payer, ProviderBilling
from billing.money import money
from billing.permissions import Perm, require
from clinic.models import Provider

SETTINGS_FIELDS = (
    "organization_name",
    "npi",
    "tax_id",
    "taxonomy_code",
    "address_line",
    "city",
    "state",
    "postal_code",
    "contact_name",
    "contact_phone",
    "submitter_id",
    "receiver_id",
    "receiver_name",
    "default_place_of_service",
)
PAYER_FIELDS = (
    "name",
    "payer_id",
    "address_line",
    "city",
    "state",
    "postal_code",
    "phone",
    "filing_indicator",
    "timely_filing_days",
    "accepts_secondary",
    "is_active",
)


def _clean_and_save(instance, *, fields: list[str] | None = None) -> None:
    try:
        instance.full_clean(validate_constraints=False)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    with refused_by_database(type(instance)):
        instance.save(update_fields=fields) if fields else instance.save()


def billing_settings_get() -> BillingSettings:
    settings, _ = BillingSettings.objects.get_or_create(singleton=True)
    return settings


@transaction.atomic
def billing_settings_update(*, actor: Actor, **data: Any) -> BillingSettings:
    require(actor, Perm.MANAGE_PAYERS)
    settings = BillingSettings.objects.select_for_update().get(
        pk=billing_settings_get().pk
    )
    for name, value in data.items():
        if name not in SETTINGS_FIELDS:
            raise ValidationError({name: ["Not a billing setting."]})
        setattr(
            settings, name, (value or "").strip() if isinstance(value, str) else value
        )
    _clean_and_save(settings)
    return settings


@transaction.atomic
def payer_create(*, actor: Actor, **data: Any) -> Payer:
    require(actor, Perm.MANAGE_PAYERS)
    unknown = set(data) - set(PAYER_FIELDS)
    if unknown:
        raise ValidationError({name: ["Not a payer field."] for name in unknown})
    if isinstance(data.get("payer_id"), str):
        data["payer_id"] = data["payer_id"].strip().upper()
    payer = Payer(**data)
    _clean_and_save(payer)
    return payer


@transaction.atomic
def payer_update(*, payer: Payer, actor: Actor, **data: Any) -> Payer:
    require(actor, Perm.MANAGE_PAYERS)
    payer = Payer.objects.select_for_update().get(pk=payer.pk)
    for name, value in data.items():
        if name not in PAYER_FIELDS:
            raise ValidationError({name: ["Not a payer field."]})
        setattr(payer, name, value.strip().upper() if name == "payer_id" else value)
    _clean_and_save(payer)
    return payer


@transaction.atomic
def fee_schedule_set(
    *,
    actor: Actor,
    code: str,
    amount: Decimal,
    modifier: str = "",
    description: str = "",
) -> FeeScheduleEntry:
    """Set (or change) the clinic's fee for one unit of a procedure."""
    require(actor, Perm.MANAGE_PAYERS)
    code, modifier = code.strip().upper(), modifier.strip().upper()
    entry = (
        FeeScheduleEntry.objects.select_for_update()
        .filter(code=code, modifier=modifier)
        .first()
    )
    entry = entry or FeeScheduleEntry(code=code, modifier=modifier)
    entry.amount = money(amount)
    entry.description = description or entry.description
    entry.is_active = True
    _clean_and_save(entry)
    return entry


@transaction.atomic
def provider_billing_set(
    *,
    actor: Actor,
    provider: Provider,
    npi: str,
    last_name: str,
    first_name: str = "",
    taxonomy_code: str = "",
) -> ProviderBilling:
    require(actor, Perm.MANAGE_PAYERS)
    identity = ProviderBilling.objects.filter(
        provider=provider
    ).first() or ProviderBilling(provider=provider)
    identity.npi, identity.last_name = npi.strip(), last_name.strip()
    identity.first_name, identity.taxonomy_code = (
        first_name.strip(),
        taxonomy_code.strip(),
    )
    _clean_and_save(identity)
    return identity
