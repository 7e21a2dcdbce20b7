"""Models of the billing app (a clinic's schema): insurance, charges, claims, money.

References to users (who coded, posted, took a payment) carry no database
constraint: users live in the public schema and are deactivated, never deleted,
and no clinic schema may depend on another schema's objects.
"""

from billing.models.claims import Claim, ClaimEvent, ClaimLine, ExportBatch, FollowUp
from billing.models.encounters import Diagnosis, Encounter, ServiceLine
from billing.models.ledger import (
    Adjustment,
    Invoice,
    Payment,
    PaymentAllocation,
    Refund,
)
from billing.models.policies import Policy
from billing.models.remittances import (
    Remittance,
    RemittanceAdjustment,
    RemittanceClaim,
    RemittanceLine,
)
from billing.models.setup import (
    BillingSettings,
    FeeScheduleEntry,
    KeyCanary,
    Payer,
    ProviderBilling,
)

__all__ = [
    "Adjustment",
    "BillingSettings",
    "Claim",
    "ClaimEvent",
    "ClaimLine",
    "Diagnosis",
    "Encounter",
    "ExportBatch",
    "FeeScheduleEntry",
    "FollowUp",
    "Invoice",
    "KeyCanary",
    "Payer",
    "Payment",
    "PaymentAllocation",
    "Policy",
    "ProviderBilling",
    "Refund",
    "Remittance",
    "RemittanceAdjustment",
    "RemittanceClaim",
    "RemittanceLine",
    "ServiceLine",
]
