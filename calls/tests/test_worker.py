"""End to end with a real Celery worker, the web server and the carrier simulator.

- booking -> the reminder is dispatched by the worker -> delivered (signed
  callbacks through the web server) -> the patient texts "C" -> confirmed;
- a worker killed with SIGKILL in the middle of 500 due reminders and started
  again: every reminder reaches the carrier exactly once, judged by the
  simulator's own record of what it accepted.
"""

from __future__ import annotations

import json
import time as clock
from collections import Counter
from datetime import time, timedelta
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from django.db import connection
from django.utils import timezone

from calls.models import Message, Reminder
from calls.tasks import reminders_dispatch_all
from calls.tests.conftest import ALPHA_NUMBER
from calls.tests.live_support import wait_until
from calls.tests.support import at, days_ahead, policy
from clinic.models import Appointment, Patient
from clinic.services import appointment_book
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    member,
    weekday_hours,
)

DAY = 24 * 60


def schedule(made: dict, *, patients: int = 1):
    location = LocationFactory(name="Live office")
    doc = ProviderFactory(name="Dr. Live Test")
    weekday_hours(doc, location, start=time(0), end=time(23, 45))
    visit = AppointmentTypeFactory(
        name="Live check-up", duration_minutes=30, offered_by=[doc]
    )
    made["locations"].append(location)
    made["providers"].append(doc)
    made["types"].append(visit)
    people = [
        PatientFactory(
            first_name=f"Pat{n}",
            last_name="Live",
            phone=f"+1617555{n + 2000:04d}",
            sms_consent=True,
        )
        for n in range(patients)
    ]
    made["patients"].extend(people)
    return doc, visit, people


def sim_post(sim, path: str, **form: str) -> dict:
    request = Request(sim.url + path, data=urlencode(form).encode(), method="POST")
    with urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_a_booked_visit_is_reminded_delivered_and_confirmed_by_a_c_reply(
    live, committed
):
    policy(quiet_hours=False)
    doc, visit_type, (patient,) = schedule(committed)
    live.start_server()
    live.start_worker()
    live.sim.number_register(
        number=ALPHA_NUMBER, url=live.server_url + "/twilio/sms/inbound/"
    )

    visit = appointment_book(
        patient=patient,
        provider=doc,
        appointment_type=visit_type,
        start=at(days_ahead(4), 10, 15),
        actor=member(None),
    )
    reminder = Reminder.objects.get(appointment=visit, offset_minutes=DAY)
    # A day passes: the 24-hour reminder is due.
    Reminder.objects.filter(pk=reminder.pk).update(due_at=timezone.now())
    reminders_dispatch_all.delay()  # what beat does every minute

    message = wait_until(
        lambda: Message.objects.filter(reminder=reminder, status="delivered").first(),
        timeout=30,
        what="the reminder to be delivered (status callbacks through the web server)",
    )
    assert [e.status for e in message.events.all()] == ["queued", "sent", "delivered"]
    (accepted,) = [a for a in live.sim.accepted_log() if a["to"] == patient.phone]
    assert accepted["sid"] == message.sid
    assert "Reply C to confirm" in accepted["body"]

    result = sim_post(
        live.sim, "/_sim/inbound", From=patient.phone, To=ALPHA_NUMBER, Body=" c "
    )
    assert result["webhook_status"] == 200
    visit = wait_until(
        lambda: Appointment.objects.filter(pk=visit.pk, status="confirmed").first(),
        timeout=20,
        what="the visit to be confirmed by the reply",
    )
    event = visit.events.get(kind="confirmed")
    assert event.note == f"Confirmed by patient reply, message {result['sid']}"
    assert event.by is None
    reminder.refresh_from_db()
    assert (reminder.reply.sid, reminder.reply_outcome) == (result["sid"], "confirmed")
    ack = wait_until(
        lambda: [
            a
            for a in live.sim.accepted_log()
            if a["body"].startswith("Thank you, Pat0.")
        ],
        timeout=20,
        what="the confirmation text to reach the carrier",
    )
    assert ack[0]["to"] == patient.phone
    from clinic.models import AuditEntry

    change = AuditEntry.objects.filter(
        object_id=visit.pk,
        content_type__model="appointment",
        action=AuditEntry.Action.UPDATE,
    ).latest("id")
    assert change.actor is None
    assert change.actor_email == f"System: patient reply, message {result['sid']}"


def test_a_worker_killed_in_the_middle_of_500_reminders_sends_each_exactly_once(
    live, committed
):
    policy(quiet_hours=False, booking_confirmation=False)
    doc, visit_type, patients = schedule(committed, patients=500)
    first = at(days_ahead(3), 0)
    now = timezone.now()
    visits = Appointment.objects.bulk_create(
        Appointment(
            patient=p,
            provider=doc,
            appointment_type=visit_type,
            location=committed["locations"][0],
            start=first + timedelta(minutes=30 * n),
            end=first + timedelta(minutes=30 * n + 30),
            busy_until=first + timedelta(minutes=30 * n + 30),
        )
        for n, p in enumerate(patients)
    )
    Reminder.objects.bulk_create(
        Reminder(
            appointment=v,
            kind="reminder",
            offset_minutes=DAY,
            visit_start=v.start,
            due_at=now - timedelta(seconds=1),
        )
        for v in visits
    )
    live.env.update(SMS_DISPATCH_BATCH="50", SMS_SEND_THREADS="8")
    # A slow carrier: it records each text 50 ms before it answers, so the kill
    # lands with texts accepted whose SID the worker never learns.
    live.sim.accept_delay_set(0.05)
    live.start_worker()
    reminders_dispatch_all.delay()

    def mid_flight() -> bool:
        accepted = len(live.sim.accepted_log())
        known = Message.objects.filter(sid__isnull=False).count()
        # In the middle of a batch: some of its texts posted, others not yet.
        return 100 <= accepted < 450 and 10 <= accepted - known <= 40

    wait_until(
        mid_flight,
        timeout=60,
        what="the worker to be half-way, texts in flight",
        every=0.01,
    )
    live.kill_worker()
    at_kill = len(live.sim.accepted_log())
    in_flight = at_kill - Message.objects.filter(sid__isnull=False).count()
    assert 0 < in_flight and at_kill < 500

    live.sim.accept_delay_set(0)
    live.start_worker()

    def all_sent() -> bool:
        reminders_dispatch_all.delay()  # beat's next ticks
        return (
            not Reminder.objects.exclude(status="sent").exists()
            and not Message.objects.filter(status__in=["pending", "sending"]).exists()
        )

    wait_until(all_sent, timeout=120, what="every reminder to be sent", every=2)

    accepted = live.sim.accepted_log()
    per_number = Counter(a["to"] for a in accepted)
    assert len(accepted) == 500
    assert set(per_number) == {p.phone for p in patients}
    assert set(per_number.values()) == {1}
    ours = dict(Message.objects.values_list("sid", "to_number"))
    assert ours == {a["sid"]: a["to"] for a in accepted}
    reconciled = Message.objects.filter(reconciled_at__isnull=False)
    adopted = reconciled.filter(
        attempts=1
    )  # the carrier had it: its SID adopted, not resent
    resent = reconciled.filter(
        attempts=2
    )  # claimed, never posted: sent after the restart
    assert adopted.count() == in_flight
    assert resent.exists()
    assert reconciled.count() == adopted.count() + resent.count()
    assert Reminder.objects.filter(status="sent").count() == 500
    assert Patient.objects.filter(pk__in=[p.pk for p in patients]).count() == 500
    assert connection.schema_name == "c_alpha"


def test_callbacks_duplicated_out_of_order_and_late_leave_each_text_delivered_once(
    live, committed
):
    """The simulator posts each text's callbacks its own way, signed, to the real web server."""
    from calls.services.staff import message_send_staff
    from portal.models import Membership

    policy(quiet_hours=False)
    _, _, patients = schedule(committed, patients=4)
    modes = {
        patients[0].phone: "duplicate",
        patients[1].phone: "out_of_order",
        patients[2].phone: "late",
        patients[3].phone: "normal",
    }
    for number, mode in modes.items():
        sim_post(live.sim, "/_sim/callbacks", Number=number, Mode=mode, Delay="0.5")
    live.start_server()
    live.start_worker()
    desk = (
        Membership.objects.filter(clinic__slug="alpha", role="front_desk")
        .select_related("user")
        .first()
    )
    sent = [
        message_send_staff(actor=desk, patient=p, body=f"Hello {p.first_name}")
        for p in patients
    ]
    reminders_dispatch_all.delay()  # the dispatcher sends what the outbox holds

    def late_reposted() -> bool:
        return (
            sum(
                1
                for d in list(live.sim.deliveries)
                if d.params.get("To") == patients[2].phone and d.status == 204
            )
            >= 5
        )

    wait_until(
        lambda: (
            not Message.objects.filter(pk__in=[m.pk for m in sent])
            .exclude(status="delivered")
            .exists()
        ),
        timeout=40,
        what="every text delivered",
    )
    wait_until(late_reposted, timeout=20, what="the late callbacks to be posted again")
    clock.sleep(0.5)
    for message in Message.objects.filter(pk__in=[m.pk for m in sent]):
        assert message.status == "delivered", (modes[message.to_number], message.status)
        statuses = sorted(message.events.values_list("status", flat=True))
        assert statuses == ["delivered", "queued", "sent"], (
            modes[message.to_number],
            statuses,
        )
    out_of_order = Message.objects.get(to_number=patients[1].phone)
    assert set(
        out_of_order.events.filter(applied=False).values_list("status", flat=True)
    ) <= {"sent", "queued"}
    posted = Counter(
        (d.params["MessageSid"], d.params["MessageStatus"])
        for d in list(live.sim.deliveries)
        if d.params.get("To") == patients[0].phone and d.status == 204
    )
    assert set(posted.values()) == {
        2
    }  # every duplicated callback reached us twice, applied once
