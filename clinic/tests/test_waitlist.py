from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from clinic.actors import SYSTEM
from clinic.models import WaitlistEntry
from clinic.selectors import freed_slots, waitlist_matches
from clinic.services import (
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
    waitlist_add,
    waitlist_book,
)
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    member,
    weekday_hours,
)
from portal.errors import ApplicationError

NY = ZoneInfo("America/New_York")


def day_at(days: int, hour: int) -> datetime:
    return datetime.combine(
        datetime.now(NY).date() + timedelta(days=days), time(hour), tzinfo=NY
    )


@pytest.fixture
def schedule(in_clinic, staff_user):
    location = LocationFactory()
    provider, other = ProviderFactory(), ProviderFactory()
    for p in (provider, other):
        weekday_hours(p, location)
    visit = AppointmentTypeFactory(offered_by=[provider, other])
    return provider, other, visit, staff_user


def test_a_cancellation_lists_the_waiting_patients_that_fit_best_first(schedule):
    provider, other, visit, user = schedule
    slot = day_at(3, 10)
    appt = appointment_book(
        patient=PatientFactory(),
        provider=provider,
        appointment_type=visit,
        start=slot,
        actor=member(user),
    )
    anyone = waitlist_add(
        patient=PatientFactory(), appointment_type=visit, actor=SYSTEM
    )
    mine = waitlist_add(
        patient=PatientFactory(),
        appointment_type=visit,
        provider=provider,
        weekdays=[slot.weekday()],
        earliest_time=time(9),
        latest_time=time(12),
        actor=SYSTEM,
    )
    waitlist_add(
        patient=PatientFactory(), appointment_type=visit, provider=other, actor=SYSTEM
    )  # wrong provider
    waitlist_add(
        patient=PatientFactory(),
        appointment_type=visit,
        earliest_time=time(14),
        actor=SYSTEM,
    )  # wrong hours
    waitlist_add(
        patient=PatientFactory(),
        appointment_type=visit,
        latest_date=slot.date() - timedelta(days=1),
        actor=SYSTEM,
    )

    appointment_cancel(appointment=appt, actor=member(user), reason="Travel")
    freed = [f for f in freed_slots() if f.provider == provider]
    assert [(f.start, f.end) for f in freed] == [(slot, appt.end)]
    matches = waitlist_matches(
        provider=provider, appointment_type=visit, start=slot, end=appt.end
    )
    assert [m.entry for m in matches] == [mine, anyone]
    assert "asked for this provider" in matches[0].reasons


def test_a_rescheduled_visit_frees_its_old_slot_until_someone_takes_it(schedule):
    provider, _, visit, user = schedule
    appt = appointment_book(
        patient=PatientFactory(),
        provider=provider,
        appointment_type=visit,
        start=day_at(3, 10),
        actor=member(user),
    )
    appointment_reschedule(appointment=appt, start=day_at(4, 10), actor=member(user))
    assert [f.start for f in freed_slots() if f.provider == provider] == [day_at(3, 10)]
    entry = waitlist_add(patient=PatientFactory(), appointment_type=visit, actor=SYSTEM)
    booked = waitlist_book(
        entry=entry, provider=provider, start=day_at(3, 10), actor=member(user)
    )
    entry.refresh_from_db()
    assert (
        entry.status == WaitlistEntry.Status.BOOKED and booked.patient == entry.patient
    )
    assert [f for f in freed_slots() if f.provider == provider] == []
    with pytest.raises(ApplicationError):
        waitlist_book(
            entry=entry, provider=provider, start=day_at(5, 10), actor=member(user)
        )


def test_waitlist_preferences_are_checked(schedule):
    _, _, visit, _ = schedule
    with pytest.raises(ValidationError) as exc:
        waitlist_add(
            patient=PatientFactory(),
            appointment_type=visit,
            weekdays=[9],
            earliest_time=time(12),
            latest_time=time(9),
            actor=SYSTEM,
        )
    assert set(exc.value.message_dict) == {"weekdays", "latest_time"}
    assert WaitlistEntry.objects.count() == 0
