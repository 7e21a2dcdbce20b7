"""The live benchmark's clinic and what its callbacks change.

`bench-live` is provisioned once and reused. Each round gets one outbound text
per callback, sent and waiting for its delivery report, in a conversation of
its own (an unmatched number, no patient), so every callback moves exactly one
text forward and publishes exactly one event naming its conversation. Seeding
is not what the benchmark measures. After the voice branch is merged, seed
call sessions here instead (see the marked section of bench/live.py).
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from calls.models import Conversation, Message, MessageEvent
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
    """`count` texts in status sent, each in its own conversation; their targets."""
    with schema_context(clinic.schema_name):
        MessageEvent.objects.all().delete()
        Message.objects.all().delete()
        Conversation.objects.all().delete()
        now = timezone.now()
        conversations = Conversation.objects.bulk_create(
            Conversation(number=_number(i), last_message_at=now) for i in range(count)
        )
        Message.objects.bulk_create(
            Message(
                conversation=c,
                direction=Message.Direction.OUTBOUND,
                purpose=Message.Purpose.STAFF,
                to_number=c.number,
                from_number=CLINIC_NUMBER,
                body="Benchmark text",
                status=Message.Status.SENT,
                sid=f"SMbenchlive{i:06d}",
                sent_at=now,
            )
            for i, c in enumerate(conversations)
        )
    connection.set_schema_to_public()
    return [
        {"sid": f"SMbenchlive{i:06d}", "to": c.number, "key": c.pk}
        for i, c in enumerate(conversations)
    ]
