"""Who acts on billing: a member of the clinic, or the system (an import, a hook)."""

from __future__ import annotations

from dataclasses import dataclass

from portal.models import Membership, User


@dataclass(frozen=True)
class SystemActor:
    """The portal itself, with what it was doing ("835 import TRN 12345")."""

    label: str
    role: str = "system"

    @property
    def user(self) -> None:
        return None


Actor = Membership | SystemActor


def actor_user(actor: Actor) -> User | None:
    return None if isinstance(actor, SystemActor) else actor.user


def actor_name(actor: Actor) -> str:
    if isinstance(actor, SystemActor):
        return f"System: {actor.label}"[:200]
    user = actor.user
    return f"{user.full_name or user.email} ({actor.get_role_display()})"[:200]


def membership_of(request) -> Membership:
    """The acting membership of a page (session) or API (token) request."""
    membership = getattr(request, "membership", None) or getattr(
        request.user, "clinic_membership", None
    )
    if membership is None:
        raise LookupError("No membership on this request.")
    if membership.user_id == request.user.pk:
        membership.user = request.user  # already loaded: no query
    return membership
