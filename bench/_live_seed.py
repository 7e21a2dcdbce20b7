"""The live benchmark's clinic and what its callbacks change.

`bench-live` is provisioned once and reused. Each round gets one outbound call
session per callback, placed and ringing (no patient: a custom message), so
every status callback moves exactly one call forward and publishes exactly one
event naming it. Seeding is not what the benchmark measures.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from calls.models import CallEvent, CallSession, TranscriptTurn
from portal.models import Clinic
from portal.services import clinic_provision

SLUG = "bench-live"
EMAIL = "bench-live@bench.test"
PASSWORD = "bench-password-0123"
CLINIC_NUMBER = "+12125550199"


def ensure_clinic() -> Clinic:
    clinic = Clinic.objects.filter(slug=SLUG).first()
    if clinic is None:
        clinic = clinic_provision(
            slug=SLUG,
            name="Live Updates Benchmark",
            admin_email=EMAIL,
            admin_password=PASSWORD,
            timezone_name="America/New_York",
            main_phone=CLINIC_NUMBER,
        )
    connection.set_schema_to_public()
    return clinic


def _number(i: int) -> str:
    return f"+1617556{i:04d}"


def reset(clinic: Clinic, count: int) -> list[dict]:
    """`count` call sessions that are dialing; their targets."""
    with schema_context(clinic.schema_name):
        CallEvent.objects.all().delete()
        TranscriptTurn.objects.all().delete()
        CallSession.objects.all().delete()
        now = timezone.now()
        sessions = CallSession.objects.bulk_create(
            CallSession(
                purpose=CallSession.Purpose.CUSTOM,
                direction=CallSession.Direction.OUTBOUND,
                custom_message="Benchmark call",
                status=CallSession.Status.DIALING,
                sid=f"CAbenchlive{i:06d}",
                last_sequence=1,
                from_number=CLINIC_NUMBER,
                to_number=_number(i),
                placed_at=now,
                started_by_label="benchmark",
            )
            for i in range(count)
        )
    connection.set_schema_to_public()
    return [{"sid": s.sid, "to": s.to_number, "key": s.pk} for s in sessions]
