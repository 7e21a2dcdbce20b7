"""Who did it: a member of the clinic, or the system (a worker, a reply, the demo).

Every write service of the clinic takes `actor: Membership | SystemActor`, so
the role check happens in the service and the history and the audit trail say
who or what acted ("System: patient reply, message SM...").
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from portal.models import Membership, User


@dataclass(frozen=True)
class SystemActor:
    """Something the portal did on its own, and why."""

    what: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.what}, {self.detail}" if self.detail else self.what

    @property
    def label(self) -> str:
        return f"System: {self}"


Actor = Membership | SystemActor

# Set-up code that is nobody's act: the demo data, provisioning, fixtures.
SYSTEM = SystemActor("set-up")
DEMO = SystemActor("demo data")


def actor_user(actor: Actor) -> User | None:
    """The user who acted (None for the system): history rows keep its id."""
    return actor.user if isinstance(actor, Membership) else None


def actor_note(actor: Actor, done: str) -> str:
    """What a history row says of a system actor: "Confirmed by patient reply,
    message SM..." ("" for a member, whom the row names in `by`)."""
    return f"{done} by {actor}" if isinstance(actor, SystemActor) else ""


def request_actor(request: HttpRequest) -> Membership:
    """The acting membership of a staff page (session) or API (token) request.

    The middleware (pages) and the token authentication (API) have already
    loaded it; a request without one never reaches a view that writes.
    """
    membership = getattr(request, "membership", None) or getattr(
        request.user, "clinic_membership", None
    )
    if membership is None:
        raise LookupError("This request has no clinic membership.")
    if membership.user_id == request.user.pk:
        membership.user = request.user  # already loaded: no query
    return membership
