"""Writes of patients' insurance policies and their eligibility checks."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing.actors import Actor, actor_user
from billing.errors import refused_by_database
from billing.models import Policy
from billing.permissions import Perm, require
from clinic.clock import clinic_tz
from clinic.models import Patient

POLICY_FIELDS = (
    "payer",
    "member_id",
    "group_number",
    "priority",
    "relationship",
    "subscriber_first_name",
    "subscriber_last_name",
    "subscriber_date_of_birth",
    "subscriber_sex",
    "effective_from",
    "effective_to",
    "is_active",
)


def _save(policy: Policy) -> Policy:
    if isinstance(policy.member_id, str):
        policy.member_id = policy.member_id.strip().upper()
    if policy.relationship == Policy.Relationship.SELF:
        policy.subscriber_first_name = policy.subscriber_last_name = ""
        policy.subscriber_date_of_birth = None
        policy.subscriber_sex = ""
    try:
        policy.full_clean(
            exclude=["patient", "eligibility_verified_by"], validate_constraints=False
        )
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    if not policy.member_id:
        raise ValidationError(
            {"member_id": ["Give the member id on the insurance card."]}
        )
    with refused_by_database(Policy):
        policy.save()
    return policy


@transaction.atomic
def policy_create(*, patient: Patient, actor: Actor, **data: Any) -> Policy:
    require(actor, Perm.MANAGE_POLICIES)
    unknown = set(data) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationError({name: ["Not a policy field."] for name in unknown})
    return _save(Policy(patient=patient, **data))


@transaction.atomic
def policy_update(*, policy: Policy, actor: Actor, **data: Any) -> Policy:
    require(actor, Perm.MANAGE_POLICIES)
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    for name, value in data.items():
        if name not in POLICY_FIELDS:
            raise ValidationError({name: ["Not a policy field."]})
        setattr(policy, name, value)
    return _save(policy)


@transaction.atomic
def policy_verify_eligibility(
    *, policy: Policy, actor: Actor, verified_on: date | None = None, note: str = ""
) -> Policy:
    """Record that someone checked the coverage with the payer (portal, phone), and when."""
    require(actor, Perm.MANAGE_POLICIES)
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    today = timezone.localdate(timezone=clinic_tz())
    policy.eligibility_verified_on = verified_on or today
    if policy.eligibility_verified_on > today:
        raise ValidationError(
            {"verified_on": ["Eligibility cannot be verified in the future."]}
        )
    policy.eligibility_verified_by = actor_user(actor)
    policy.eligibility_note = (note or "")[:300]
    policy.save(
        update_fields=[
            "eligibility_verified_on",
            "eligibility_verified_by",
            "eligibility_note",
            "updated_at",
        ]
    )
    return policy
