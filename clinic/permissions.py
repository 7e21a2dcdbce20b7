"""Who may do what in the clinic app: the one place its role rules live.

Services ask `require` before they look at anything (a refused role learns
nothing of a record's state); pages, API permissions and templates ask `may`
(the `may` template filter). The README's role matrix is this table, and
clinic/tests/test_permissions_matrix.py checks every cell of it.

- Every member reads patients, the schedule and the waitlist, and keeps
  patients' records up to date (billing staff fix addresses and phones).
- Admins, clinicians and the front desk change the schedule: book, move,
  confirm, check in, complete, cancel, mark no-shows, and keep the waitlist.
- Overbooking needs the clinic's setting and the member's own flag as well.
- Admins alone set the clinic up (locations, rooms, providers, visit types,
  working hours, time off, holidays, workflows, settings) and read the audit
  trail.
- Documents, by kind, and clinical notes follow the minimum-necessary rule
  (their sections below); tasks are every member's; notifications their own.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import connection
from rest_framework.permissions import SAFE_METHODS, BasePermission

from clinic.actors import Actor, SystemActor
from clinic.models import Document
from portal.errors import ApplicationError
from portal.models import Membership, Role


class Perm(StrEnum):
    VIEW_PATIENTS = "view_patients"
    EDIT_PATIENTS = "edit_patients"  # create, update, archive
    IMPORT_PATIENTS = "import_patients"  # bulk create over the API
    VIEW_SCHEDULE = "view_schedule"  # calendars, today, panel, slots, waitlist
    CHANGE_SCHEDULE = "change_schedule"  # book, move and every lifecycle step
    MANAGE_WAITLIST = "manage_waitlist"  # add, remove, book from the waitlist
    OVERBOOK = "overbook"  # and the clinic's setting and the member's flag
    SET_UP_SCHEDULE = "set_up_schedule"  # locations ... holidays
    EDIT_WORKFLOWS = "edit_workflows"
    EDIT_SETTINGS = "edit_settings"
    VIEW_AUDIT = "view_audit"
    CLINIC_ADMIN = "clinic_admin"  # the clinic admin site


_ALL = frozenset({Role.ADMIN, Role.CLINICIAN, Role.FRONT_DESK, Role.BILLING})
_SCHEDULERS = frozenset({Role.ADMIN, Role.CLINICIAN, Role.FRONT_DESK})
_ADMINS = frozenset({Role.ADMIN})

RULES: dict[Perm, frozenset[str]] = {
    Perm.VIEW_PATIENTS: _ALL,
    Perm.EDIT_PATIENTS: _ALL,
    Perm.IMPORT_PATIENTS: _ALL,
    Perm.VIEW_SCHEDULE: _ALL,
    Perm.CHANGE_SCHEDULE: _SCHEDULERS,
    Perm.MANAGE_WAITLIST: _SCHEDULERS,
    Perm.OVERBOOK: _SCHEDULERS,
    Perm.SET_UP_SCHEDULE: _ADMINS,
    Perm.EDIT_WORKFLOWS: _ADMINS,
    Perm.EDIT_SETTINGS: _ADMINS,
    Perm.VIEW_AUDIT: _ADMINS,
    Perm.CLINIC_ADMIN: _ADMINS,
}

REFUSED: dict[Perm, str] = {
    Perm.CHANGE_SCHEDULE: "Your role does not allow changing the schedule.",
    Perm.MANAGE_WAITLIST: "Your role does not allow changing the schedule.",
    Perm.OVERBOOK: "You are not allowed to overbook.",
}
DEFAULT_REFUSAL = "Your role does not allow this."
OVERBOOKING_OFF = "This clinic does not allow overbooking."


def role_may(role: str | None, perm: Perm | str) -> bool:
    return role is not None and role in RULES[Perm(perm)]


def may(actor: Actor | None, perm: Perm | str) -> bool:
    """Whether a member (or the system, which may do anything) has `perm`.

    Overbooking also needs the clinic's setting and the member's own flag;
    see `can_overbook`.
    """
    if isinstance(actor, SystemActor):
        return True
    if not isinstance(actor, Membership) or not actor.is_active:
        return False
    if Perm(perm) is Perm.OVERBOOK:
        return can_overbook(actor)
    return role_may(actor.role, perm)


def require(actor: Actor | None, perm: Perm) -> None:
    """Refuse (403) unless the actor has `perm`."""
    if not may(actor, perm):
        raise ApplicationError(REFUSED.get(perm, DEFAULT_REFUSAL), status=403)


def can_overbook(actor: Actor | None) -> bool:
    """The clinic allows overbooking, and the actor may: the one answer to it."""
    if not getattr(connection.tenant, "allow_overbooking", False):
        return False
    if isinstance(actor, SystemActor):
        return True
    return (
        isinstance(actor, Membership)
        and actor.is_active
        and actor.can_overbook
        and role_may(actor.role, Perm.OVERBOOK)
    )


def require_overbook(actor: Actor | None) -> None:
    if not getattr(connection.tenant, "allow_overbooking", False):
        raise ApplicationError(OVERBOOKING_OFF, status=403)
    if not can_overbook(actor):
        raise ApplicationError(REFUSED[Perm.OVERBOOK], status=403)


def roles_with(perm: Perm) -> tuple[str, ...]:
    """The roles that have `perm` (for role_required on a page)."""
    return tuple(sorted(RULES[perm]))


def allowed_perms(actor: Actor | None) -> set[str]:
    return {perm.value for perm in Perm if may(actor, perm)}


def api_permission(read: Perm, write: Perm | None = None) -> type[BasePermission]:
    """A DRF permission: `read` for safe methods, `write` (or `read`) for the rest."""

    class ClinicPermission(BasePermission):
        message = DEFAULT_REFUSAL

        def has_permission(self, request, view) -> bool:
            membership = getattr(request.user, "clinic_membership", None)
            if membership is None:
                return False
            perm = read if request.method in SAFE_METHODS else (write or read)
            self.message = REFUSED.get(perm, DEFAULT_REFUSAL)
            return may(membership, perm)

    return ClinicPermission


# --- Documents --------------------------------------------------------------
# Who may see, upload and review which kind of document (the minimum-necessary rule).
#
# One place for these rules: services, pages, API and templates all ask here.
#
# - Clinicians and clinic admins: every kind.
# - Front desk: what they need to register and check in a patient: insurance
#   cards, identity documents, consent forms and referrals.
# - Billing: insurance cards and identity documents (to bill the right payer).
# - Lab results and "other" documents (anything unsorted may be clinical):
#   clinicians and admins only.
#
# Uploading, reviewing and filling a policy from a card follow the same rule as
# seeing: nobody files or corrects a document they could not open. Filling the
# patient's policy also needs billing's own permission (billing.permissions).

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

DOCUMENT_REFUSED = "Your role does not allow this kind of document."


def _role_or_name(who: Actor | str | None) -> str | None:
    if isinstance(who, Membership):
        return who.role
    return who if isinstance(who, str) else None


def document_kinds_visible(who: Actor | str | None) -> frozenset[str]:
    """The kinds a member (or a role) may see; the system sees every kind."""
    if isinstance(who, SystemActor):
        return _EVERY_KIND
    return DOCUMENT_KINDS_BY_ROLE.get(_role_or_name(who), frozenset())


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
        raise ApplicationError(DOCUMENT_REFUSED, status=403)


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


# --- Tasks, clinical notes, notifications -----------------------------------
# Who may do what with tasks, clinical notes and notifications (one place).
#
# Minimum necessary: a clinical note's content is for the clinicians and admins
# of the clinic; front desk and billing see that a note exists (which visit, its
# status, who signed it and when) and nothing of what it says.
#
# - Notes are drafted by any clinician of the clinic (a colleague covering, a
#   nurse practitioner writing up a shared visit). Signing is the visit's
#   clinician's: when the appointment's provider has a portal sign-in
#   (Provider.membership), only that member signs; a provider without one is
#   signed for by any clinician, who is recorded as the signer. Admins read
#   notes, but do not write or sign them (an admin is not necessarily a
#   clinician). Addenda are written by any clinician, to signed notes only.
# - Tasks are worked by every member (front desk, clinicians, billing, admins).
# - Notifications are their member's alone; nobody reads another's.

NOTE_READERS = (Role.ADMIN, Role.CLINICIAN)
NOTE_WRITERS = (Role.CLINICIAN,)

# Who is told, by kind, when the portal itself has news for "the clinic".
TEXT_ARRIVED_ROLES = (Role.FRONT_DESK, Role.ADMIN)
CLAIM_DENIED_ROLES = (Role.BILLING, Role.ADMIN)
DOCUMENT_REVIEW_ROLES = (Role.FRONT_DESK, Role.ADMIN)

NOTE_READ_REFUSED = "Your role does not allow reading clinical notes."
NOTE_WRITE_REFUSED = "Only clinicians write clinical notes."
NOTE_SIGN_REFUSED = "Only the visit's clinician signs this note."


def _member_role(actor: Actor | None) -> str | None:
    return actor.role if isinstance(actor, Membership) else None


def can_read_note_content(actor: Actor | None) -> bool:
    return _member_role(actor) in NOTE_READERS


def can_write_notes(actor: Actor | None) -> bool:
    return _member_role(actor) in NOTE_WRITERS


def can_sign_note(actor: Actor | None, *, provider_membership_id: int | None) -> bool:
    if not can_write_notes(actor):
        return False
    return provider_membership_id is None or provider_membership_id == actor.pk


def can_work_tasks(actor: Actor | None) -> bool:
    return isinstance(actor, SystemActor | Membership)


def require_note_reader(actor: Actor | None) -> None:
    if not can_read_note_content(actor):
        raise ApplicationError(NOTE_READ_REFUSED, status=403)


def require_note_writer(actor: Actor | None) -> None:
    if not can_write_notes(actor):
        raise ApplicationError(NOTE_WRITE_REFUSED, status=403)


def require_note_signer(
    actor: Actor | None, *, provider_membership_id: int | None
) -> None:
    require_note_writer(actor)
    if not can_sign_note(actor, provider_membership_id=provider_membership_id):
        raise ApplicationError(NOTE_SIGN_REFUSED, status=403)
