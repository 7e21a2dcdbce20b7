"""The demo clinic's schedule: two sites, six providers and their hours, visit types,
six weeks of appointments in every status, and a short waitlist.

Runs inside the demo clinic's schema (provision_demo). Visits are planned on each
provider's working windows and each type's grid, then booked through
clinic.services.appointment_book at the time each was booked (`at`), and what
happened to them (confirmation, check-in, completion, no-show, cancellation,
a move) is made by the lifecycle services at the time it happened
(clinic.demo.history). Everything is fiction; the same seed, day and time give
the same schedule.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, time, timedelta, tzinfo

from django.db import connection, transaction
from django.utils import timezone

from clinic.actors import DEMO, Actor
from clinic.clock import clinic_tz
from clinic.demo.data import (
    DAYS,
    LOCATIONS,
    NO_ROOM,
    PROVIDERS,
    TYPES,
    WEEKS,
    ProviderSpec,
    us_holidays,
)
from clinic.demo.history import (
    DemoVisit,
    between,
    date_rows,
    play_history,
    stamp,
    visit_history,
)
from clinic.models import (
    Appointment,
    AppointmentEvent,
    AppointmentType,
    AvailabilityBlock,
    AvailabilityException,
    Holiday,
    Location,
    Patient,
    Provider,
    Room,
    WaitlistEntry,
)
from clinic.permissions import can_overbook
from clinic.selectors import slots_for_provider
from clinic.selectors.availability import working_windows
from clinic.services import (
    appointment_book,
    appointment_reschedule,
    clinic_settings_update,
    waitlist_add,
)
from portal.models import Membership, User

Status = Appointment.Status


def _hm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@transaction.atomic
def seed_demo_schedule(
    *,
    today: date,
    rng: random.Random,
    patients: list[Patient],
    front_desk: User,
    clinician: User | None = None,
    now: datetime | None = None,
) -> Counter:
    """Set up the clinic's schedule around `today`; returns how many visits per status."""
    tz = clinic_tz()
    if now is None:
        real_now = timezone.now()
        now = (
            real_now
            if real_now.astimezone(tz).date() == today
            else datetime.combine(today, time(11), tz)
        )
    monday = today - timedelta(days=today.weekday())

    locations = [Location.objects.create(name=n, address=a) for n, a, _ in LOCATIONS]
    rooms = {
        (i, name): Room.objects.create(location=loc, name=name)
        for i, (loc, (_, _, names)) in enumerate(zip(locations, LOCATIONS, strict=True))
        for name in names
    }
    types = {
        name: AppointmentType.objects.create(
            name=name,
            duration_minutes=d,
            slot_interval_minutes=g,
            buffer_after_minutes=b,
            colour=c,
            requires_confirmation=confirm,
        )
        for name, (d, g, b, c, confirm, _) in TYPES.items()
    }
    membership = (
        Membership.objects.filter(user=clinician, clinic=connection.tenant).first()
        if clinician
        else None
    )
    desk = _member(front_desk)
    # The demo shows overbooking: the clinic allows it.
    clinic_settings_update(actor=DEMO, allow_overbooking=True)
    providers: list[tuple[Provider, ProviderSpec]] = []
    for spec in PROVIDERS:
        provider = Provider.objects.create(
            name=spec.name,
            credentials=spec.credentials,
            specialty=spec.specialty,
            colour=spec.colour,
            membership=membership if spec.is_clinician_user else None,
        )
        for name in spec.types:
            types[name].providers.add(provider)
        AvailabilityBlock.objects.bulk_create(
            AvailabilityBlock(
                provider=provider,
                location=locations[loc],
                weekday=DAYS.index(d),
                start_time=_hm(span.split("-")[0]),
                end_time=_hm(span.split("-")[1]),
            )
            for letters, loc, spans in spec.hours
            for d in letters
            for span in spans.split()
        )
        providers.append((provider, spec))
    by_name = {p.name: p for p, _ in providers}

    for year in (today.year, today.year + 1):
        Holiday.objects.bulk_create(
            [Holiday(date=d, name=n) for d, n in us_holidays(year)],
            ignore_conflicts=True,
        )
    training = monday + timedelta(weeks=2, days=4)
    if not Holiday.objects.filter(date=training).exists():
        Holiday.objects.create(date=training, name="Staff training day (clinic closed)")
    off = AvailabilityException.Kind.TIME_OFF
    AvailabilityException.objects.bulk_create(
        [
            AvailabilityException(
                provider=by_name["Amara Okafor"],
                kind=off,
                date=monday - timedelta(days=6),
                start_time=time(13),
                end_time=time(17),
                reason="Personal appointment",
            ),
            AvailabilityException(
                provider=by_name["Priya Raman"],
                kind=off,
                date=monday - timedelta(days=10),
                reason="Sick day",
            ),
            AvailabilityException(
                provider=by_name["Daniel Reyes"],
                kind=off,
                date=monday + timedelta(days=9),
                reason="Medical conference",
            ),
            *(
                AvailabilityException(
                    provider=by_name["Sofia Alvarez"],
                    kind=off,
                    reason="Vacation",
                    date=monday + timedelta(weeks=2, days=n),
                )
                for n in range(3)
            ),
            AvailabilityException(
                provider=by_name["Hannah Kim"],
                kind=AvailabilityException.Kind.EXTRA_HOURS,
                date=monday + timedelta(days=11),
                start_time=time(8),
                end_time=time(12),
                location=locations[0],
                reason="Extra clinic hours",
            ),
        ]
    )

    plans = _plan(
        today=today,
        now=now,
        rng=rng,
        tz=tz,
        providers=providers,
        types=types,
        patients=[p for p in patients if p.status == Patient.Status.ACTIVE],
    )
    visits = _book(
        plans, now=now, rng=rng, rooms=rooms, locations=locations, front_desk=desk
    )
    visits += _overbook(visits, now=now, rng=rng, front_desk=desk, clinician=membership)
    play_history(visits, front_desk=desk, clinician=membership)
    date_rows(visits)
    _reschedule(visits, today=today, now=now, rng=rng, front_desk=desk)
    _waitlist(
        today=today, now=now, rng=rng, types=types, by_name=by_name, patients=patients
    )
    return Counter(str(v.appointment.status) for v in visits)


def _member(user: User) -> Actor:
    """The demo's staff act as themselves (their membership here)."""
    found = Membership.objects.filter(user=user, clinic=connection.tenant).first()
    return found or DEMO


def _plan(
    *,
    today: date,
    now: datetime,
    rng: random.Random,
    tz: tzinfo,
    providers: list[tuple[Provider, ProviderSpec]],
    types: dict[str, AppointmentType],
    patients: list[Patient],
) -> list[tuple]:
    """Walk each provider's working windows, booking about 60% of the time on each type's grid."""
    first, last = today - timedelta(weeks=WEEKS), today + timedelta(weeks=WEEKS)
    windows = working_windows(
        provider_ids=[p.pk for p, _ in providers], start_date=first, end_date=last
    )
    adult_age = today - timedelta(days=18 * 365 + 4)
    pools = {
        "child": [p for p in patients if p.date_of_birth > adult_age] or patients,
        "adult": [p for p in patients if p.date_of_birth <= adult_age] or patients,
        "any": patients,
    }
    seen_on: dict[date, set[int]] = {}
    plans = []
    for provider, spec in providers:
        names, weights = list(spec.types), list(spec.types.values())
        for w in windows[provider.pk]:
            day = w.start.astimezone(tz).date()
            # Past weeks were full; further ahead fewer patients have booked yet.
            fill = (
                0.72 if day <= today else 0.78 - 0.38 * (day - today).days / (7 * WEEKS)
            )
            cursor = w.start
            while True:
                kind = types[rng.choices(names, weights)[0]]
                local = cursor.astimezone(tz)
                minutes = (
                    local.hour * 60
                    + local.minute
                    + (1 if local.second or local.microsecond else 0)
                )
                minutes += -minutes % kind.slot_interval_minutes
                # Wall-clock arithmetic: 9:00 stays 9:00 on the day the clocks change.
                start = datetime.combine(day, time.min, tzinfo=tz) + timedelta(
                    minutes=minutes
                )
                length = timedelta(minutes=kind.duration_minutes)
                if start + length > w.end:
                    break
                cursor = start + length
                if rng.random() > fill:
                    continue
                cursor += timedelta(minutes=kind.buffer_after_minutes)
                taken = seen_on.setdefault(day, set())
                patient = rng.choice(pools[spec.patients])
                for _ in range(5):
                    if patient.pk not in taken:
                        break
                    patient = rng.choice(pools[spec.patients])
                taken.add(patient.pk)
                if start <= now:
                    same_day = rng.random() < 0.1
                    # At least the clinic's notice (an hour by default) before the visit.
                    lead_hours = (
                        rng.uniform(1.5, 6) if same_day else rng.uniform(24, 720)
                    )
                    booked_at = start - timedelta(hours=lead_hours)
                else:
                    booked_at = now - timedelta(days=rng.uniform(0, 20))
                booked_at = booked_at.replace(microsecond=0)
                plans.append(
                    (provider, spec, kind, start, w.location_id, patient, booked_at)
                )
    return plans


def _book(
    plans: list[tuple],
    *,
    now: datetime,
    rng: random.Random,
    rooms: dict[tuple[int, str], Room],
    locations: list[Location],
    front_desk: Actor,
) -> list[DemoVisit]:
    """Every planned visit through appointment_book, at the time it was booked."""
    location_by_pk = {loc.pk: (i, loc) for i, loc in enumerate(locations)}
    visits = []
    for provider, spec, kind, start, location_id, patient, booked_at in plans:
        index, location = location_by_pk[location_id]
        appointment = appointment_book(
            patient=patient,
            provider=provider,
            appointment_type=kind,
            location=location,
            room=None if kind.name in NO_ROOM else rooms[(index, spec.rooms[index])],
            reason=rng.choice(TYPES[kind.name][5]),
            source=Appointment.Source.PARTNER_API
            if rng.random() < 0.15
            else Appointment.Source.STAFF,
            start=start,
            actor=front_desk,
            at=booked_at,
        )
        visits.append(
            DemoVisit(
                appointment, booked_at, visit_history(rng, appointment, booked_at, now)
            )
        )
    return visits


def _overbook(
    visits: list[DemoVisit],
    *,
    now: datetime,
    rng: random.Random,
    front_desk: Actor,
    clinician: Membership | None,
) -> list[DemoVisit]:
    """Two deliberate overbookings: an urgent visit fitted in, and a time a patient insisted on."""
    kept = [
        v
        for v in visits
        if v.appointment.appointment_type.name != "Dental cleaning"
        and not (v.history and v.history[-1][0] == AppointmentEvent.Kind.CANCELLED)
    ]
    past = [v for v in kept if now - timedelta(days=7) < v.appointment.end <= now]
    future = [v for v in kept if now + timedelta(days=1) < v.appointment.start]
    picks = []
    if past:
        picks.append(
            (
                rng.choice(past),
                Appointment.OverbookReason.URGENT,
                "Chest tightness, fitted in",
            )
        )
    if future:
        picks.append(
            (
                rng.choice(future[:40]),
                Appointment.OverbookReason.PATIENT_REQUEST,
                "Only free then",
            )
        )
    out = []
    by = clinician if can_overbook(clinician) else DEMO
    for over, reason, note in picks:
        a = over.appointment
        others = [
            v.appointment.patient
            for v in kept
            if v.appointment.patient_id != a.patient_id
        ]
        patient = rng.choice(others)
        booked_at = min(
            a.start - timedelta(hours=2), over.booked_at + timedelta(hours=1), now
        )
        extra = appointment_book(
            patient=patient,
            provider=a.provider,
            appointment_type=a.appointment_type,
            location=a.location,
            start=a.start,
            reason=note,
            overbook=True,
            overbook_reason=reason,
            actor=by,
            at=booked_at,
        )
        out.append(
            DemoVisit(extra, booked_at, visit_history(rng, extra, booked_at, now))
        )
    return out


def _reschedule(
    visits: list[DemoVisit],
    *,
    today: date,
    now: datetime,
    rng: random.Random,
    front_desk: Actor,
) -> None:
    """A few future visits moved later by the front desk; the old time stays in their history."""
    movable = [
        v
        for v in visits
        if v.appointment.status in (Status.SCHEDULED, Status.CONFIRMED)
        and not v.appointment.is_overbooked
        and v.appointment.start > now + timedelta(days=1)
    ]
    for v in rng.sample(movable, min(4, len(movable))):
        a = v.appointment
        local_day = a.start.astimezone(clinic_tz()).date()
        slots = slots_for_provider(
            provider=a.provider,
            appointment_type=a.appointment_type,
            now=now,
            start_date=local_day + timedelta(days=1),
            end_date=today + timedelta(weeks=WEEKS),
        )
        if not slots:
            continue
        last = v.history[-1][1] if v.history else v.booked_at
        at = between(rng, max(last, now - timedelta(days=2)), now)
        start = rng.choice(slots[:20]).start
        v.appointment = appointment_reschedule(
            appointment=a, start=start, actor=front_desk, at=at
        )
        stamp("clinic_appointment", "updated_at", [a.pk], [at])


def _waitlist(
    *,
    today: date,
    now: datetime,
    rng: random.Random,
    types: dict[str, AppointmentType],
    by_name: dict[str, Provider],
    patients: list[Patient],
) -> None:
    active = [p for p in patients if p.status == Patient.Status.ACTIVE]
    wanted = [
        dict(
            appointment_type=types["Follow-up visit"],
            provider=by_name["Amara Okafor"],
            weekdays=[0, 2, 4],
            earliest_time=time(8),
            latest_time=time(12),
            notes="Wants an earlier follow-up, mornings only",
        ),
        dict(
            appointment_type=types["New patient visit"],
            latest_date=today + timedelta(days=14),
            notes="Recently moved to the area; any provider",
        ),
        dict(
            appointment_type=types["Dental cleaning"],
            provider=by_name["Sofia Alvarez"],
            earliest_time=time(15),
            notes="After school",
        ),
        dict(
            appointment_type=types["Annual physical"],
            provider=by_name["Hannah Kim"],
            weekdays=[1, 3],
            notes="Prefers Dr. Kim",
        ),
        dict(
            appointment_type=types["Well-child visit"],
            provider=by_name["Priya Raman"],
            weekdays=[5],
            notes="Parents work weekdays; Saturday mornings",
        ),
    ]
    for n, (spec, patient) in enumerate(
        zip(wanted, rng.sample(active, min(len(wanted), len(active))), strict=False)
    ):
        entry = waitlist_add(patient=patient, actor=DEMO, **spec)
        WaitlistEntry.objects.filter(pk=entry.pk).update(
            created_at=now - timedelta(days=12 - 2 * n, hours=n)
        )
