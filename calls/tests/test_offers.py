"""Waitlist offers: a held slot texted to the best fits; the first YES books it, atomically."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from calls.models import Message, WaitlistOffer
from calls.services.dispatch import dispatch_run
from calls.services.inbound import inbound_receive
from calls.services.offers import waitlist_offer_create
from calls.tests.conftest import ALPHA_NUMBER
from calls.tests.support import at, book, days_ahead, policy, texting_patient
from clinic.models import Appointment, WaitlistEntry
from clinic.services import appointment_cancel, waitlist_add
from clinic.tests.factories import member
from portal.errors import ApplicationError

_sids = iter(range(10**6))


def reply(number: str, body: str):
    return inbound_receive(
        sid=f"SMoffer{next(_sids):027d}", from_=number, to=ALPHA_NUMBER, body=body
    )


@pytest.fixture
def freed(sim, sched):
    """A cancelled visit's slot, and three waiting patients who fit it and take texts."""
    policy(quiet_hours=False, booking_confirmation=False)
    visit = book(sched, at(days_ahead(3), 11))
    appointment_cancel(
        appointment=visit, actor=member(sched.user), reason="Patient moved away"
    )
    waiting = [
        texting_patient(first_name=name, phone=f"+1617555{300 + n:04d}")
        for n, name in enumerate(["Ann", "Bob", "Cy"])
    ]
    for patient in waiting:
        waitlist_add(
            patient=patient, appointment_type=sched.visit, actor=member(sched.user)
        )
    waitlist_add(
        patient=texting_patient(first_name="Dee", sms_consent=False),
        appointment_type=sched.visit,
        actor=member(sched.user),
    )
    return sched, visit, waiting


def offer_sent(desk, sched, visit) -> WaitlistOffer:
    offer = waitlist_offer_create(
        actor=desk, provider=sched.doc, appointment_type=sched.visit, start=visit.start
    )
    dispatch_run(budget_seconds=5)  # the offers go out
    return offer


def test_an_offer_texts_the_best_fits_who_take_texts_and_holds_the_slot(freed, desk):
    sched, visit, waiting = freed
    offer = offer_sent(desk, sched, visit)
    texts = Message.objects.filter(purpose="waitlist_offer").order_by("to_number")
    assert [m.to_number for m in texts] == [
        p.phone for p in waiting
    ]  # Dee has no consent
    assert all(m.status == "queued" for m in texts)
    assert "Reply YES by" in texts[0].body
    assert abs(offer.hold_until - (timezone.now() + timedelta(minutes=30))) < timedelta(
        minutes=1
    )
    # Held: nobody else books it meanwhile.
    with pytest.raises(ApplicationError) as held:
        book(sched, visit.start, patient=texting_patient(first_name="Eve"))
    assert (
        held.value.status == 409
        and "held for patients on the waitlist" in held.value.message
    )


def test_the_first_yes_gets_the_slot_and_the_others_are_told_it_is_taken(freed, desk):
    sched, visit, (ann, bob, cy) = freed
    offer = offer_sent(desk, sched, visit)
    assert reply(bob.phone, "YES").action == "offer_booked"
    booked = Appointment.objects.get(patient=bob, start=visit.start)
    assert (booked.status, booked.source) == ("scheduled", "reminder_reply")
    assert "waitlist offer" in booked.events.get(kind="booked").note
    assert WaitlistEntry.objects.get(patient=bob).status == "booked"
    offer.refresh_from_db()
    assert (offer.status, offer.appointment) == ("booked", booked)
    assert reply(ann.phone, "yes").action == "offer_missed"
    assert reply(bob.phone, "yes").action == "offer_already_answered"
    assert (
        Appointment.objects.filter(start=visit.start, status="scheduled").count() == 1
    )
    told = {m.to_number: m.body for m in Message.objects.filter(purpose="auto_reply")}
    assert told[bob.phone].startswith("You are booked: Dr. Ada Able")
    assert told[ann.phone].startswith("Sorry, the visit on") and told[
        cy.phone
    ].startswith("Sorry, the visit on")


def test_no_declines_and_keeps_the_offer_open(freed, desk):
    sched, visit, (ann, *_rest) = freed
    offer = offer_sent(desk, sched, visit)
    assert reply(ann.phone, "no").action == "offer_declined"
    offer.refresh_from_db()
    assert offer.status == "open"
    assert not Appointment.objects.filter(patient=ann).exists()


def test_a_yes_after_the_hold_is_too_late(freed, desk):
    sched, visit, (ann, *_rest) = freed
    offer = offer_sent(desk, sched, visit)
    WaitlistOffer.objects.filter(pk=offer.pk).update(
        hold_until=timezone.now() - timedelta(seconds=1)
    )
    assert reply(ann.phone, "YES").action == "offer_missed"
    assert not Appointment.objects.filter(patient=ann).exists()
    from calls.services.offers import offers_expire

    assert offers_expire() == 1
    book(
        sched, visit.start, patient=texting_patient(first_name="Eve")
    )  # no longer held


def test_a_slot_offered_already_is_not_offered_twice(freed, desk):
    sched, visit, _ = freed
    offer_sent(desk, sched, visit)
    with pytest.raises(ApplicationError) as twice:
        waitlist_offer_create(
            actor=desk,
            provider=sched.doc,
            appointment_type=sched.visit,
            start=visit.start,
        )
    assert twice.value.status == 409


def test_billing_staff_cannot_offer(freed, billing_member):
    sched, visit, _ = freed
    with pytest.raises(ApplicationError) as refused:
        waitlist_offer_create(
            actor=billing_member,
            provider=sched.doc,
            appointment_type=sched.visit,
            start=visit.start,
        )
    assert refused.value.status == 403


def test_the_clinic_can_let_the_system_offer_freed_slots(
    sim, sched, eager_celery, django_capture_on_commit_callbacks
):
    policy(quiet_hours=False, booking_confirmation=False, waitlist_auto_offer=True)
    waitlist_add(
        patient=texting_patient(first_name="Ann", phone="+16175550400"),
        appointment_type=sched.visit,
        actor=member(sched.user),
    )
    visit = book(sched, at(days_ahead(3), 11))
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(
            appointment=visit, actor=member(sched.user), reason="Called to cancel"
        )
    offer = WaitlistOffer.objects.get()
    assert (offer.provider, offer.start, offer.created_by) == (
        sched.doc,
        visit.start,
        "System: waitlist, slot freed by a cancellation",
    )


def test_two_yeses_at_the_same_moment_book_the_slot_once(sim, committed, settings):
    """Two patients answer at once, each on its own connection: one booking, one 'taken'."""
    from calls.tests.test_worker import schedule
    from portal.models import Membership

    policy(quiet_hours=False, booking_confirmation=False)
    doc, visit_type, (ann, bob) = schedule(committed, patients=2)
    start = at(days_ahead(3), 11)
    for patient in (ann, bob):
        waitlist_add(patient=patient, appointment_type=visit_type, actor=member(None))
    desk = Membership.objects.filter(clinic__slug="alpha", role="front_desk").first()
    waitlist_offer_create(
        actor=desk, provider=doc, appointment_type=visit_type, start=start
    )
    dispatch_run(budget_seconds=5)
    tenant = connection.tenant
    barrier = threading.Barrier(2)
    actions: dict[str, str] = {}

    def answer(patient) -> None:
        connection.set_tenant(tenant)
        try:
            barrier.wait()
            actions[patient.first_name] = reply(patient.phone, "YES").action
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(p,)) for p in (ann, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(actions.values()) == ["offer_booked", "offer_missed"]
    assert (
        Appointment.objects.filter(
            provider=doc, start=start, status="scheduled"
        ).count()
        == 1
    )
