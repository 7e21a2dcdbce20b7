"""Schedule benchmark: the staff week view and the slots API against raw psycopg floors,
and booking throughput when clients contend for the same slots.

Run from the repository root with the services up (``make services``):

    .venv/bin/python bench/schedule.py [--requests 200] [--patients 20000]

It works in the development database (DATABASE_URL) inside a clinic of its own
(slug ``bench-schedule``): 50 providers at two sites, ten visit types, ~20k
patients and a year of appointments (~150k), seeded with COPY once and reused
(bench/_schedule_seed.py). Requests go through Django's real WSGI handler in
this process (middleware, tenant routing, session or JWT authentication, views,
DRF), so the figures exclude only the HTTP parsing of a server. Each floor
fetches the rows the answer is computed from through a plain psycopg connection
and encodes them to JSON. The booking run books through
clinic.services.appointment_book from several threads, each on its own
connection, then removes what it booked so runs stay comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench._common import InProcessClient, floor_connection, report, rows_to_json, timed  # noqa: E402
from bench._schedule_seed import ADMIN_EMAIL, PASSWORD, SLUG, ensure_clinic, seed  # noqa: E402
from clinic.calendar.layout import calendar_queryset  # noqa: E402
from clinic.models import (  # noqa: E402
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentType,
    AuditEntry,
    Patient,
)
from clinic.selectors import slots_for_provider, slots_for_type  # noqa: E402
from clinic.services import appointment_book  # noqa: E402
from portal.errors import ApplicationError  # noqa: E402
from portal.models import Clinic, Membership, User  # noqa: E402

HOST = f"{SLUG}.{settings.PORTAL_DOMAIN}"
ONE_TYPE = "Follow-up visit"  # offered by every provider: the per-provider figures
ALL_OF_TYPE = "New patient visit"  # offered by most: the booking-site figure
DOUBLE_BOOKINGS = """
    SELECT count(*) FROM (
        SELECT start, max(busy_until) OVER (
            PARTITION BY provider_id ORDER BY start, id
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_until
        FROM clinic_appointment
        WHERE status = ANY(%s) AND NOT is_overbooked {where}
    ) t WHERE previous_until > start
"""


def session_cookie(user: User) -> str:
    """A signed-in staff session, made the way Django's test client makes one."""
    connection.set_schema_to_public()
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def availability_floor(
    conn, provider_ids: list[int], first, last, tz: ZoneInfo
) -> None:
    """What free slots are computed from: hours, exceptions, holidays, booked time, as JSON."""
    range_start = datetime.combine(first, dtime.min, tzinfo=tz)
    range_end = datetime.combine(last + timedelta(days=1), dtime.min, tzinfo=tz)
    json.dumps(
        {
            "blocks": rows_to_json(
                conn.execute(
                    "SELECT id, provider_id, location_id, weekday, start_time, end_time, valid_from, valid_until"
                    " FROM clinic_availabilityblock WHERE provider_id = ANY(%s)",
                    (provider_ids,),
                )
            ),
            "exceptions": rows_to_json(
                conn.execute(
                    "SELECT provider_id, kind, date, start_time, end_time, location_id FROM"
                    " clinic_availabilityexception WHERE provider_id = ANY(%s) AND date BETWEEN %s AND %s",
                    (provider_ids, first, last),
                )
            ),
            "holidays": rows_to_json(
                conn.execute(
                    "SELECT date, name FROM clinic_holiday WHERE date BETWEEN %s AND %s",
                    (first, last),
                )
            ),
            "busy": rows_to_json(
                conn.execute(
                    "SELECT provider_id, start, busy_until FROM clinic_appointment WHERE provider_id = ANY(%s)"
                    " AND status = ANY(%s) AND start < %s AND busy_until > %s ORDER BY start",
                    (provider_ids, list(ACTIVE_STATUSES), range_end, range_start),
                )
            ),
        }
    )


def measure_reads(clinic: Clinic, requests: int) -> None:
    client = InProcessClient(HOST, "bench/schedule")
    credentials = {"email": ADMIN_EMAIL, "password": PASSWORD}
    code, body = client.request("POST", "/api/v1/auth/token/", body=credentials)
    assert code == 200, body[:300]
    token = json.loads(body)["access"]
    cookie = session_cookie(User.objects.get(email=ADMIN_EMAIL))
    tz = ZoneInfo(clinic.timezone)
    today = timezone.now().astimezone(tz).date()
    first, last = today, today + timedelta(days=27)  # four weeks, both ends included
    monday = today - timedelta(days=today.weekday())
    with schema_context(clinic.schema_name):
        connection.set_tenant(clinic)
        one, many = (
            AppointmentType.objects.get(name=ONE_TYPE),
            AppointmentType.objects.get(name=ALL_OF_TYPE),
        )
        providers = list(one.providers.order_by("pk")[:8])
        many_ids = list(
            many.providers.filter(is_active=True).values_list("pk", flat=True)
        )
        # The floor runs the page's own query (clinic.calendar): the same rows.
        week = calendar_queryset(
            datetime.combine(monday, dtime.min, tzinfo=tz),
            datetime.combine(monday + timedelta(days=7), dtime.min, tzinfo=tz),
            [],
        )
        week_sql, week_rows = week.query.sql_with_params(), week.count()
    connection.set_schema_to_public()
    conn = floor_connection(clinic.schema_name)
    print(
        f"\n{requests} requests each, in-process WSGI; week of {monday} holds {week_rows} appointments;"
        f" slots {first}..{last}, '{ONE_TYPE}' and '{ALL_OF_TYPE}' ({len(many_ids)} providers)\n"
    )

    def page(path: str, **auth):
        def run(i: int) -> None:
            code, body = client.request("GET", path(i), **auth)
            assert code == 200, (code, body[:300])

        return run

    def available(path: str, **auth) -> bool:
        code, body = client.request("GET", path, **auth)
        connection.set_schema_to_public()
        if code != 200:
            print(
                f"{path.split('?')[0]:<52} not measured: answered {code} {body[:120]!r}"
            )
        return code == 200

    # a. The staff week view.
    week_path = f"/schedule/week/?date={today}"
    floor = timed(lambda i: rows_to_json(conn.execute(*week_sql)), requests)
    if available(week_path, cookie=cookie):
        week_ms = timed(page(lambda i: week_path, cookie=cookie), requests)
        report(
            "GET /schedule/week/ (all providers)",
            week_ms,
            floor,
            "budget p95 <= 150 ms",
        )
    else:
        report("  floor: the week's rows via psycopg + JSON", floor)

    # b. Four weeks of one provider's slots (rotating over eight providers).
    def provider_path(i: int) -> str:
        return (
            f"/api/v1/providers/{providers[i % len(providers)].pk}/slots/"
            f"?start={first}&end={last}&appointment_type={one.pk}"
        )

    def provider_floor(i: int) -> None:
        availability_floor(conn, [providers[i % len(providers)].pk], first, last, tz)

    floor = timed(provider_floor, requests)
    if available(provider_path(0), token=token):
        api_ms = timed(page(provider_path, token=token), requests)
        report(
            "GET /api/v1/providers/{id}/slots/ (4 weeks)",
            api_ms,
            floor,
            "budget p95 <= 30 ms",
        )
    with schema_context(clinic.schema_name):
        connection.set_tenant(clinic)
        report(
            "  slots_for_provider() alone, 4 weeks",
            timed(
                lambda i: slots_for_provider(
                    provider=providers[i % len(providers)],
                    appointment_type=one,
                    start_date=first,
                    end_date=last,
                ),
                requests,
            ),
            floor,
        )

    # c. Four weeks of every provider offering a type.
    type_path = f"/api/v1/slots/?start={first}&end={last}&appointment_type={many.pk}"
    floor = timed(
        lambda i: availability_floor(conn, many_ids, first, last, tz), requests
    )
    if available(type_path, token=token):
        report(
            f"GET /api/v1/slots/ ({len(many_ids)} providers, 4 weeks)",
            timed(page(lambda i: type_path, token=token), requests),
            floor,
            "no budget set; ratio only",
        )
    with schema_context(clinic.schema_name):
        connection.set_tenant(clinic)
        selector_ms = timed(
            lambda i: slots_for_type(
                appointment_type=many, start_date=first, end_date=last
            ),
            requests,
        )
        report("  slots_for_type() alone, 4 weeks", selector_ms, floor)
    connection.set_schema_to_public()
    conn.close()


def free_slots_to_race_for(clinic: Clinic, wanted: int):
    """`wanted` free, mutually non-overlapping slots of one provider, three months out."""
    kind = AppointmentType.objects.get(name=ONE_TYPE)
    provider = kind.providers.order_by("pk").first()
    occupied = timedelta(minutes=kind.duration_minutes + kind.buffer_after_minutes)
    day = timezone.now().astimezone(ZoneInfo(clinic.timezone)).date() + timedelta(
        days=90
    )
    chosen, until = [], None
    while len(chosen) < wanted:
        for slot in slots_for_provider(
            provider=provider,
            appointment_type=kind,
            start_date=day,
            end_date=day + timedelta(days=27),
        ):
            if until is None or slot.start >= until:
                chosen.append(slot)
                until = slot.start + occupied
        day += timedelta(days=28)
    return provider, kind, chosen[:wanted]


def measure_booking(clinic: Clinic, clients: int, wanted: int) -> None:
    with schema_context(clinic.schema_name):
        connection.set_tenant(clinic)
        provider, kind, slots = free_slots_to_race_for(clinic, wanted)
        patients = list(Patient.objects.order_by("?")[:wanted])
    connection.set_schema_to_public()
    user = User.objects.get(email=ADMIN_EMAIL)
    actor = Membership.objects.select_related("user").get(user=user, clinic=clinic)
    lock = threading.Lock()
    resolved: set[int] = set()
    booked: list[int] = []
    outcome = {"conflicts": 0, "errors": []}
    barrier = threading.Barrier(clients + 1)

    def client(n: int) -> None:
        rng = random.Random(n)
        connection.set_tenant(clinic)  # this thread's own connection
        try:
            barrier.wait()
            while True:
                with lock:
                    # Like booking sites: everyone wants one of the earliest open slots.
                    open_slots = [i for i in range(wanted) if i not in resolved][:4]
                if not open_slots:
                    return
                i = rng.choice(open_slots)
                try:
                    a = appointment_book(
                        patient=patients[i],
                        provider=provider,
                        appointment_type=kind,
                        start=slots[i].start,
                        actor=actor,
                    )
                    with lock:
                        booked.append(a.pk)
                        resolved.add(i)
                except ApplicationError as exc:
                    with lock:
                        if exc.status == 409:
                            outcome["conflicts"] += 1
                        else:
                            outcome["errors"].append(exc.message)
                        resolved.add(i)
                except ValidationError as exc:
                    with lock:
                        outcome["errors"].append(str(exc))
                        resolved.add(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started

    with schema_context(clinic.schema_name):
        connection.set_tenant(clinic)
        with connection.cursor() as cur:
            active = list(ACTIVE_STATUSES)
            cur.execute(
                DOUBLE_BOOKINGS.format(where="AND provider_id = %s"),
                [active, provider.pk],
            )
            provider_doubles = cur.fetchone()[0]
            cur.execute(DOUBLE_BOOKINGS.format(where=""), [active])
            all_doubles = cur.fetchone()[0]
        per_slot = Appointment.objects.filter(
            provider=provider,
            status__in=ACTIVE_STATUSES,
            start__in=[s.start for s in slots],
        ).count()
        # Leave the clinic as it was, so the next run races for the same free slots. The
        # audit entries go last: deleting the visits writes entries of its own.
        AppointmentEvent.objects.filter(appointment_id__in=booked).delete()
        Appointment.objects.filter(pk__in=booked).delete()
        content_type = ContentType.objects.get_for_model(Appointment)
        AuditEntry.objects.filter(
            content_type=content_type, object_id__in=booked
        ).delete()
    connection.set_schema_to_public()
    name = f"book {wanted} free slots, {clients} concurrent clients"
    print(
        f"{name:<52} {len(booked) / elapsed:7.1f} bookings/s   {elapsed:.2f} s   booked {len(booked)}"
        f"   409 conflicts {outcome['conflicts']}   other errors {len(outcome['errors'])}"
        f"   active visits at those slots {per_slot}   double bookings: provider {provider_doubles},"
        f" clinic {all_doubles}   [no double booking]",
        flush=True,
    )
    if outcome["errors"]:
        print("  first error:", outcome["errors"][0])
    assert provider_doubles == all_doubles == 0 and per_slot == len(booked) == wanted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--slots", type=int, default=200)
    args = parser.parse_args()

    clinic = seed(ensure_clinic(), patients=args.patients)
    connection.set_schema_to_public()
    measure_reads(clinic, args.requests)
    measure_booking(clinic, args.clients, args.slots)


if __name__ == "__main__":
    main()
