"""Password rules beyond Django's own validators."""

from __future__ import annotations

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError


class PasswordHistoryValidator:
    """Refuse any of the user's last `depth` passwords (the current one included)."""

    def __init__(self, depth: int = 5):
        self.depth = depth

    def validate(self, password: str, user=None) -> None:
        if user is None or not getattr(user, "pk", None):
            return
        recent = list(
            user.password_history.values_list("password", flat=True)[: self.depth]
        )
        if user.password and user.password not in recent:
            recent = [user.password, *recent][: self.depth]
        if any(check_password(password, encoded) for encoded in recent):
            raise ValidationError(
                f"Choose a password you have not used for your last {self.depth} passwords.",
                code="password_reused",
            )

    def get_help_text(self) -> str:
        return f"Your password cannot be one of your last {self.depth} passwords."
