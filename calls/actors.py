"""Who did it: a clinic member, or the system (beat, workers, patient replies).

Services of this app take `actor: Membership | SystemActor`. The system actor
says what acted ("patient reply, message SM...") so the audit trail and the
appointment history read as sentences rather than a blank "by".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from clinic.actors import SystemActor  # one system actor for every app
from portal.audit_context import audit_context
from portal.models import Membership, User

Actor = Membership | SystemActor

REMINDER_WORKER = SystemActor("reminder worker")
HOUSEKEEPING = SystemActor("housekeeping")


def patient_reply(sid: str) -> SystemActor:
    return SystemActor("patient reply", f"message {sid}")


def actor_user(actor: Actor) -> User | None:
    """The user the clinic's own services expect as `by` (None is the system)."""
    return actor.user if isinstance(actor, Membership) else None


def actor_label(actor: Actor) -> str:
    if isinstance(actor, SystemActor):
        return actor.label
    user = actor.user
    return user.full_name or user.email


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    """Audit entries written inside name the actor (a member, or the system's label).

    A member inside a request already has the request's context; outside one
    (a worker) the member is set here. The system has no user, so its label
    goes in the entry's actor_email, which the audit page shows in its place.
    """
    if isinstance(actor, Membership):
        context: dict = {"actor": actor.user}
    else:
        context = {"actor": None, "actor_email": actor.label[:254]}
    with audit_context(**context):
        yield
