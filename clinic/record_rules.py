"""Who may do what with tasks, clinical notes and notifications (one place).

Minimum necessary: a clinical note's content is for the clinicians and admins
of the clinic; front desk and billing see that a note exists (which visit, its
status, who signed it and when) and nothing of what it says.

- Notes are drafted by any clinician of the clinic (a colleague covering, a
  nurse practitioner writing up a shared visit). Signing is the visit's
  clinician's: when the appointment's provider has a portal sign-in
  (Provider.membership), only that member signs; a provider without one is
  signed for by any clinician, who is recorded as the signer. Admins read
  notes, but do not write or sign them (an admin is not necessarily a
  clinician). Addenda are written by any clinician, to signed notes only.
- Tasks are worked by every member (front desk, clinicians, billing, admins).
- Notifications are their member's alone; nobody reads another's.

Services, pages, API permissions and templates ask these functions; the lead
moves them into clinic/permissions.py at merge.
"""

from __future__ import annotations

from calls.actors import Actor, SystemActor
from portal.errors import ApplicationError
from portal.models import Membership, Role

NOTE_READERS = (Role.ADMIN, Role.CLINICIAN)
NOTE_WRITERS = (Role.CLINICIAN,)

# Who is told, by kind, when the portal itself has news for "the clinic".
TEXT_ARRIVED_ROLES = (Role.FRONT_DESK, Role.ADMIN)
CLAIM_DENIED_ROLES = (Role.BILLING, Role.ADMIN)
DOCUMENT_REVIEW_ROLES = (Role.FRONT_DESK, Role.ADMIN)

NOTE_READ_REFUSED = "Your role does not allow reading clinical notes."
NOTE_WRITE_REFUSED = "Only clinicians write clinical notes."
NOTE_SIGN_REFUSED = "Only the visit's clinician signs this note."


def _role(actor: Actor | None) -> str | None:
    return actor.role if isinstance(actor, Membership) else None


def can_read_note_content(actor: Actor | None) -> bool:
    return _role(actor) in NOTE_READERS


def can_write_notes(actor: Actor | None) -> bool:
    return _role(actor) in NOTE_WRITERS


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
