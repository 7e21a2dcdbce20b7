"""Who may see, upload and review which kind of document (the minimum-necessary rule).

One place for these rules: services, pages, API and templates all ask here.

- Clinicians and clinic admins: every kind.
- Front desk: what they need to register and check in a patient: insurance
  cards, identity documents, consent forms and referrals.
- Billing: insurance cards and identity documents (to bill the right payer).
- Lab results and "other" documents (anything unsorted may be clinical):
  clinicians and admins only.

Uploading, reviewing and filling a policy from a card follow the same rule as
seeing: nobody files or corrects a document they could not open. Filling the
patient's policy also needs billing's own permission (billing.permissions).
"""

from __future__ import annotations

from calls.actors import Actor, SystemActor
from clinic.models import Document
from portal.errors import ApplicationError
from portal.models import Membership, Role

Kind = Document.Kind

_EVERY_KIND = frozenset(Kind.values)

DOCUMENT_KINDS_BY_ROLE: dict[str, frozenset[str]] = {
    Role.ADMIN: _EVERY_KIND,
    Role.CLINICIAN: _EVERY_KIND,
    Role.FRONT_DESK: frozenset(
        {Kind.INSURANCE_CARD, Kind.IDENTITY, Kind.CONSENT_FORM, Kind.REFERRAL}
    ),
    Role.BILLING: frozenset({Kind.INSURANCE_CARD, Kind.IDENTITY}),
}

REFUSED = "Your role does not allow this kind of document."


def _role(who: Actor | str | None) -> str | None:
    if isinstance(who, Membership):
        return who.role
    return who if isinstance(who, str) else None


def document_kinds_visible(who: Actor | str | None) -> frozenset[str]:
    """The kinds a member (or a role) may see; the system sees every kind."""
    if isinstance(who, SystemActor):
        return _EVERY_KIND
    return DOCUMENT_KINDS_BY_ROLE.get(_role(who), frozenset())


def document_kind_choices(who: Actor | str | None) -> list[tuple[str, str]]:
    """The kind choices an upload form offers this member, in the model's order."""
    visible = document_kinds_visible(who)
    return [(value, label) for value, label in Kind.choices if value in visible]


def may_view_document(who: Actor | str | None, kind: str) -> bool:
    return kind in document_kinds_visible(who)


def may_upload_document(who: Actor | str | None, kind: str) -> bool:
    return kind in document_kinds_visible(who)


def may_review_document(who: Actor | str | None, kind: str) -> bool:
    return not isinstance(who, SystemActor) and kind in document_kinds_visible(who)


def require_document_kind(who: Actor | str | None, kind: str) -> None:
    """Raise ApplicationError (403) unless `who` may handle this kind."""
    if not may_view_document(who, kind):
        raise ApplicationError(REFUSED, status=403)


def document_reviewer_roles(kind: str) -> list[str]:
    """Who is told that a document of this kind needs review: the front desk and
    admins when they may review it, clinicians for what the front desk may not see
    (lab results, other)."""
    roles = [
        role
        for role in (Role.FRONT_DESK, Role.ADMIN)
        if may_review_document(role, kind)
    ]
    if Role.FRONT_DESK not in roles and may_review_document(Role.CLINICIAN, kind):
        roles.append(Role.CLINICIAN)
    return roles
