"""The security events clinic admins and platform operators read."""

from __future__ import annotations

from portal.models import Clinic, SecurityEvent, User


def security_event_record(
    *,
    kind: str,
    clinic: Clinic | None,
    user: User | None = None,
    email: str = "",
    ip: str | None = None,
    user_agent: str = "",
) -> SecurityEvent:
    """Record one event; `clinic` None (or the public schema) is a platform event."""
    return SecurityEvent.objects.create(
        kind=kind,
        clinic=clinic if clinic and clinic.schema_name != "public" else None,
        user=user,
        email=(email or (user.email if user else ""))[:254],
        ip=ip or None,
        user_agent=(user_agent or "")[:300],
    )
