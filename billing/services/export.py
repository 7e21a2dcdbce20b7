"""Export a batch of ready claims as one 837P interchange, and mark them submitted."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Sum
from django.utils import timezone

from billing.actors import Actor, actor_name, actor_user
from billing.models import (
    BillingSettings,
    Claim,
    ClaimEvent,
    ClaimLine,
    ExportBatch,
    ProviderBilling,
    RemittanceAdjustment,
    RemittanceLine,
)
from billing.money import ZERO
from billing.permissions import Perm, require
from billing.services.claim_checks import claim_problems, settings_problems
from billing.services.claims import MOVES, S
from billing.services.setup import billing_settings_get
from billing.x12.p837 import PriorPayer, adjustments_by_group, build_837
from billing.x12.validate import own_checks, pyx12_errors
from clinic.clock import clinic_tz
from portal.errors import ApplicationError

MAX_BATCH = 10_000
POSTED = ["posted", "resolved"]
# pyx12 reads about 500 claims a second. Up to this many, it checks the whole
# file; above, it checks a file of every claim shape in the batch (and a spread
# of the rest), while our own checks still read every claim of the real file.
FULL_PYX12_MAX = 1000
SAMPLE_SIZE = 300


def _shape(claim: Claim) -> tuple:
    """What decides which loops and segments a claim's part of the file has."""
    return (
        claim.policy.relationship == "18",
        claim.payer_order,
        claim.frequency_code,
        len(claim.lines.all()) > 1,
        any(line.modifiers for line in claim.lines.all()),
        bool(claim.payer.address_line),
        claim.provider_id,
    )


def _pyx12_sample(batch: list[Claim]) -> list[Claim]:
    chosen: dict[int, Claim] = {}
    seen: set[tuple] = set()
    for claim in batch:
        shape = _shape(claim)
        if shape not in seen:
            seen.add(shape)
            chosen[claim.pk] = claim
    step = max(1, len(batch) // SAMPLE_SIZE)
    for claim in batch[::step]:
        chosen.setdefault(claim.pk, claim)
    return sorted(chosen.values(), key=lambda c: c.pk)


def _priors(claims: list[Claim]) -> dict[int, PriorPayer]:
    """What the earlier payer decided, for each secondary claim of the batch."""
    secondaries = [c for c in claims if c.primary_claim_id]
    if not secondaries:
        return {}
    primaries = {
        c.pk: c
        for c in Claim.objects.select_related(
            "policy__payer", "policy__patient"
        ).filter(pk__in=[c.primary_claim_id for c in secondaries])
    }
    paid = dict(
        RemittanceLine.objects.filter(
            remittance_claim__claim_id__in=primaries, remittance_claim__match__in=POSTED
        )
        .values_list("remittance_claim__claim_id")
        .annotate(total=Sum("paid"))
    )
    adjustments: dict[int, list[RemittanceAdjustment]] = {}
    for row in RemittanceAdjustment.objects.filter(
        remittance_claim__claim_id__in=primaries, remittance_claim__match__in=POSTED
    ).select_related("remittance_claim"):
        adjustments.setdefault(row.remittance_claim.claim_id, []).append(row)
    return {
        c.pk: PriorPayer(
            policy=primaries[c.primary_claim_id].policy,
            paid=paid.get(c.primary_claim_id, ZERO),
            adjustments=adjustments_by_group(adjustments.get(c.primary_claim_id, [])),
        )
        for c in secondaries
    }


def _locked_batch(ids: list[int]) -> list[Claim]:
    return list(
        Claim.objects.select_for_update(of=("self",))
        .select_related("policy", "payer", "patient")
        .prefetch_related(
            Prefetch("lines", queryset=ClaimLine.objects.order_by("line_number"))
        )
        .filter(pk__in=ids)
        .order_by("pk")
    )


@transaction.atomic
def claims_export_837(
    *, claims: Iterable[Claim | int], actor: Actor, validate: bool = True
) -> ExportBatch:
    """One 837P interchange for these ready claims; each becomes submitted, in one go.

    Refuses (409) if any claim is not ready, (400) if any fails its checks or the
    file fails pyx12's validation or our own (money, NPIs, envelopes): then
    nothing is exported and nothing changes.
    """
    require(actor, Perm.EDIT_CLAIMS)
    ids = sorted({c if isinstance(c, int) else c.pk for c in claims})
    if not ids:
        raise ValidationError({"claims": ["Choose at least one ready claim."]})
    if len(ids) > MAX_BATCH:
        raise ValidationError({"claims": [f"At most {MAX_BATCH} claims per batch."]})
    settings = BillingSettings.objects.select_for_update().get(
        pk=billing_settings_get().pk
    )
    problems = settings_problems(settings)
    if problems:
        raise ValidationError(problems)
    batch = _locked_batch(ids)
    if len(batch) != len(ids):
        raise ValidationError({"claims": ["Some of these claims do not exist."]})
    not_ready = [c.control_number for c in batch if c.status not in MOVES["submit"]]
    if not_ready:
        raise ApplicationError(
            f"Only ready claims are exported; not ready: {', '.join(not_ready[:20])}.",
            status=409,
            extra={"not_ready": not_ready},
        )
    failing = {}
    today = timezone.localdate(timezone=clinic_tz())
    renderings = {
        identity.provider_id: identity
        for identity in ProviderBilling.objects.filter(
            provider_id__in={claim.provider_id for claim in batch}
        )
    }
    for claim in batch:
        found = claim_problems(
            claim, today=today, settings=settings, renderings=renderings
        )
        found.pop("billing_settings", None)
        found.pop("billing_provider_npi", None)
        if found:
            failing[claim.control_number] = found
    if failing:
        raise ValidationError(
            {
                "claims": [
                    f"{number}: {'; '.join(m for ms in found.values() for m in ms)}"
                    for number, found in failing.items()
                ]
            }
        )

    settings.last_control_number = settings.last_control_number % 999_999_999 + 1
    settings.save(update_fields=["last_control_number", "updated_at"])
    now = timezone.now().astimezone(clinic_tz())
    text = build_837(
        claims=batch,
        settings=settings,
        control_number=settings.last_control_number,
        now=now,
        usage=django_settings.BILLING_X12_USAGE,
        priors=_priors(batch),
    )
    errors = own_checks(text)
    validation = "own checks only"
    if validate and len(batch) <= FULL_PYX12_MAX:
        errors += pyx12_errors(text)
        validation = "pyx12: whole file"
    elif validate:
        sample = _pyx12_sample(batch)
        errors += pyx12_errors(
            build_837(
                claims=sample,
                settings=settings,
                control_number=settings.last_control_number,
                now=now,
                usage=django_settings.BILLING_X12_USAGE,
                priors=_priors(sample),
            )
        )
        validation = f"pyx12: {len(sample)} claims covering every claim shape"
    if errors:
        raise ValidationError({"x12": errors[:50]})
    export = ExportBatch.objects.create(
        control_number=settings.last_control_number,
        content=text,
        claim_count=len(batch),
        total_charge=sum((c.total_charge for c in batch), ZERO),
        created_by=actor_user(actor),
        validation=validation,
    )
    # The submit move for the whole batch at once: same table, one event per claim.
    Claim.objects.filter(pk__in=ids).update(
        status=S.SUBMITTED,
        submitted_at=timezone.now(),
        batch=export,
        updated_at=timezone.now(),
    )
    name, user = actor_name(actor), actor_user(actor)
    ClaimEvent.objects.bulk_create(
        ClaimEvent(
            claim_id=claim.pk,
            action="submit",
            from_status=claim.status,
            to_status=S.SUBMITTED,
            actor=user,
            actor_name=name,
            note=f"Exported in 837P batch {export.control_number:09d}.",
        )
        for claim in batch
    )
    return export
