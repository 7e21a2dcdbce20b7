"""The project's own error for refusals that are not a field's fault."""

from __future__ import annotations


class ApplicationError(Exception):
    """A rule refused the action; `status` is the HTTP answer the API gives."""

    def __init__(self, message: str, *, status: int = 400, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.extra = extra or {}
