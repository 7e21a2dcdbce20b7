"""The schedule benchmark's clinic: 50 providers at two sites, ten visit types, ~20k
patients and a year of appointments (~150k), seeded with COPY once and reused.

Seeding is not what the benchmark measures. Appointments are laid out on each
provider's working windows (clinic.selectors.availability.working_windows, so holidays and
time off are honoured) and on each type's grid, never overlapping, so the
exclusion constraints accept every row.
"""

from __future__ import annotations

import io
import random
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from bench._common import FIRST, LAST
from clinic.clock import clinic_tz
from clinic.demo.data import us_holidays
from clinic.models import (
    Appointment,
    AppointmentType,
    AvailabilityBlock,
    AvailabilityException,
    Holiday,
    Location,
    Patient,
    Provider,
    Room,
    Workflow,
)
from clinic.selectors.availability import working_windows
from portal.models import Clinic, Role, User
from portal.services import (
    clinic_ensure_public,
    clinic_ensure_template,
    clinic_provision,
    membership_grant,
)

SLUG = "bench-schedule"
TIMEZONE = "America/New_York"
ADMIN_EMAIL = "bench-admin@bench.test"
PASSWORD = "bench-password-0123"
PROVIDERS = 50
DAYS_BACK = DAYS_AHEAD = 182
# name: (minutes, grid, buffer after, share of providers offering it, booking weight)
TYPES = {
    "Follow-up visit": (20, 10, 0, 1.0, 8),
    "New patient visit": (45, 15, 0, 0.8, 3),
    "Annual physical": (40, 20, 0, 0.6, 3),
    "Telehealth check-in": (15, 15, 0, 0.7, 3),
    "Sick visit": (20, 10, 0, 0.7, 4),
    "Well-child visit": (30, 15, 0, 0.4, 3),
    "Medicare wellness visit": (60, 30, 0, 0.4, 2),
    "Minor procedure": (60, 30, 15, 0.3, 1),
    "Vaccination": (10, 10, 0, 0.9, 2),
    "Consultation": (30, 15, 5, 0.6, 2),
}
SPECIALTIES = [
    "Family medicine",
    "Internal medicine",
    "Pediatrics",
    "Geriatrics",
    "Women's health",
]
CREDENTIALS = ["MD", "MD", "DO", "NP", "PA"]
NULL = r"\N"


def ensure_clinic() -> Clinic:
    """The benchmark's clinic, provisioned like any other when missing."""
    clinic_ensure_public()
    clinic_ensure_template()
    clinic = Clinic.objects.filter(slug=SLUG).first()
    if clinic is None:
        clinic = clinic_provision(
            slug=SLUG,
            name="Schedule Benchmark Clinic",
            admin_email=ADMIN_EMAIL,
            admin_password=PASSWORD,
            timezone_name=TIMEZONE,
            password_expiry_days=0,
        )
    membership_grant(
        user=User.objects.get(email=ADMIN_EMAIL), clinic=clinic, role=Role.ADMIN
    )
    return clinic


def is_seeded(clinic: Clinic, now: datetime) -> bool:
    with schema_context(clinic.schema_name):
        last = (
            Appointment.objects.order_by("-start")
            .values_list("start", flat=True)
            .first()
        )
        return (
            Provider.objects.count() == PROVIDERS
            and last is not None
            and last > now + timedelta(days=DAYS_AHEAD - 30)
        )


def seed(clinic: Clinic, *, patients: int, seed: int = 11) -> Clinic:
    """Seed the clinic, or start it over when a previous seed is missing, partial or stale."""
    now = timezone.now()
    if is_seeded(clinic, now):
        with schema_context(clinic.schema_name):
            print(
                f"clinic '{SLUG}' reused: {Appointment.objects.count()} appointments, "
                f"{Patient.objects.count()} patients, {PROVIDERS} providers"
            )
        return clinic
    if _has_rows(clinic):
        print(f"clinic '{SLUG}' is partly seeded or stale; provisioning it again")
        connection.set_schema_to_public()
        with transaction.atomic():
            clinic.delete(force_drop=True)
        clinic = ensure_clinic()
    started = time.perf_counter()
    rng = random.Random(seed)
    with schema_context(clinic.schema_name):
        connection.set_tenant(clinic)
        with transaction.atomic():
            _seed_patients(rng, patients)
            providers, types = _seed_setup(rng, now)
            count = _seed_appointments(rng, now, providers, types)
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    connection.set_schema_to_public()
    print(
        f"seeded {patients} patients, {PROVIDERS} providers and {count} appointments "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return clinic


def _has_rows(clinic: Clinic) -> bool:
    with schema_context(clinic.schema_name):
        return Provider.objects.exists() or Patient.objects.exists()


def _copy(sql: str, buf: io.StringIO) -> None:
    with connection.cursor() as cur:
        with cur.cursor.copy(sql) as copy:
            copy.write(buf.getvalue())


def _seed_patients(rng: random.Random, target: int) -> None:
    workflow_id = Workflow.objects.get(is_default=True).pk
    buf = io.StringIO()
    today = date.today()
    stamp = "2026-01-01T00:00:00+00:00"
    for n in range(target):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        dob = today - timedelta(days=rng.randint(0, 95 * 365))
        buf.write(
            f"{first}\t{last}\t{dob.isoformat()}\tunknown\t+1415555{n % 10000:04d}\t"
            f"{first.lower()}.{last.lower()}{n}@example.org\t{n} Main St\ten\tt\tf\tactive\t"
            f"{workflow_id}\t{{}}\t{stamp}\t{stamp}\n"
        )
    _copy(
        "COPY clinic_patient (first_name, last_name, date_of_birth, sex, phone, email, address,"
        " preferred_language, sms_consent, voice_consent, status, workflow_id, fields,"
        " created_at, updated_at) FROM STDIN",
        buf,
    )


def _seed_setup(
    rng: random.Random, now: datetime
) -> tuple[list[tuple[Provider, int, list]], dict]:
    """Sites, rooms, providers with Mon-Fri 8-12 and 13-17, types, holidays, time off."""
    sites = [
        Location.objects.create(
            name="North campus", address="100 North Ave\nSpringfield, IL 62701"
        ),
        Location.objects.create(
            name="South campus", address="900 South St\nSpringfield, IL 62704"
        ),
    ]
    types = {
        name: AppointmentType.objects.create(
            name=name,
            duration_minutes=d,
            slot_interval_minutes=g,
            buffer_after_minutes=b,
        )
        for name, (d, g, b, _, _) in TYPES.items()
    }
    providers = []
    for n in range(PROVIDERS):
        site = sites[n % 2]
        provider = Provider.objects.create(
            name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            credentials=CREDENTIALS[n % len(CREDENTIALS)],
            specialty=SPECIALTIES[n % len(SPECIALTIES)],
            colour=f"#{rng.randrange(0x1000000):06x}",
        )
        room = Room.objects.create(location=site, name=f"Exam {n // 2 + 1}")
        offered = [name for name, spec in TYPES.items() if rng.random() < spec[3]] or [
            "Follow-up visit"
        ]
        for name in offered:
            types[name].providers.add(provider)
        AvailabilityBlock.objects.bulk_create(
            AvailabilityBlock(
                provider=provider, location=site, weekday=day, start_time=s, end_time=e
            )
            for day in range(5)
            for s, e in ((dtime(8), dtime(12)), (dtime(13), dtime(17)))
        )
        providers.append((provider, room.pk, offered))
    today = timezone.localdate(now)
    for year in range(today.year - 1, today.year + 2):
        Holiday.objects.bulk_create(
            [Holiday(date=d, name=name) for d, name in us_holidays(year)],
            ignore_conflicts=True,
        )
    exceptions = []
    for provider, _, _ in providers:
        for _ in range(
            10
        ):  # two weeks of leave, a day here and there, and some half days
            day = today + timedelta(days=rng.randint(-DAYS_BACK, DAYS_AHEAD))
            half = rng.random() < 0.3
            exceptions.append(
                AvailabilityException(
                    provider=provider,
                    kind=AvailabilityException.Kind.TIME_OFF,
                    date=day,
                    reason="Leave",
                    start_time=dtime(13) if half else None,
                    end_time=dtime(17) if half else None,
                )
            )
    AvailabilityException.objects.bulk_create(exceptions)
    return providers, types


def _seed_appointments(
    rng: random.Random, now: datetime, providers: list, types: dict
) -> int:
    """A year of non-overlapping visits: full in the past, thinning out further ahead."""
    tz = clinic_tz()
    today = now.astimezone(tz).date()
    patient_ids = list(Patient.objects.values_list("pk", flat=True))
    admin_id = User.objects.get(email=ADMIN_EMAIL).pk
    windows = working_windows(
        provider_ids=[p.pk for p, _, _ in providers],
        start_date=today - timedelta(days=DAYS_BACK),
        end_date=today + timedelta(days=DAYS_AHEAD),
    )
    buf = io.StringIO()
    count = 0
    for provider, room_id, offered in providers:
        kinds = [types[name] for name in offered]
        weights = [TYPES[name][4] for name in offered]
        for w in windows[provider.pk]:
            ahead = (w.start - now).days
            fill = 0.86 if ahead < 0 else max(0.25, 0.92 - 0.7 * ahead / DAYS_AHEAD)
            day = w.start.astimezone(tz).date()
            midnight = datetime.combine(day, dtime.min, tzinfo=tz)
            cursor = w.start
            while True:
                kind = rng.choices(kinds, weights)[0]
                local = cursor.astimezone(tz)
                minutes = local.hour * 60 + local.minute
                minutes += -minutes % kind.slot_interval_minutes
                start = midnight + timedelta(minutes=minutes)
                end = start + timedelta(minutes=kind.duration_minutes)
                if end > w.end:
                    break
                cursor = end
                if rng.random() > fill:
                    continue
                busy_until = end + timedelta(minutes=kind.buffer_after_minutes)
                cursor = busy_until
                roll = rng.random()
                cancelled_at = NULL
                if end <= now:
                    status = (
                        "cancelled"
                        if roll < 0.1
                        else "no_show"
                        if roll < 0.15
                        else "completed"
                    )
                elif start <= now:
                    status = "checked_in"
                else:
                    soon = (start - now).days < 3
                    confirmed = 0.74 if soon else 0.34
                    status = (
                        "cancelled"
                        if roll < 0.04
                        else "confirmed"
                        if roll < confirmed
                        else "scheduled"
                    )
                created = min(now, start - timedelta(days=rng.uniform(1, 40)))
                if status == "cancelled":
                    cancelled_at = min(
                        now, start - timedelta(hours=rng.uniform(2, 48))
                    ).isoformat()
                if status == "cancelled":
                    updated = cancelled_at
                else:
                    updated = (end if end <= now else created).isoformat()
                buf.write(
                    f"{start.isoformat()}\t{end.isoformat()}\t{busy_until.isoformat()}\t{status}\t"
                    f"{'partner_api' if roll > 0.85 else 'staff'}\t{kind.name}\t\tf\t\t"
                    f"{'Patient request' if status == 'cancelled' else ''}\t{cancelled_at}\t"
                    f"{created.isoformat()}\t{updated}\t{admin_id}\t"
                    f"{admin_id if status == 'cancelled' else NULL}\t{rng.choice(patient_ids)}\t"
                    f"{kind.pk}\t{w.location_id}\t{provider.pk}\t{room_id}\n"
                )
                count += 1
    _copy(
        'COPY clinic_appointment (start, "end", busy_until, status, source, reason, notes, is_overbooked,'
        " overbook_reason, cancel_reason, cancelled_at, created_at, updated_at, booked_by_id,"
        " cancelled_by_id, patient_id, appointment_type_id, location_id, provider_id, room_id) FROM STDIN",
        buf,
    )
    with connection.cursor() as cur:
        # The history every appointment has: its booking, then the step to its status.
        cur.execute(
            "INSERT INTO clinic_appointmentevent (appointment_id, kind, from_status, to_status, note, at,"
            " by_id) SELECT id, 'booked', '', 'scheduled', '', created_at, booked_by_id"
            " FROM clinic_appointment"
        )
        cur.execute(
            "INSERT INTO clinic_appointmentevent (appointment_id, kind, from_status, to_status, note, at,"
            " by_id, old_start, old_end, old_provider_id)"
            " SELECT id, status, 'scheduled', status, cancel_reason, updated_at, booked_by_id,"
            " CASE WHEN status = 'cancelled' THEN start END, CASE WHEN status = 'cancelled' THEN \"end\" END,"
            " CASE WHEN status = 'cancelled' THEN provider_id END"
            " FROM clinic_appointment WHERE status <> 'scheduled'"
        )
    return count
