"""Free slots honour hours, exceptions, holidays, visits, buffers, notice and DST."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from clinic.models import AvailabilityException, Holiday
from clinic.selectors import slots_for_provider, slots_for_type
from clinic.services import appointment_book
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    member,
    weekday_hours,
)

NY = ZoneInfo("America/New_York")
# Wednesday 4 March 2026, far from "now" in neither direction for these tests.
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=NY)
DAY = date(2026, 3, 4)


@pytest.fixture
def doctor(in_clinic):
    location = LocationFactory()
    provider = ProviderFactory()
    weekday_hours(provider, location, start=time(9), end=time(12))
    visit = AppointmentTypeFactory(
        duration_minutes=30,
        slot_interval_minutes=30,
        buffer_after_minutes=0,
        offered_by=[provider],
    )
    return provider, visit, location


def local_times(slots):
    return [s.start.astimezone(NY).strftime("%H:%M") for s in slots]


def slots(provider, visit, start=DAY, end=DAY, now=NOW):
    return slots_for_provider(
        provider=provider,
        appointment_type=visit,
        start_date=start,
        end_date=end,
        now=now,
    )


def test_slots_follow_the_grid_inside_working_hours(doctor):
    provider, visit, _ = doctor
    assert local_times(slots(provider, visit)) == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]


def test_booked_visits_and_their_buffers_are_not_offered(doctor, staff_user):
    provider, visit, _ = doctor
    visit.buffer_after_minutes = 15
    visit.save()
    appointment_book(
        patient=PatientFactory(),
        provider=provider,
        appointment_type=visit,
        start=datetime.combine(DAY, time(10), tzinfo=NY),
        actor=member(staff_user),
        at=NOW,
    )
    # 10:00 is taken; 9:30 would run into it (9:30 + 30 + 15 buffer); 10:30 is inside
    # the buffer. A buffer may run past closing time: 11:30 stays.
    assert local_times(slots(provider, visit)) == ["09:00", "11:00", "11:30"]


def test_time_off_holidays_and_extra_hours_shape_the_slots(doctor):
    provider, visit, location = doctor
    AvailabilityException.objects.create(
        provider=provider,
        kind="time_off",
        date=DAY,
        start_time=time(10),
        end_time=time(11),
    )
    assert local_times(slots(provider, visit)) == ["09:00", "09:30", "11:00", "11:30"]
    AvailabilityException.objects.create(
        provider=provider,
        kind="extra_hours",
        date=DAY,
        start_time=time(17),
        end_time=time(18),
        location=location,
    )
    assert local_times(slots(provider, visit))[-2:] == ["17:00", "17:30"]
    Holiday.objects.create(date=DAY, name="Closed")
    assert slots(provider, visit) == []
    AvailabilityException.objects.create(
        provider=provider, kind="time_off", date=DAY + timedelta(days=1)
    )
    assert (
        slots(
            provider, visit, start=DAY + timedelta(days=1), end=DAY + timedelta(days=1)
        )
        == []
    )


def test_minimum_notice_hides_slots_too_soon(doctor):
    provider, visit, _ = doctor
    now = datetime.combine(DAY, time(9, 10), tzinfo=NY)
    tenant = connection.tenant
    original = tenant.booking_min_notice_minutes
    tenant.booking_min_notice_minutes = 60
    try:
        assert local_times(slots(provider, visit, now=now))[0] == "10:30"
        tenant.booking_min_notice_minutes = 0
        assert local_times(slots(provider, visit, now=now))[0] == "09:30"
    finally:
        tenant.booking_min_notice_minutes = original


def test_a_week_across_the_clock_change_keeps_wall_clock_slots(doctor):
    provider, visit, _ = doctor
    # US clocks go forward on Sunday 8 March 2026.
    week = slots(provider, visit, start=date(2026, 3, 5), end=date(2026, 3, 11))
    by_day = {}
    for slot in week:
        by_day.setdefault(slot.start.astimezone(NY).date(), []).append(slot)
    assert len(by_day) == 7
    for day_slots in by_day.values():
        assert local_times(day_slots)[0] == "09:00"
    before = by_day[date(2026, 3, 7)][0].start.astimezone(NY)
    after = by_day[date(2026, 3, 9)][0].start.astimezone(NY)
    assert before.utcoffset() == timedelta(hours=-5) and after.utcoffset() == timedelta(
        hours=-4
    )
    assert (
        before.astimezone(ZoneInfo("UTC")).hour,
        after.astimezone(ZoneInfo("UTC")).hour,
    ) == (14, 13)


def test_the_night_the_clock_skips_no_slot_is_invented(in_clinic):
    location = LocationFactory()
    provider = ProviderFactory()
    weekday_hours(provider, location, start=time(1), end=time(4))
    visit = AppointmentTypeFactory(
        duration_minutes=30, slot_interval_minutes=30, offered_by=[provider]
    )
    times = local_times(
        slots(provider, visit, start=date(2026, 3, 8), end=date(2026, 3, 8))
    )
    assert "02:00" not in times and "02:30" not in times
    assert times[0] == "01:00" and "03:00" in times


def test_slots_across_providers_of_a_type(doctor):
    provider, visit, location = doctor
    other = ProviderFactory()
    weekday_hours(other, location, start=time(14), end=time(15))
    visit.providers.add(other)
    inactive = ProviderFactory(is_active=False)
    weekday_hours(inactive, location)
    visit.providers.add(inactive)
    found = slots_for_type(
        appointment_type=visit, start_date=DAY, end_date=DAY, now=NOW
    )
    assert {s.provider_id for s in found} == {provider.pk, other.pk}
    assert local_times([s for s in found if s.provider_id == other.pk]) == [
        "14:00",
        "14:30",
    ]


def test_a_provider_who_does_not_offer_the_type_has_no_slots(doctor):
    _, visit, location = doctor
    stranger = ProviderFactory()
    weekday_hours(stranger, location)
    assert slots(stranger, visit) == []
