"""Who, from where, with what browser: the context audit entries take their actor from.

auditlog's `set_extra_data` connects a pre_save receiver on entry and
disconnects it on exit. Done for every request, that takes the signal's lock
twice and empties the receiver cache every model save consults, in every
thread. Here the context is only a context variable (auditlog's own, so its
helpers read it too), and one receiver, connected once for the clinic's
audit entries (clinic.audit), fills a change entry from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from auditlog.context import auditlog_value
from django.contrib.auth import get_user_model
from django.db.models import Model


@contextmanager
def audit_context(**context: Any) -> Iterator[None]:
    """Entries written inside take these values: `actor` (a user, possibly lazy),
    and any of the entry's own fields (`remote_addr`, `user_agent`,
    `actor_email`). Nested blocks replace the outer one until they end."""
    token = auditlog_value.set(context)
    try:
        yield
    finally:
        auditlog_value.reset(token)


def fill_from_context(entry: Model) -> None:
    """Give an entry about to be saved the actor and fields of the current context.

    As auditlog's own receiver does: the actor only if the entry names none;
    the other fields always. A block opened with auditlog's `set_actor` or
    `set_extra_data` brings its own receiver, which fills the entry instead.
    """
    try:
        context = auditlog_value.get()
    except LookupError:
        return
    if "signal_duid" in context:
        return
    actor = context.get("actor")
    if entry.actor_id is None and isinstance(actor, get_user_model()):
        entry.actor = actor
        entry.actor_email = getattr(actor, "email", None)
    for key, value in context.items():
        if key != "actor" and hasattr(type(entry), key):
            setattr(entry, key, value)
