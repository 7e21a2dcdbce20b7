"""Who may do what in billing; services, pages, API and templates all ask here.

- Front desk registers insurance, checks eligibility, takes payments and reads
  ledgers and claims, but does not edit claims.
- Clinicians code their visits (encounters) and nothing else in billing.
- Billing staff and clinic admins do everything else: claims, payers, 837P
  export, 835 import, refunds, adjustments, the A/R dashboard.
"""

from __future__ import annotations

from enum import Enum

from rest_framework.permissions import BasePermission

from billing.actors import Actor, SystemActor
from portal.errors import ApplicationError
from portal.models import Role


class Perm(str, Enum):  # noqa: UP042 - str() of a member reads as before
    SEE_BILLING = "see_billing"  # the nav item and the billing home
    CODE_ENCOUNTERS = "code_encounters"
    VIEW_CLAIMS = "view_claims"
    EDIT_CLAIMS = "edit_claims"
    MANAGE_PAYERS = "manage_payers"
    MANAGE_POLICIES = "manage_policies"
    VIEW_LEDGER = "view_ledger"
    TAKE_PAYMENTS = "take_payments"
    ADJUST_LEDGER = "adjust_ledger"  # refunds, adjustments, invoices by hand
    REMITTANCES = "remittances"  # 835 import and the unmatched queue
    DASHBOARD = "dashboard"


_ALL = {Role.ADMIN, Role.BILLING, Role.FRONT_DESK, Role.CLINICIAN}
_BILLERS = {Role.ADMIN, Role.BILLING}

RULES: dict[Perm, set[str]] = {
    Perm.SEE_BILLING: _ALL,
    Perm.CODE_ENCOUNTERS: {Role.ADMIN, Role.BILLING, Role.CLINICIAN},
    Perm.VIEW_CLAIMS: {Role.ADMIN, Role.BILLING, Role.FRONT_DESK},
    Perm.EDIT_CLAIMS: _BILLERS,
    Perm.MANAGE_PAYERS: _BILLERS,
    Perm.MANAGE_POLICIES: {Role.ADMIN, Role.BILLING, Role.FRONT_DESK},
    Perm.VIEW_LEDGER: {Role.ADMIN, Role.BILLING, Role.FRONT_DESK},
    Perm.TAKE_PAYMENTS: {Role.ADMIN, Role.BILLING, Role.FRONT_DESK},
    Perm.ADJUST_LEDGER: _BILLERS,
    Perm.REMITTANCES: _BILLERS,
    Perm.DASHBOARD: _BILLERS,
}

REFUSED = "Your role does not allow this in billing."


def role_may(role: str | None, perm: Perm) -> bool:
    return role is not None and role in RULES[perm]


def may(actor: Actor | None, perm: Perm) -> bool:
    """Whether a member (or the system, which may do anything) has `perm`."""
    if actor is None:
        return False
    if isinstance(actor, SystemActor):
        return True
    return bool(getattr(actor, "is_active", True)) and role_may(actor.role, perm)


def require(actor: Actor | None, perm: Perm) -> None:
    """Refuse (403) before anything is looked at: a refused role learns nothing."""
    if not may(actor, perm):
        raise ApplicationError(REFUSED, status=403)


def allowed_perms(role: str | None) -> set[str]:
    return {perm.value for perm in Perm if role_may(role, perm)}


def api_permission(read: Perm, write: Perm | None = None) -> type[BasePermission]:
    """A DRF permission: `read` for safe methods, `write` (or `read`) for the rest."""

    class BillingPermission(BasePermission):
        message = REFUSED

        def has_permission(self, request, view) -> bool:
            membership = getattr(request.user, "clinic_membership", None)
            if membership is None:
                return False
            perm = (
                read
                if request.method in ("GET", "HEAD", "OPTIONS")
                else (write or read)
            )
            return role_may(membership.role, perm)

    return BillingPermission
