"""Turning database refusals into the answers services give."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction


def constraint_message(model: type[models.Model], name: str) -> str | None:
    for constraint in model._meta.constraints:
        if constraint.name == name:
            return str(constraint.violation_error_message)
    return None


@contextmanager
def refused_by_database(
    model: type[models.Model], field: str = "__all__"
) -> Iterator[None]:
    """Run a write in a savepoint; a violated constraint becomes a field error (400)."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        diag = getattr(exc.__cause__, "diag", None)
        name = getattr(diag, "constraint_name", "") or ""
        message = constraint_message(model, name)
        if message is None:
            raise
        raise ValidationError({field: [message]}) from exc
