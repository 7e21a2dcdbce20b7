"""Patients' texts: carrier keywords first, then C / N replies to the latest reminder, then the inbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import ConsentEvent, Conversation, Message, Reminder, SmsOptOut
from calls.services.dispatch import dispatch_run
from calls.tests.conftest import ALPHA_NUMBER, post_signed
from calls.tests.support import at, book, days_ahead, policy, texting_patient
from clinic.models import Appointment

INBOUND = "/twilio/sms/inbound/"
DAY = 24 * 60
_sids = iter(range(10**6))


def text(hook_client, clinic, sender: str, body: str) -> Message:
    sid = f"SM{next(_sids):032d}"
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "From": sender,
        "To": ALPHA_NUMBER,
        "Body": body,
        "AccountSid": "AC" + "0" * 32,
    }
    response = post_signed(hook_client, clinic, INBOUND, params)
    assert response.status_code == 200, response.content
    return Message.objects.get(sid=sid)


def replies_to(number: str) -> list[str]:
    return list(
        Message.objects.filter(direction="outbound", to_number=number)
        .exclude(purpose__in=["reminder", "booking_confirmation"])
        .order_by("id")
        .values_list("body", flat=True)
    )


def remind(visit) -> Message:
    """The visit's 24-hour reminder goes out (through the dispatcher and the simulator)."""
    reminder = Reminder.objects.get(
        appointment=visit, offset_minutes=DAY, kind="reminder"
    )
    Reminder.objects.filter(pk=reminder.pk).update(
        due_at=timezone.now() - timedelta(seconds=1)
    )
    dispatch_run(budget_seconds=5)
    return Message.objects.get(reminder=reminder)


@pytest.fixture
def ready(sim, sched):
    policy(quiet_hours=False, booking_confirmation=False, daily_cap=5, weekly_cap=10)
    return sched


def test_c_confirms_the_visit_the_reminder_was_about(hook_client, clinic, ready):
    visit = book(ready, at(days_ahead(4), 9))
    reminder_message = remind(visit)
    reply = text(hook_client, clinic, ready.patient.phone, "C")
    visit.refresh_from_db()
    assert visit.status == "confirmed"
    event = visit.events.get(kind="confirmed")
    assert (event.by, event.note) == (
        None,
        f"Confirmed by patient reply, message {reply.sid}",
    )
    reminder = Reminder.objects.get(pk=reminder_message.reminder_id)
    assert (reminder.reply_id, reminder.reply_outcome) == (reply.pk, "confirmed")
    assert replies_to(ready.patient.phone) == [
        f"Thank you, Grace. Your visit on {_date(visit)} at 9:00 AM is confirmed."
    ]


def _date(visit) -> str:
    from calls.services.common import visit_values

    return visit_values(
        clinic=visit_clinic(), appointment=visit, language="en", ask_to_confirm=False
    )["date"]


def visit_clinic():
    from calls.services.common import current_clinic

    return current_clinic()


@pytest.mark.parametrize("word", ["YES", "y", "1", "Si", "sí", "SÍ!", " c. "])
def test_every_confirming_word_confirms(hook_client, clinic, ready, word):
    visit = book(ready, at(days_ahead(4), 9))
    remind(visit)
    text(hook_client, clinic, ready.patient.phone, word)
    visit.refresh_from_db()
    assert visit.status == "confirmed"


@pytest.mark.parametrize("word", ["N", "no", "2"])
def test_n_cancels_frees_the_slot_and_says_so(hook_client, clinic, ready, word):
    visit = book(ready, at(days_ahead(4), 9))
    remind(visit)
    reply = text(hook_client, clinic, ready.patient.phone, word)
    visit.refresh_from_db()
    assert visit.status == "cancelled"
    assert visit.cancel_reason == f"Cancelled by patient reply, message {reply.sid}"
    (answer,) = replies_to(ready.patient.phone)
    assert answer.startswith(
        f"Your visit with Dr. Ada Able on {_date(visit)} at 9:00 AM is cancelled."
    )
    # The freed slot is offered to the waitlist (the schedule derives it from the history).
    from clinic.selectors import freed_slots

    assert [(s.provider, s.start) for s in freed_slots()] == [(ready.doc, visit.start)]


def test_cancel_is_an_opt_out_word_and_never_cancels_a_visit(
    hook_client, clinic, ready
):
    visit = book(ready, at(days_ahead(4), 9))
    remind(visit)
    message = text(hook_client, clinic, ready.patient.phone, "CANCEL")
    visit.refresh_from_db()
    assert visit.status == "scheduled"
    assert SmsOptOut.objects.filter(number=ready.patient.phone).exists()
    (event,) = ConsentEvent.objects.all()
    assert (event.kind, event.keyword, event.message_sid, event.patient_id) == (
        "opt_out",
        "CANCEL",
        message.sid,
        ready.patient.pk,
    )


@pytest.mark.parametrize(
    "word",
    ["STOP", "stop", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "REVOKE", "OPTOUT"],
)
def test_stop_words_opt_the_number_out_of_every_text(hook_client, clinic, ready, word):
    visit = book(ready, at(days_ahead(4), 9))
    text(hook_client, clinic, ready.patient.phone, word)
    assert SmsOptOut.objects.filter(number=ready.patient.phone).exists()
    reminder = Reminder.objects.get(appointment=visit, offset_minutes=DAY)
    Reminder.objects.filter(pk=reminder.pk).update(due_at=timezone.now())
    dispatch_run(budget_seconds=5)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.reason) == ("skipped", "opted_out")
    assert replies_to(ready.patient.phone) == []


@pytest.mark.parametrize("word", ["START", "UNSTOP", "YES"])
def test_start_unstop_and_yes_opt_an_opted_out_number_back_in(
    hook_client, clinic, ready, word
):
    visit = book(ready, at(days_ahead(4), 9))
    remind(visit)
    text(hook_client, clinic, ready.patient.phone, "STOP")
    text(hook_client, clinic, ready.patient.phone, word)
    assert not SmsOptOut.objects.exists()
    assert list(ConsentEvent.objects.values_list("kind", "keyword")) == [
        ("opt_out", "STOP"),
        ("opt_in", word),
    ]
    visit.refresh_from_db()
    assert visit.status == "scheduled"  # YES opted back in; it did not confirm


def test_help_answers_with_the_clinics_name_and_phone(hook_client, clinic, ready):
    text(hook_client, clinic, ready.patient.phone, "help")
    (answer,) = replies_to(ready.patient.phone)
    assert answer.startswith(
        "Alpha Family Practice: visit reminders and messages. Call (212) 555-0100 for help."
    )
    assert "Reply STOP to opt out." in answer


def test_help_answers_in_spanish_for_a_spanish_speaking_patient(
    hook_client, clinic, ready
):
    maria = texting_patient(
        first_name="María", phone="+16175550177", preferred_language="es"
    )
    text(hook_client, clinic, maria.phone, "HELP")
    (answer,) = replies_to(maria.phone)
    assert answer.startswith(
        "Alpha Family Practice: recordatorios de citas y mensajes. Llame al (212) 555-0100"
    )


def test_a_shared_family_number_applies_the_reply_to_the_latest_reminders_visit(
    hook_client, clinic, ready
):
    mother = ready.patient
    child = texting_patient(first_name="Ada", last_name="Hopper", phone=mother.phone)
    mothers = book(ready, at(days_ahead(4), 9))
    childs = book(ready, at(days_ahead(5), 15), patient=child)
    first = remind(mothers)
    Message.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(days=1)
    )
    remind(childs)  # the latest reminder to the number: the child's visit
    reply = text(hook_client, clinic, mother.phone, "C")
    mothers.refresh_from_db()
    childs.refresh_from_db()
    assert (childs.status, mothers.status) == ("confirmed", "scheduled")
    assert reply.patient == child
    assert reply.conversation == Conversation.objects.get(patient=child)


def test_a_reply_the_latest_reminder_does_not_settle_goes_to_staff(
    hook_client, clinic, ready
):
    policy(quiet_hours=False, booking_confirmation=False, daily_cap=5, weekly_cap=10)
    child = texting_patient(first_name="Ada", phone=ready.patient.phone)
    mothers = book(ready, at(days_ahead(4), 9))
    childs = book(ready, at(days_ahead(4), 15), patient=child)
    remind(mothers)
    remind(childs)  # two visits reminded minutes apart: "C" could mean either
    reply = text(hook_client, clinic, ready.patient.phone, "C")
    assert set(Appointment.objects.values_list("status", flat=True)) == {"scheduled"}
    conversation = reply.conversation
    assert conversation.patient is None and conversation.number == ready.patient.phone
    assert conversation.needs_attention
    assert "several visits" in conversation.attention_reason
    assert replies_to(ready.patient.phone) == []


def test_a_reply_without_any_reminder_goes_to_staff(hook_client, clinic, ready):
    reply = text(hook_client, clinic, ready.patient.phone, "yes")
    assert reply.conversation.needs_attention
    assert "No reminder" in reply.conversation.attention_reason


def test_anything_else_lands_unread_in_the_patients_conversation(
    hook_client, clinic, ready
):
    visit = book(ready, at(days_ahead(4), 9))
    remind(visit)
    message = text(
        hook_client, clinic, ready.patient.phone, "Can I bring my daughter along?"
    )
    visit.refresh_from_db()
    assert visit.status == "scheduled"
    conversation = Conversation.objects.get(patient=ready.patient)
    assert message.conversation == conversation
    assert (conversation.unread_count, conversation.needs_attention) == (1, False)
    assert replies_to(ready.patient.phone) == []


def test_a_text_from_an_unknown_number_gets_a_conversation_of_its_own(
    hook_client, clinic, ready
):
    message = text(hook_client, clinic, "+16175550999", "Who is this?")
    assert message.patient is None
    assert message.conversation.number == "+16175550999"
    assert message.conversation.unread_count == 1


def test_a_confirmation_from_an_opted_out_number_counts_but_is_not_answered(
    hook_client, clinic, ready
):
    visit = book(ready, at(days_ahead(4), 9))
    remind(visit)
    text(hook_client, clinic, ready.patient.phone, "STOP")
    text(hook_client, clinic, ready.patient.phone, "C")
    visit.refresh_from_db()
    assert visit.status == "confirmed"
    assert replies_to(ready.patient.phone) == []
