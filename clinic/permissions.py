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
"""

from __future__ import annotations

from enum import StrEnum

from django.db import connection
from rest_framework.permissions import SAFE_METHODS, BasePermission

from clinic.actors import Actor, SystemActor
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
