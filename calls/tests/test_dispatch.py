"""The dispatcher: re-checks at send time, caps, languages, errors, and the outbox's reconciliation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import ConsentEvent, Message, Reminder, SmsOptOut
from calls.services.dispatch import dispatch_run
from calls.services.reconcile import outbox_reconcile
from calls.tests.conftest import ALPHA_NUMBER
from calls.tests.support import at, book, days_ahead, outbound, policy, texting_patient
from clinic.models import Patient
from clinic.tests.factories import member

DAY = 24 * 60


@pytest.fixture(autouse=True)
def _any_hour():
    """The dispatcher's own quiet-hours check depends on when the test runs; these tests
    are about other rules (quiet hours have their own tests)."""


def make_due(visit, offset=DAY) -> Reminder:
    """Time passes: the step is due now."""
    reminder = Reminder.objects.get(
        appointment=visit, offset_minutes=offset, kind="reminder"
    )
    Reminder.objects.filter(pk=reminder.pk).update(
        due_at=timezone.now() - timedelta(seconds=1)
    )
    return Reminder.objects.get(pk=reminder.pk)


def sent_bodies(sim) -> list[tuple[str, str]]:
    return [(a["to"], a["body"]) for a in sim.accepted_log()]


@pytest.fixture
def quiet_off(in_clinic):
    return policy(quiet_hours=False, booking_confirmation=False)


def test_a_due_reminder_goes_out_once_with_the_visit_and_how_to_answer(
    sim, sched, quiet_off
):
    visit = book(sched, at(days_ahead(5), 10, 30))
    reminder = make_due(visit)
    report = dispatch_run(budget_seconds=5)
    assert report.sent == 1
    ((to, body),) = sent_bodies(sim)
    assert to == sched.patient.phone
    assert body.startswith(
        "Hi Grace, a reminder of your visit with Dr. Ada Able at Alpha Family Practice"
    )
    assert "10:30 AM, Main office. Reply C to confirm or N to cancel." in body
    reminder.refresh_from_db()
    assert reminder.status == "sent"
    message = reminder.message
    assert (message.status, message.sid, message.from_number) == (
        "queued",
        sim.accepted_log()[0]["sid"],
        ALPHA_NUMBER,
    )
    # Five days ahead: Twilio's longest validity period (10 h).
    assert sim.accepted_log()[0]["validity_period"] == 36000
    assert dispatch_run(budget_seconds=5).sent == 0
    assert len(sim.accepted_log()) == 1


def test_the_validity_period_ends_when_the_visit_starts(sim, sched, quiet_off):
    from calls.tests.support import NY

    soon = timezone.now().astimezone(NY) + timedelta(hours=5)
    start = soon.replace(minute=soon.minute - soon.minute % 15, second=0, microsecond=0)
    policy(
        steps=[{"offset_minutes": 240, "channel": "sms"}],
        quiet_hours=False,
        booking_confirmation=False,
    )
    visit = book(sched, start)
    make_due(visit, offset=240)
    dispatch_run(budget_seconds=5)
    validity = sim.accepted_log()[0]["validity_period"]
    # The carrier drops it rather than deliver it after the visit.
    assert abs(validity - (visit.start - timezone.now()).total_seconds()) < 30


def test_a_spanish_speaking_patient_gets_the_spanish_text(sim, sched, quiet_off):
    maria = texting_patient(
        first_name="María", phone="+16175550102", preferred_language="es"
    )
    visit = book(sched, at(days_ahead(5), 16), patient=maria)
    make_due(visit)
    dispatch_run(budget_seconds=5)
    ((_, body),) = sent_bodies(sim)
    assert body.startswith("Hola María: le recordamos su cita con Dr. Ada Able")
    assert (
        "a las 16:00" in body and "Responda C para confirmar o N para cancelar." in body
    )


def test_a_patient_who_confirmed_is_not_asked_again(sim, sched, quiet_off):
    from clinic.services import appointment_confirm

    visit = book(sched, at(days_ahead(5), 10))
    appointment_confirm(appointment=visit, actor=member(sched.user))
    make_due(visit)
    dispatch_run(budget_seconds=5)
    ((_, body),) = sent_bodies(sim)
    assert body.endswith("Reply N to cancel.")
    assert "confirm" not in body


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sms_consent": False}, "no_consent"),
        ({"phone": ""}, "no_phone"),
    ],
)
def test_consent_is_checked_again_when_sending(sim, sched, quiet_off, change, reason):
    visit = book(sched, at(days_ahead(5), 10))
    Patient.objects.filter(pk=sched.patient.pk).update(**change)
    reminder = make_due(visit)
    dispatch_run(budget_seconds=5)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.reason) == ("skipped", reason)
    assert sim.accepted_log() == []


def test_an_opted_out_number_gets_nothing(sim, sched, quiet_off):
    visit = book(sched, at(days_ahead(5), 10))
    SmsOptOut.objects.create(
        number=sched.patient.phone, keyword="STOP", opted_out_at=timezone.now()
    )
    reminder = make_due(visit)
    dispatch_run(budget_seconds=5)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.reason) == ("skipped", "opted_out")
    assert sim.accepted_log() == []


def test_a_reminder_for_a_visit_moved_behind_its_back_never_goes_out(
    sim, sched, quiet_off
):
    from clinic.models import Appointment

    visit = book(sched, at(days_ahead(5), 10))
    reminder = make_due(visit)
    # Moved without the service (a restore, a bug elsewhere): the send-time check still holds.
    Appointment.objects.filter(pk=visit.pk).update(
        start=visit.start + timedelta(hours=2),
        end=visit.end + timedelta(hours=2),
        busy_until=visit.busy_until + timedelta(hours=2),
    )
    dispatch_run(budget_seconds=5)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.reason) == ("cancelled", "visit_moved")
    assert sim.accepted_log() == []


def test_the_frequency_cap_allows_one_reminder_a_day_per_number(sim, sched, quiet_off):
    sibling = texting_patient(first_name="Tom", phone=sched.patient.phone)
    first = book(sched, at(days_ahead(5), 10))
    second = book(sched, at(days_ahead(5), 11), patient=sibling)
    make_due(first)
    make_due(second)
    dispatch_run(budget_seconds=5)
    assert len(sim.accepted_log()) == 1
    capped = Reminder.objects.get(appointment=second, offset_minutes=DAY)
    assert (capped.status, capped.reason) == ("skipped", "frequency_cap")
    assert "1 a day" in capped.detail


def test_the_frequency_cap_allows_three_a_week(sim, sched, quiet_off):
    for n in range(3):
        Message.objects.create(
            conversation=_conversation(sched.patient),
            patient=sched.patient,
            direction="outbound",
            purpose="reminder",
            to_number=sched.patient.phone,
            from_number=ALPHA_NUMBER,
            body=f"old {n}",
            status="delivered",
            sid=f"SM{n:032d}",
        )
    Message.objects.update(created_at=timezone.now() - timedelta(days=2))
    visit = book(sched, at(days_ahead(5), 10))
    reminder = make_due(visit)
    dispatch_run(budget_seconds=5)
    reminder.refresh_from_db()
    assert (reminder.reason, reminder.detail) == (
        "frequency_cap",
        "This number already got 3 a week.",
    )


def _conversation(patient):
    from calls.services.common import conversation_for

    return conversation_for(patient=patient, number=patient.phone)


@pytest.mark.parametrize(
    ("number", "code"), [("+15005550001", 21211), ("+15005550009", 21614)]
)
def test_a_permanent_refusal_stops_and_tells_staff_why(
    sim, sched, quiet_off, number, code
):
    Patient.objects.filter(pk=sched.patient.pk).update(phone=number)
    visit = book(sched, at(days_ahead(5), 10))
    reminder = make_due(visit)
    dispatch_run(budget_seconds=5)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.reason) == ("failed", "provider_error")
    assert reminder.detail.startswith(f"{code}: ")
    assert (reminder.message.status, reminder.message.error_code) == ("failed", code)
    assert dispatch_run(budget_seconds=5).sent == 0  # never retried


def test_a_number_the_carrier_reports_opted_out_enters_the_ledger(
    sim, sched, quiet_off
):
    Patient.objects.filter(pk=sched.patient.pk).update(phone="+15005550004")
    visit = book(sched, at(days_ahead(5), 10))
    make_due(visit)
    dispatch_run(budget_seconds=5)
    assert SmsOptOut.objects.filter(number="+15005550004").exists()
    (event,) = ConsentEvent.objects.all()
    assert (event.kind, event.source, event.patient_id) == (
        "opt_out",
        "carrier",
        sched.patient.pk,
    )


def test_a_passing_refusal_is_retried_later_with_backoff(
    sim, sched, quiet_off, settings
):
    visit = book(sched, at(days_ahead(5), 10))
    reminder = make_due(visit)
    settings.TWILIO_AUTH_TOKEN = "rotated-by-mistake"
    dispatch_run(budget_seconds=5)
    message = Message.objects.get(reminder=reminder)
    assert (message.status, message.attempts, message.error_code) == (
        "pending",
        1,
        20003,
    )
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=20)
    settings.TWILIO_AUTH_TOKEN = sim.auth_token
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    dispatch_run(budget_seconds=5)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 2)
    assert len(sim.accepted_log()) == 1


def test_a_row_left_sending_is_adopted_when_the_provider_has_it(
    sim, sched, quiet_off, settings
):
    visit = book(sched, at(days_ahead(5), 10))
    make_due(visit)
    dispatch_run(budget_seconds=5)
    message = outbound()[0]
    sid = message.sid
    # As if the worker died after the provider accepted, before it stored the answer.
    Message.objects.filter(pk=message.pk).update(
        status="sending",
        sid=None,
        queued_at=None,
        sending_started_at=timezone.now()
        - timedelta(seconds=settings.SMS_RECONCILE_AFTER_SECONDS + 1),
    )
    assert outbox_reconcile() == {"adopted": 1, "resent": 0, "unresolved": 0}
    message.refresh_from_db()
    assert (message.sid, message.reconciled_at is not None) == (sid, True)
    assert message.status in ("queued", "sent", "delivered")
    dispatch_run(budget_seconds=5)
    assert len(sim.accepted_log()) == 1


def test_a_row_left_sending_is_sent_again_only_when_the_provider_has_none(
    sim, sched, quiet_off, settings
):
    visit = book(sched, at(days_ahead(5), 10))
    reminder = make_due(visit)
    from calls.services.reminders import reminders_claim_due

    # Committed as "sending" with the claim; the worker dies before calling the provider.
    (claimed,) = reminders_claim_due(limit=10).messages
    assert Message.objects.get(pk=claimed.pk).status == "sending"
    Message.objects.filter(pk=claimed.pk).update(
        sending_started_at=timezone.now()
        - timedelta(seconds=settings.SMS_RECONCILE_AFTER_SECONDS + 1)
    )
    report = dispatch_run(budget_seconds=5)
    assert report.reconciled == {"adopted": 0, "resent": 1, "unresolved": 0}
    assert len(sim.accepted_log()) == 1
    reminder.refresh_from_db()
    assert reminder.status == "sent"


def test_a_row_still_being_sent_is_left_alone(sim, sched, quiet_off):
    visit = book(sched, at(days_ahead(5), 10))
    make_due(visit)
    from calls.services.reminders import reminders_claim_due

    reminders_claim_due(limit=10)  # "sending" just now: its worker may still be talking
    assert outbox_reconcile() == {"adopted": 0, "resent": 0, "unresolved": 0}
    assert sim.accepted_log() == []


def test_quiet_hours_hold_at_send_time_too(sim, sched):
    from calls.policy import clinic_zone

    now_local = timezone.localtime(timezone.now(), clinic_zone())
    # Quiet hours around this very minute: the due reminder waits for their end.
    start = (now_local - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (now_local + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    policy(quiet_start=start, quiet_end=end, booking_confirmation=False)
    visit = book(sched, at(days_ahead(5), 10))
    reminder = make_due(visit)
    dispatch_run(budget_seconds=5)
    reminder.refresh_from_db()
    assert reminder.status == "planned"
    assert reminder.due_at.astimezone(clinic_zone()).time() == end
    assert sim.accepted_log() == []


def test_a_correction_within_the_grace_period_sends_one_confirmation(sim, sched):
    from clinic.services import appointment_reschedule

    policy(quiet_hours=False, booking_grace_minutes=3)
    visit = book(sched, at(days_ahead(5), 10))
    appointment_reschedule(
        appointment=visit, start=at(days_ahead(5), 11), actor=member(sched.user)
    )  # a minute later
    confirmations = Reminder.objects.filter(
        appointment=visit, kind="booking_confirmation"
    )
    assert sorted(confirmations.values_list("status", flat=True)) == [
        "cancelled",
        "planned",
    ]
    Reminder.objects.filter(
        appointment=visit, kind="booking_confirmation", status="planned"
    ).update(
        due_at=timezone.now()  # the grace period passes
    )
    dispatch_run(budget_seconds=5)
    ((to, body),) = sent_bodies(sim)
    assert "11:00 AM" in body and "10:00 AM" not in body
