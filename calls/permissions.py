"""Who may do what with texts: the one place this app's role rules live.

Front desk, clinicians and admins text patients; billing staff read
conversations but do not send. Only clinic admins change the reminder policy
and export the consent ledger. Services, pages, API permissions and templates
all ask these functions.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from calls.actors import Actor, SystemActor
from portal.errors import ApplicationError
from portal.models import Membership, Role

SENDERS = (Role.ADMIN, Role.CLINICIAN, Role.FRONT_DESK)
READERS = (Role.ADMIN, Role.CLINICIAN, Role.FRONT_DESK, Role.BILLING)
POLICY_EDITORS = (Role.ADMIN,)

SEND_REFUSED = "Your role does not allow texting patients."
POLICY_REFUSED = "Only the clinic's admins change the reminder policy."
EXPORT_REFUSED = "Only the clinic's admins export the consent ledger."
OFFER_REFUSED = "Your role does not allow offering slots to the waitlist."


def _role(actor: Actor | None) -> str | None:
    return actor.role if isinstance(actor, Membership) else None


def can_read_messages(actor: Actor | None) -> bool:
    return isinstance(actor, SystemActor) or _role(actor) in READERS


def can_send_messages(actor: Actor | None) -> bool:
    return isinstance(actor, SystemActor) or _role(actor) in SENDERS


def can_edit_policy(actor: Actor | None) -> bool:
    return _role(actor) in POLICY_EDITORS


def can_export_consent(actor: Actor | None) -> bool:
    return _role(actor) in POLICY_EDITORS


def require_sender(actor: Actor) -> None:
    if not can_send_messages(actor):
        raise ApplicationError(SEND_REFUSED, status=403)


def require_policy_editor(actor: Actor) -> None:
    if not can_edit_policy(actor):
        raise ApplicationError(POLICY_REFUSED, status=403)


def require_offerer(actor: Actor) -> None:
    # Offering a slot books through the schedule: the schedule's roles.
    if not can_send_messages(actor):
        raise ApplicationError(OFFER_REFUSED, status=403)


class MessagesApiPermission(BasePermission):
    """Reads for every member; writes (sending) for the roles that text patients."""

    message = SEND_REFUSED

    def has_permission(self, request, view) -> bool:
        membership = getattr(request.user, "clinic_membership", None)
        if membership is None:
            return False
        if request.method in SAFE_METHODS:
            return can_read_messages(membership)
        return can_send_messages(membership)


# --- Calls ----------------------------------------------------------------------
# Front desk, clinicians and admins call patients and hang up live calls;
# billing staff see the call board and transcripts but place no calls. Only
# admins and the front desk run campaigns.
CALLERS = SENDERS
CAMPAIGNERS = (Role.ADMIN, Role.FRONT_DESK)
CALL_REFUSED = "Your role does not allow calling patients."
CAMPAIGN_REFUSED = "Only the clinic's admins and front desk run call campaigns."


def can_place_calls(actor: Actor | None) -> bool:
    return isinstance(actor, SystemActor) or _role(actor) in CALLERS


def can_run_campaigns(actor: Actor | None) -> bool:
    return _role(actor) in CAMPAIGNERS


def require_caller(actor: Actor) -> None:
    if not can_place_calls(actor):
        raise ApplicationError(CALL_REFUSED, status=403)


def require_campaigner(actor: Actor) -> None:
    if not can_run_campaigns(actor):
        raise ApplicationError(CAMPAIGN_REFUSED, status=403)


class CallsApiPermission(BasePermission):
    """Reads for every member; placing and hanging up calls for the calling roles."""

    message = CALL_REFUSED

    def has_permission(self, request, view) -> bool:
        membership = getattr(request.user, "clinic_membership", None)
        if membership is None:
            return False
        if request.method in SAFE_METHODS:
            return can_read_messages(membership)
        return can_place_calls(membership)
