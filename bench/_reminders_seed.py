"""The reminders benchmark's clinics, in a database of their own.

Twenty clinics (``bench-sms-01`` .. ``bench-sms-20``) with a provider, a visit
type, 1,000 patients who take texts and 1,000 upcoming visits each, reused from
run to run; each run gives every visit one due reminder. The first clinic also
holds 1,000,000 future reminders (visits in 2099, written with COPY once) for
the claim query's plan. Seeding is not what the benchmark measures.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_context

from calls.models import Conversation, Message, MessageEvent, Reminder, ReminderPolicy
from clinic.models import (
    Appointment,
    AppointmentType,
    AvailabilityBlock,
    Location,
    Patient,
    Provider,
)
from portal.models import Clinic
from portal.services import (
    clinic_ensure_public,
    clinic_ensure_template,
    clinic_provision,
)

CLINICS = 20
PER_CLINIC = 1000
FUTURE_REMINDERS = 1_000_000
FAR = datetime(2099, 1, 4, 9, 0, tzinfo=UTC)  # the 1M future visits start here
PASSWORD = "bench-password-0123"


def migrate() -> None:
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    clinic_ensure_public()
    clinic_ensure_template()
    call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)


def slug(n: int) -> str:
    return f"bench-sms-{n:02d}"


def clinic_number(n: int) -> str:
    return f"+1212555{100 + n:04d}"


def patient_number(i: int) -> str:
    return f"+1617555{i:04d}"


def ensure_clinics() -> list[Clinic]:
    clinics = []
    for n in range(1, CLINICS + 1):
        clinic = Clinic.objects.filter(slug=slug(n)).first()
        if clinic is None:
            clinic = clinic_provision(
                slug=slug(n),
                name=f"Reminders Benchmark {n:02d}",
                admin_email=f"bench-sms-{n:02d}@bench.test",
                admin_password=PASSWORD,
                timezone_name="America/New_York",
                main_phone=clinic_number(n),
            )
        with schema_context(clinic.schema_name):
            connection.set_tenant(clinic)
            _ensure_schedule()
        clinics.append(clinic)
    connection.set_schema_to_public()
    return clinics


def _ensure_schedule() -> None:
    if Patient.objects.count() >= PER_CLINIC:
        return
    location = Location.objects.create(name="Main office")
    doc = Provider.objects.create(name="Dr. Bench Mark", credentials="MD")
    for day in range(7):
        AvailabilityBlock.objects.create(
            provider=doc,
            location=location,
            weekday=day,
            start_time=dtime(0),
            end_time=dtime(23, 45),
        )
    visit = AppointmentType.objects.create(
        name="Check-up", duration_minutes=15, slot_interval_minutes=15
    )
    visit.providers.add(doc)
    patients = Patient.objects.bulk_create(
        Patient(
            first_name=f"Pat{i}",
            last_name="Bench",
            date_of_birth="1980-01-01",
            phone=patient_number(i),
            sms_consent=True,
        )
        for i in range(PER_CLINIC)
    )
    first = datetime(2098, 1, 5, 9, 0, tzinfo=UTC)
    Appointment.objects.bulk_create(
        Appointment(
            patient=p,
            provider=doc,
            appointment_type=visit,
            location=location,
            start=first + timedelta(minutes=15 * i),
            end=first + timedelta(minutes=15 * i + 15),
            busy_until=first + timedelta(minutes=15 * i + 15),
        )
        for i, p in enumerate(patients)
    )
    # Any hour, generous caps: the benchmark measures sending, not the policy.
    ReminderPolicy.objects.update_or_create(
        singleton=True,
        defaults={
            "quiet_hours": False,
            "daily_cap": 10,
            "weekly_cap": 30,
            "booking_confirmation": False,
        },
    )


def reset_run(clinics: list[Clinic], now: datetime) -> int:
    """Forget the last run's texts; give each visit one reminder due now."""
    count = 0
    for clinic in clinics:
        with schema_context(clinic.schema_name):
            MessageEvent.objects.all().delete()
            Message.objects.all().delete()
            Conversation.objects.all().delete()
            Reminder.objects.filter(visit_start__lt=FAR).delete()
            made = Reminder.objects.bulk_create(
                Reminder(
                    appointment_id=a,
                    kind="reminder",
                    offset_minutes=1440,
                    visit_start=start,
                    due_at=now - timedelta(seconds=30),
                )
                for a, start in Appointment.objects.values_list("pk", "start")
            )
            count += len(made)
    connection.set_schema_to_public()
    return count


def ensure_future_reminders(clinic: Clinic) -> int:
    """1,000,000 planned reminders due in 2099 (COPY once), spread over the clinic's visits."""
    with schema_context(clinic.schema_name):
        have = Reminder.objects.filter(visit_start__gte=FAR).count()
        if have >= FUTURE_REMINDERS:
            return have
        ids = list(Appointment.objects.values_list("pk", flat=True))
        started = time.monotonic()
        stamp = datetime.now(UTC).isoformat()
        with connection.cursor() as cursor:
            with cursor.copy(
                "COPY calls_reminder (appointment_id, kind, offset_minutes, channel, visit_start, due_at, "
                "status, reason, detail, reply_outcome, created_at, updated_at) FROM STDIN"
            ) as copy:
                for i in range(have, FUTURE_REMINDERS):
                    visit = FAR + timedelta(minutes=i)
                    copy.write_row(
                        (
                            ids[i % len(ids)],
                            "reminder",
                            1440,
                            "sms",
                            visit.isoformat(),
                            (visit - timedelta(days=1)).isoformat(),
                            "planned",
                            "",
                            "",
                            "",
                            stamp,
                            stamp,
                        )
                    )
            cursor.execute("ANALYZE calls_reminder")
        print(
            f"  wrote {FUTURE_REMINDERS - have:,} future reminders in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        return FUTURE_REMINDERS
