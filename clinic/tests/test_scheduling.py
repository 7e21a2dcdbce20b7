"""Booking rules and the appointment lifecycle, on the real database."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from clinic.models import (
    Appointment,
    AppointmentEvent,
    AuditEntry,
    AvailabilityException,
    Holiday,
)
from clinic.services import (
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_confirm,
    appointment_no_show,
    appointment_reschedule,
)
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    RoomFactory,
    member,
    weekday_hours,
)
from portal.errors import ApplicationError
from portal.models import Membership

NY = ZoneInfo("America/New_York")


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    day = datetime.now(NY).date() + timedelta(days=1)
    return datetime.combine(day, time(hour, minute), tzinfo=NY)


@pytest.fixture
def setup(in_clinic, staff_user):
    location = LocationFactory()
    provider = ProviderFactory()
    weekday_hours(provider, location)
    visit = AppointmentTypeFactory(
        duration_minutes=30, buffer_after_minutes=10, offered_by=[provider]
    )
    return {
        "location": location,
        "provider": provider,
        "type": visit,
        "patient": PatientFactory(),
        "user": staff_user,
    }


def book(setup, start, **extra):
    args = {
        "patient": setup["patient"],
        "provider": setup["provider"],
        "appointment_type": setup["type"],
        "start": start,
        "actor": member(setup["user"]),
    }
    if "booked_by" in extra:
        extra["actor"] = member(extra.pop("booked_by"))
    return appointment_book(**{**args, **extra})


def test_a_booking_in_working_hours_lands_with_its_end_buffer_and_history(setup):
    appt = book(setup, tomorrow_at(10))
    assert appt.end - appt.start == timedelta(minutes=30)
    assert appt.busy_until - appt.end == timedelta(minutes=10)
    assert appt.location == setup["location"]
    assert list(appt.events.values_list("kind", flat=True)) == ["booked"]
    assert AuditEntry.objects.filter(
        content_type__model="appointment", object_id=appt.pk
    ).exists()


def test_second_booking_of_the_same_slot_is_refused_with_what_it_conflicts_with(setup):
    first = book(setup, tomorrow_at(10))
    with pytest.raises(ApplicationError) as exc:
        book(setup, tomorrow_at(10, 15), patient=PatientFactory())
    assert exc.value.status == 409
    assert exc.value.extra["conflicts"][0]["id"] == first.pk


def test_the_buffer_after_a_visit_is_kept_free(setup):
    book(setup, tomorrow_at(10))
    with pytest.raises(ApplicationError):
        book(setup, tomorrow_at(10, 30), patient=PatientFactory())
    # 10:30 + 10 min buffer: the 10:45 slot is free again.
    assert book(setup, tomorrow_at(10, 45), patient=PatientFactory())


def test_the_database_refuses_an_overlap_even_without_the_service(setup):
    appt = book(setup, tomorrow_at(10))
    clone = Appointment(
        patient=PatientFactory(),
        provider=appt.provider,
        appointment_type=appt.appointment_type,
        location=appt.location,
        start=appt.start,
        end=appt.end,
        busy_until=appt.busy_until,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        clone.save()


def test_a_room_cannot_be_double_booked(setup):
    room = RoomFactory(location=setup["location"])
    other = ProviderFactory()
    weekday_hours(other, setup["location"])
    setup["type"].providers.add(other)
    book(setup, tomorrow_at(10), room=room)
    with pytest.raises(ApplicationError) as exc:
        book(
            setup, tomorrow_at(10), provider=other, room=room, patient=PatientFactory()
        )
    assert exc.value.status == 409
    assert "room" in exc.value.message


@pytest.mark.parametrize(
    "start, field, words",
    [
        (lambda: tomorrow_at(7), "start", "not available"),
        (lambda: tomorrow_at(16, 45), "start", "not available"),
        (lambda: tomorrow_at(10, 5), "start", "every 15 minutes"),
        (lambda: datetime.now(NY) - timedelta(hours=1), "start", "in the past"),
    ],
)
def test_bookings_outside_the_rules_are_refused_with_their_own_message(
    setup, start, field, words
):
    with pytest.raises(ValidationError) as exc:
        book(setup, start())
    assert words in " ".join(exc.value.message_dict[field])
    assert Appointment.objects.count() == 0


def test_time_off_and_holidays_close_the_schedule(setup):
    day = tomorrow_at(10).date()
    AvailabilityException.objects.create(
        provider=setup["provider"],
        kind="time_off",
        date=day,
        start_time=time(9),
        end_time=time(12),
    )
    with pytest.raises(ValidationError):
        book(setup, tomorrow_at(10))
    assert book(setup, tomorrow_at(13))
    Holiday.objects.create(date=day + timedelta(days=1), name="Clinic closed")
    with pytest.raises(ValidationError):
        book(setup, tomorrow_at(13) + timedelta(days=1))


def test_extra_hours_open_the_schedule(setup):
    day = tomorrow_at(10).date()
    AvailabilityException.objects.create(
        provider=setup["provider"],
        kind="extra_hours",
        date=day,
        start_time=time(18),
        end_time=time(20),
        location=setup["location"],
    )
    assert book(setup, tomorrow_at(18, 30))


def test_a_provider_who_does_not_offer_the_type_is_refused(setup):
    stranger = ProviderFactory()
    weekday_hours(stranger, setup["location"])
    with pytest.raises(ValidationError) as exc:
        book(setup, tomorrow_at(10), provider=stranger)
    assert "appointment_type" in exc.value.message_dict


def test_overbooking_needs_the_clinic_setting_the_permission_and_a_reason(
    setup, clinic
):
    book(setup, tomorrow_at(10))
    again = {"patient": PatientFactory(), "overbook": True, "overbook_reason": "urgent"}
    with pytest.raises(ApplicationError, match="does not allow"):
        book(setup, tomorrow_at(10), **again)
    connection.tenant.allow_overbooking = True
    try:
        with pytest.raises(ApplicationError, match="not allowed to overbook"):
            book(setup, tomorrow_at(10), **again)
        Membership.objects.filter(user=setup["user"], clinic=clinic).update(
            can_overbook=True
        )
        with pytest.raises(ValidationError):
            book(setup, tomorrow_at(10), **{**again, "overbook_reason": ""})
        over = book(setup, tomorrow_at(10), **again)
    finally:
        connection.tenant.allow_overbooking = False
    assert over.is_overbooked and over.overbook_reason == "urgent"
    assert "Overbooked" in over.events.get().note


def test_the_lifecycle_moves_forward_only(setup):
    appt = book(setup, tomorrow_at(10))
    appt = appointment_confirm(appointment=appt, actor=member(setup["user"]))
    with pytest.raises(ApplicationError) as exc:
        appointment_confirm(appointment=appt, actor=member(setup["user"]))
    assert exc.value.status == 409 and exc.value.extra["current_status"] == "confirmed"
    with pytest.raises(ApplicationError) as exc:
        appointment_complete(appointment=appt, actor=member(setup["user"]))
    assert exc.value.extra["current_status"] == "confirmed"


ILLEGAL = {
    "scheduled": ["complete"],
    "confirmed": ["confirm", "complete"],
    "checked_in": ["confirm", "check_in", "cancel", "no_show"],
    "completed": ["confirm", "check_in", "complete", "cancel", "no_show"],
    "cancelled": ["confirm", "check_in", "complete", "cancel", "no_show"],
    "no_show": ["confirm", "check_in", "complete", "cancel", "no_show"],
}
MOVES = {
    "confirm": lambda a, u: appointment_confirm(appointment=a, actor=member(u)),
    "check_in": lambda a, u: appointment_check_in(appointment=a, actor=member(u)),
    "complete": lambda a, u: appointment_complete(appointment=a, actor=member(u)),
    "cancel": lambda a, u: appointment_cancel(
        appointment=a, actor=member(u), reason="Patient called"
    ),
    "no_show": lambda a, u: appointment_no_show(
        appointment=a, actor=member(u), at=a.start + timedelta(hours=1)
    ),
}


@pytest.mark.parametrize(
    "status, move", [(s, m) for s, moves in ILLEGAL.items() for m in moves]
)
def test_every_illegal_transition_is_refused_with_the_current_status(
    setup, status, move
):
    appt = book(setup, tomorrow_at(10))
    Appointment.objects.filter(pk=appt.pk).update(status=status)
    appt.refresh_from_db()
    events = AppointmentEvent.objects.count()
    with pytest.raises(ApplicationError) as exc:
        MOVES[move](appt, setup["user"])
    assert exc.value.status == 409
    assert exc.value.extra["current_status"] == status
    appt.refresh_from_db()
    assert appt.status == status and AppointmentEvent.objects.count() == events


def test_check_in_is_on_the_day_and_no_show_after_the_start(setup):
    appt = book(setup, tomorrow_at(10))
    with pytest.raises(ApplicationError, match="day of their appointment"):
        appointment_check_in(appointment=appt, actor=member(setup["user"]))
    with pytest.raises(ApplicationError, match="once the appointment has started"):
        appointment_no_show(appointment=appt, actor=member(setup["user"]))
    appt = appointment_no_show(
        appointment=appt,
        actor=member(setup["user"]),
        at=appt.start + timedelta(minutes=20),
    )
    assert appt.status == "no_show"


def test_cancelling_records_why_who_and_when_and_frees_the_slot(setup):
    appt = book(setup, tomorrow_at(10))
    with pytest.raises(ValidationError):
        appointment_cancel(appointment=appt, actor=member(setup["user"]), reason=" ")
    appt = appointment_cancel(
        appointment=appt, actor=member(setup["user"]), reason="Feeling better"
    )
    assert (appt.status, appt.cancel_reason, appt.cancelled_by) == (
        "cancelled",
        "Feeling better",
        setup["user"],
    )
    assert appt.cancelled_at is not None
    assert book(setup, tomorrow_at(10), patient=PatientFactory())


def test_rescheduling_keeps_the_old_slot_in_the_history(setup):
    appt = appointment_confirm(
        appointment=book(setup, tomorrow_at(10)), actor=member(setup["user"])
    )
    moved = appointment_reschedule(
        appointment=appt, start=tomorrow_at(14), actor=member(setup["user"])
    )
    assert moved.start == tomorrow_at(14) and moved.status == "scheduled"
    event = moved.events.get(kind="rescheduled")
    assert (event.old_start, event.old_provider, event.by) == (
        tomorrow_at(10),
        setup["provider"],
        setup["user"],
    )
    assert book(setup, tomorrow_at(10), patient=PatientFactory())


def test_rescheduling_onto_a_taken_slot_is_a_conflict_and_changes_nothing(setup):
    appt = book(setup, tomorrow_at(10))
    book(setup, tomorrow_at(14), patient=PatientFactory())
    with pytest.raises(ApplicationError) as exc:
        appointment_reschedule(
            appointment=appt, start=tomorrow_at(14), actor=member(setup["user"])
        )
    assert exc.value.status == 409
    appt.refresh_from_db()
    assert appt.start == tomorrow_at(10)


def test_a_reschedule_to_another_provider_checks_their_hours(setup):
    appt = book(setup, tomorrow_at(10))
    other = ProviderFactory()
    setup["type"].providers.add(other)
    with pytest.raises(ValidationError):
        appointment_reschedule(
            appointment=appt,
            start=tomorrow_at(10),
            provider=other,
            actor=member(setup["user"]),
        )
    weekday_hours(other, setup["location"])
    moved = appointment_reschedule(
        appointment=appt,
        start=tomorrow_at(10),
        provider=other,
        actor=member(setup["user"]),
    )
    assert moved.provider == other


def test_billing_staff_cannot_change_the_schedule(setup, clinic):
    from portal.services import membership_grant, user_create

    billing = user_create(email="bills@alpha.test", password="a-long-test-password-1")
    membership_grant(user=billing, clinic=clinic, role="billing")
    with pytest.raises(ApplicationError) as exc:
        book(setup, tomorrow_at(10), booked_by=billing)
    assert exc.value.status == 403
    appt = book(setup, tomorrow_at(10))
    with pytest.raises(ApplicationError):
        appointment_cancel(appointment=appt, actor=member(billing), reason="No")
    with pytest.raises(ApplicationError):
        appointment_reschedule(
            appointment=appt, start=tomorrow_at(11), actor=member(billing)
        )
    appt.refresh_from_db()
    assert (appt.status, appt.start) == ("scheduled", tomorrow_at(10))
