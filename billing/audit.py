"""What billing adds to the clinic's audit trail."""

from __future__ import annotations

from auditlog.registry import auditlog

from billing.models import (
    Adjustment,
    BillingSettings,
    Claim,
    Diagnosis,
    Encounter,
    FeeScheduleEntry,
    FollowUp,
    Invoice,
    Payer,
    Payment,
    Policy,
    ProviderBilling,
    Refund,
    ServiceLine,
)

# The member id is masked (last four characters) in every change entry.
auditlog.register(
    Policy, mask_fields=["member_id"], mask_callable="billing.crypto.mask_member_id"
)
for model in (
    Adjustment,
    BillingSettings,
    Claim,
    Diagnosis,
    Encounter,
    FeeScheduleEntry,
    FollowUp,
    Invoice,
    Payer,
    Payment,
    ProviderBilling,
    Refund,
    ServiceLine,
):
    auditlog.register(model)
