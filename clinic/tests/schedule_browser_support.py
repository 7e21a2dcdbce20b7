"""The committed week the schedule browser test works on, and its clean-up.

Made outside any test transaction (the uvicorn server reads it from its own
connection) and removed again, exactly, when the test ends.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Q

PASSWORD = "browser-test-password-2"
NY = ZoneInfo("America/New_York")  # alpha's timezone (conftest)

PROVIDERS = [
    # name, credentials, specialty, colour, weekdays worked, hours
    ("Dr. Maya Patel", "MD", "Family medicine", "#2563eb", range(7), (8, 18)),
    ("Dr. Samuel Okafor", "MD", "Internal medicine", "#0d9488", range(5), (8, 17)),
    ("Dr. Lena Fischer", "DO", "Pediatrics", "#db2777", range(5), (9, 17)),
    ("Dr. Tomás Rivera", "MD", "Sports medicine", "#ea580c", (0, 1, 2, 3, 5), (10, 18)),
    ("Hannah Cho", "NP", "Women's health", "#7c3aed", (0, 2, 3, 4), (8, 16)),
    ("Priya Shah", "RN", "Nurse clinic", "#65a30d", range(6), (8, 14)),
]
TYPES = [
    # name, minutes, colour
    ("New patient visit", 45, "#7c3aed"),
    ("Follow-up", 30, "#0ea5e9"),
    ("Annual physical", 60, "#16a34a"),
    ("Vaccination", 15, "#f59e0b"),
    ("Telehealth", 30, "#db2777"),
]
FIRST = """Olivia Liam Emma Noah Ava Elijah Sophia James Isabella Lucas Mia Mateo Amelia
Ethan Harper Aiden Evelyn Levi Luna Sebastian Chloe Henry Aria Jack Nora Zoe""".split()
LAST = """Nguyen Garcia Johnson Kowalski Brennan Okonkwo Lindqvist Moreau Haddad Sato
Romero Fitzgerald Novak Abara Castillo Whitaker Iverson Delgado Marsh Petrov Quinn
Albright Tanaka Schultz""".split()
BOOK_PATIENT = ("Quintessa", "Wolfenden")
LIVE_PATIENT = ("Ivo", "Pemberton")
ARRIVING_PATIENT = ("Bartholomew", "Ashdown")


def _local(day: date, minutes: int) -> datetime:
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=NY)


@pytest.fixture
def clinic_week(django_db_setup, django_db_blocker):
    """A desk user and a fortnight of schedule in alpha, committed, then removed."""
    from auditlog.context import disable_auditlog
    from django_tenants.utils import schema_context

    from clinic.models import (
        Appointment,
        AppointmentEvent,
        AppointmentType,
        AuditEntry,
        AvailabilityBlock,
        Location,
        Patient,
        Provider,
        WaitlistEntry,
    )
    from portal.models import Clinic, Role
    from portal.services import membership_grant, user_create

    rng = random.Random(20250310)
    tag = uuid4().hex[:8]
    now = datetime.now(NY)
    today = now.date()
    tomorrow = today + timedelta(days=1)
    made: dict = {"types": [], "location": None}
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        alpha = Clinic.objects.get(slug="alpha")
        user = user_create(
            email=f"browser-{tag}@alpha.test",
            password=PASSWORD,
            full_name="Jordan Avery",
        )
        membership_grant(user=user, clinic=alpha, role=Role.FRONT_DESK)
        with schema_context(alpha.schema_name), disable_auditlog():
            connection.set_tenant(alpha)
            made["audit_from"] = (
                AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
                or 0
            )
            location, created = Location.objects.get_or_create(
                name="Riverside Clinic", defaults={"address": "12 River Road"}
            )
            made["location"] = location if created else None
            providers = []
            for name, credentials, specialty, colour, weekdays, (
                start,
                end,
            ) in PROVIDERS:
                provider = Provider.objects.create(
                    name=name,
                    credentials=credentials,
                    specialty=specialty,
                    colour=colour,
                )
                AvailabilityBlock.objects.bulk_create(
                    AvailabilityBlock(
                        provider=provider,
                        location=location,
                        weekday=d,
                        start_time=time(start),
                        end_time=time(end),
                    )
                    for d in weekdays
                )
                provider.hours = {d: (start * 60, end * 60) for d in weekdays}
                providers.append(provider)
            types = []
            for name, minutes, colour in TYPES:
                kind, created = AppointmentType.objects.get_or_create(
                    name=name, defaults={"duration_minutes": minutes, "colour": colour}
                )
                if created:
                    made["types"].append(kind)
                kind.providers.add(*providers)
                types.append(kind)
            names = [(first, last) for first in FIRST for last in LAST]
            rng.shuffle(names)
            patients = Patient.objects.bulk_create(
                Patient(
                    first_name=first,
                    last_name=last,
                    date_of_birth=date(
                        1940 + rng.randrange(70),
                        rng.randrange(1, 13),
                        rng.randrange(1, 28),
                    ),
                    phone=f"+1415555{i:04d}",
                )
                for i, (first, last) in enumerate(
                    names[:90] + [BOOK_PATIENT, LIVE_PATIENT, ARRIVING_PATIENT]
                )
            )
            by_name = {(p.first_name, p.last_name): p for p in patients}
            regulars = patients[:90]

            appointments = []
            monday = min(today, tomorrow) - timedelta(days=today.weekday())
            last_day = max(monday + timedelta(days=13), tomorrow + timedelta(days=7))
            day = monday
            while day <= last_day:
                for index, provider in enumerate(providers):
                    hours = provider.hours.get(day.weekday())
                    if not hours:
                        continue
                    cursor, closing = hours
                    while cursor < closing:
                        # Dr. Patel is booked up tomorrow but for 13:00-14:30.
                        busy = index == 0 and day == tomorrow
                        kind = (
                            types[1]
                            if busy
                            else rng.choices(types, weights=[2, 6, 2, 2, 2])[0]
                        )
                        length = kind.duration_minutes
                        start, end = (
                            _local(day, cursor),
                            _local(day, cursor) + timedelta(minutes=length),
                        )
                        keep_free = (
                            busy and cursor + length > 13 * 60 and cursor < 14 * 60 + 30
                        )
                        if (
                            cursor + length > closing
                            or keep_free
                            or (not busy and rng.random() < 0.28)
                        ):
                            cursor += 15
                            continue
                        if busy:
                            status = rng.choice(["scheduled", "confirmed"])
                        elif end <= now:
                            status = rng.choices(
                                ["completed", "no_show", "cancelled"], [88, 6, 6]
                            )[0]
                        elif start <= now:
                            status = "checked_in"
                        else:
                            status = rng.choices(
                                ["scheduled", "confirmed", "cancelled"], [52, 42, 6]
                            )[0]
                        appointments.append(
                            Appointment(
                                patient=rng.choice(regulars),
                                provider=provider,
                                appointment_type=kind,
                                location=location,
                                start=start,
                                end=end,
                                busy_until=end,
                                status=status,
                                reason=rng.choice(
                                    [
                                        "",
                                        "",
                                        "Blood pressure check",
                                        "Cough for two weeks",
                                        "Medication review",
                                        "Lab results",
                                        "Back pain",
                                    ]
                                ),
                                booked_by=user,
                            )
                        )
                        cursor += length
                day += timedelta(days=1)
            # One deliberate overbooking tomorrow, over Dr. Okafor's first visit.
            okafor_first = next(
                (
                    a
                    for a in appointments
                    if a.provider == providers[1]
                    and a.start.date() == tomorrow
                    and a.status != "cancelled"
                ),
                None,
            )
            if okafor_first is not None:
                appointments.append(
                    Appointment(
                        patient=regulars[-1],
                        provider=providers[1],
                        appointment_type=types[3],
                        location=location,
                        start=okafor_first.start,
                        end=okafor_first.start + timedelta(minutes=15),
                        busy_until=okafor_first.start + timedelta(minutes=15),
                        status="scheduled",
                        is_overbooked=True,
                        overbook_reason="urgent",
                        booked_by=user,
                    )
                )
            Appointment.objects.bulk_create(appointments)
            events = []
            for a in appointments:
                events.append(
                    AppointmentEvent(
                        appointment=a, kind="booked", to_status="scheduled", by=user
                    )
                )
                if a.status == "cancelled":
                    events.append(
                        AppointmentEvent(
                            appointment=a,
                            kind="cancelled",
                            from_status="scheduled",
                            to_status="cancelled",
                            old_start=a.start,
                            old_end=a.end,
                            old_provider=a.provider,
                            note="Patient asked to cancel",
                            by=user,
                        )
                    )
            AppointmentEvent.objects.bulk_create(events)
            Appointment.objects.filter(
                status="cancelled", pk__in=[a.pk for a in appointments]
            ).update(cancel_reason="Patient asked to cancel")
            follow_up = types[1]
            for i, (provider, weekdays, earliest, latest) in enumerate(
                [
                    (providers[0], [], None, None),
                    (None, [0, 2, 4], time(8), time(12)),
                    (providers[1], [], None, None),
                    (None, [], time(13), None),
                    (providers[2], [1, 3], None, None),
                ]
            ):
                WaitlistEntry.objects.create(
                    patient=regulars[10 + i],
                    appointment_type=follow_up,
                    provider=provider,
                    weekdays=weekdays,
                    earliest_time=earliest,
                    latest_time=latest,
                    latest_date=today + timedelta(days=30) if i % 2 else None,
                    notes=[
                        "Wants an earlier slot",
                        "Mornings only",
                        "",
                        "After school",
                        "",
                    ][i],
                )
        connection.set_schema_to_public()
    try:
        yield {
            "user": user,
            "clinic": alpha,
            "providers": providers,
            "types": types,
            "patients": by_name,
            "today": today,
            "tomorrow": tomorrow,
            "location": location,
        }
    finally:
        with django_db_blocker.unblock():
            _clean_up(alpha, user, providers, patients, made)


def _clean_up(alpha, user, providers, patients, made) -> None:
    from auditlog.context import disable_auditlog
    from django.contrib.sessions.models import Session
    from django_tenants.utils import schema_context

    from clinic.models import (
        Appointment,
        AppointmentEvent,
        AuditEntry,
        Patient,
        Provider,
        WaitlistEntry,
    )
    from portal.models import SecurityEvent

    connection.set_schema_to_public()
    patient_ids = [p.pk for p in patients]
    provider_ids = [p.pk for p in providers]
    with schema_context(alpha.schema_name), disable_auditlog():
        appointments = Appointment.objects.filter(
            Q(provider_id__in=provider_ids) | Q(patient_id__in=patient_ids)
        )
        AppointmentEvent.objects.filter(
            Q(appointment__in=appointments) | Q(old_provider_id__in=provider_ids)
        ).delete()
        appointments.delete()
        WaitlistEntry.objects.filter(patient_id__in=patient_ids).delete()
        Provider.objects.filter(pk__in=provider_ids).delete()
        for kind in made["types"]:
            kind.delete()
        if made["location"] is not None:
            made["location"].delete()
        Patient.objects.filter(pk__in=patient_ids).delete()
        # Everything the test's requests and services wrote to the trail.
        AuditEntry.objects.filter(id__gt=made["audit_from"]).delete()
    for session in Session.objects.all():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
    SecurityEvent.objects.filter(Q(user=user) | Q(email=user.email)).delete()
    with schema_context(alpha.schema_name):
        user.delete()


def off_the_loop(work):
    """Run ORM code from inside Playwright's sync API, whose event loop Django refuses.

    A thread of its own, with its own connection, closed when done.
    """
    from concurrent.futures import ThreadPoolExecutor

    def run():
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def arriving_visit(week, django_db_blocker):
    """Bartholomew Ashdown's visit with Dr. Patel now (15-minute grid), made directly.

    Made right before the check-in, since patients check in on the day of their
    visit only; a run that reaches midnight waits for the new day first.
    """
    import time as clock

    from django_tenants.utils import schema_context

    from clinic.models import ACTIVE_STATUSES, Appointment, AppointmentEvent

    now = datetime.now(NY)
    to_midnight = (
        datetime.combine(now.date() + timedelta(days=1), time.min, tzinfo=NY) - now
    ).total_seconds()
    if to_midnight < 20:
        clock.sleep(to_midnight + 1)
        now = datetime.now(NY)
    start = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    end = start + timedelta(minutes=30)
    maya = week["providers"][0]
    with django_db_blocker.unblock(), schema_context(week["clinic"].schema_name):
        # Make room in the generated schedule (the test's own rows).
        in_the_way = Appointment.objects.filter(
            provider=maya,
            status__in=ACTIVE_STATUSES,
            start__lt=end,
            busy_until__gt=start,
        )
        AppointmentEvent.objects.filter(appointment__in=in_the_way).delete()
        in_the_way.delete()
        visit = Appointment.objects.create(
            patient=week["patients"][ARRIVING_PATIENT],
            provider=maya,
            appointment_type=week["types"][1],
            location=week["location"],
            start=start,
            end=end,
            busy_until=end,
            status="confirmed",
            reason="Knee pain, follow-up",
            booked_by=week["user"],
        )
        AppointmentEvent.objects.create(
            appointment=visit, kind="booked", to_status="scheduled"
        )
    return visit
