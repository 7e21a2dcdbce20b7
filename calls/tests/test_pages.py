"""Staff pages of texting: the inbox, replies, the log, the policy page, and what each role may do."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.utils import timezone

from calls.models import (
    ConsentEvent,
    Conversation,
    Message,
    MessageTemplate,
    ReminderPolicy,
    SmsOptOut,
)
from calls.tests.conftest import ALPHA_NUMBER
from calls.tests.support import at, book, days_ahead, policy, texting_patient
from clinic.models import AuditEntry

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def grace(in_clinic):
    patient = texting_patient(
        first_name="Grace", last_name="Hopper", phone="+16175550101"
    )
    conversation = Conversation.objects.create(
        patient=patient,
        number=patient.phone,
        unread_count=2,
        last_message_at=timezone.now(),
    )
    for n, body in enumerate(["Is parking free?", "Also, can I bring my son?"]):
        Message.objects.create(
            conversation=conversation,
            patient=patient,
            direction="inbound",
            purpose="inbound",
            to_number=ALPHA_NUMBER,
            from_number=patient.phone,
            body=body,
            status="received",
            sid=f"SM{n:032d}",
        )
    return patient


def html(response) -> str:
    return response.content.decode()


def test_the_navigation_shows_the_unread_count(staff_client, grace):
    page = html(staff_client.get("/"))
    assert 'id="nav-unread"' in page and ">2</span>" in page
    assert "js/messages.js" in page


def test_the_inbox_lists_threads_and_opening_one_marks_it_read(
    staff_client, grace, staff_user
):
    conversation = Conversation.objects.get(patient=grace)
    listing = html(staff_client.get("/messages/"))
    assert "Hopper, Grace" in listing and "2 new" in listing
    opened = staff_client.get(f"/messages/?c={conversation.pk}")
    assert opened.status_code == 200
    page = html(opened)
    assert "Also, can I bring my son?" in page and "Send text" in page
    assert page.index("Also, can I bring my son?") < page.index(
        "Is parking free?"
    )  # newest first
    conversation.refresh_from_db()
    assert conversation.unread_count == 0
    assert not Message.objects.filter(read_at__isnull=True).exists()
    entry = AuditEntry.objects.filter(
        action=AuditEntry.Action.ACCESS, actor=staff_user
    ).latest("id")
    assert entry.object_id == grace.pk


def test_a_reply_from_the_inbox_goes_to_the_outbox(staff_client, grace):
    response = staff_client.post(
        f"/messages/p/{grace.pk}/reply/", {"body": "Yes, parking is free."}, **HX
    )
    assert response.status_code == 200
    sent = Message.objects.get(direction="outbound")
    assert (sent.body, sent.status, sent.to_number, sent.sent_by_label) == (
        "Yes, parking is free.",
        "pending",
        grace.phone,
        "Alpha Family Practice desk",
    )
    assert "Yes, parking is free." in html(response)


def test_an_opted_out_number_has_no_reply_box_and_a_reply_is_refused(
    staff_client, grace
):
    SmsOptOut.objects.create(
        number=grace.phone, keyword="STOP", opted_out_at=timezone.now()
    )
    conversation = Conversation.objects.get(patient=grace)
    page = html(staff_client.get(f"/messages/?c={conversation.pk}"))
    assert "Send text" not in page
    assert "opted out of texts" in page and "Opted out: texts blocked" in page
    response = staff_client.post(
        f"/messages/p/{grace.pk}/reply/", {"body": "Hello?"}, **HX
    )
    assert response.status_code == 409
    assert not Message.objects.filter(direction="outbound").exists()


def test_billing_staff_read_conversations_but_have_no_reply_box(
    clinic, billing_member, grace
):
    client = Client(HTTP_HOST="alpha.localhost")
    client.force_login(billing_member.user)
    conversation = Conversation.objects.get(patient=grace)
    page = html(client.get(f"/messages/?c={conversation.pk}"))
    assert "Is parking free?" in page and "Send text" not in page
    response = client.post(f"/messages/p/{grace.pk}/reply/", {"body": "Hi"}, **HX)
    assert response.status_code == 403
    assert not Message.objects.filter(direction="outbound").exists()


def test_staff_record_a_patients_spoken_opt_out(staff_client, grace):
    staff_client.post(f"/messages/p/{grace.pk}/opt-out/", **HX)
    assert SmsOptOut.objects.filter(number=grace.phone).exists()
    event = ConsentEvent.objects.get()
    assert (event.source, event.recorded_by) == ("staff", "Alpha Family Practice desk")


def test_a_thread_needing_staff_can_be_settled(staff_client, grace):
    conversation = Conversation.objects.get(patient=grace)
    Conversation.objects.filter(pk=conversation.pk).update(
        needs_attention=True, attention_reason="“C”: ambiguous"
    )
    assert "Needs staff" in html(staff_client.get("/messages/?show=attention"))
    staff_client.post(f"/messages/c/{conversation.pk}/settle/", **HX)
    conversation.refresh_from_db()
    assert not conversation.needs_attention


def test_the_live_refresh_returns_the_texts_alone(staff_client, grace):
    conversation = Conversation.objects.get(patient=grace)
    part = html(staff_client.get(f"/messages/c/{conversation.pk}/?part=texts", **HX))
    assert "Is parking free?" in part and '<form class="reply"' not in part
    assert staff_client.get("/messages/unread/").status_code == 200


def test_the_message_log_filters(staff_client, grace):
    assert "Is parking free?" in html(staff_client.get("/messages/log/"))
    assert "Is parking free?" in html(
        staff_client.get("/messages/log/", {"direction": "inbound", "q": "hopp"})
    )
    assert "Is parking free?" not in html(
        staff_client.get("/messages/log/", {"direction": "outbound"})
    )
    assert "Is parking free?" not in html(
        staff_client.get("/messages/log/", {"status": "failed"})
    )
    assert "Is parking free?" in html(
        staff_client.get("/messages/log/", {"patient": grace.pk})
    )
    assert staff_client.get("/messages/log/", {"start": "yesterday"}).status_code == 200


def test_only_admins_change_the_policy(staff_client, admin_client_alpha, in_clinic):
    assert staff_client.get("/messages/policy/").status_code == 403
    assert staff_client.post("/messages/policy/", {}).status_code == 403
    page = admin_client_alpha.get("/messages/policy/")
    assert page.status_code == 200 and "72h, 24h" in html(page)


def test_an_admin_saves_steps_quiet_hours_and_caps(admin_client_alpha, in_clinic):
    form = {
        "steps": "72h, 24h, 3h",
        "booking_confirmation": "on",
        "booking_grace_minutes": "5",
        "remind_after_confirmation": "on",
        "quiet_hours": "on",
        "quiet_start": "21:00",
        "quiet_end": "07:30",
        "min_lead_minutes": "60",
        "daily_cap": "1",
        "weekly_cap": "3",
        "auto_cancel_hours_before": "4",
        "no_show_after_minutes": "60",
        "waitlist_hold_minutes": "30",
        "waitlist_offer_size": "3",
        "reply_window_days": "7",
    }
    response = admin_client_alpha.post("/messages/policy/", form)
    assert response.status_code == 302
    saved = ReminderPolicy.objects.get()
    assert [s["offset_minutes"] for s in saved.steps] == [4320, 1440, 180]
    assert (
        str(saved.quiet_start),
        str(saved.quiet_end),
        saved.booking_grace_minutes,
    ) == ("21:00:00", "07:30:00", 5)
    assert saved.updated_by == "admin@alpha.test"
    bad = admin_client_alpha.post(
        "/messages/policy/",
        {**form, "steps": "soon", "daily_cap": "5", "weekly_cap": "2"},
    )
    assert bad.status_code == 400
    assert "is not a time before the visit" in html(bad)


def test_the_live_preview_flags_a_text_over_one_segment(admin_client_alpha, in_clinic):
    short = admin_client_alpha.post(
        "/messages/policy/preview/",
        {"language": "en", "body": "Hi {first_name}, see you {date}."},
        **HX,
    )
    assert "Hi Alexandra, see you" in html(short) and "1 segment" in html(short)
    long = admin_client_alpha.post(
        "/messages/policy/preview/", {"language": "es", "body": "Cita ñ á " * 20}, **HX
    )
    assert "over one SMS segment" in html(long) and "UCS-2" in html(long)
    bad = admin_client_alpha.post(
        "/messages/policy/preview/", {"language": "en", "body": "Hi {name}"}, **HX
    )
    assert "Unknown placeholders: {name}" in html(bad)


def test_an_admin_edits_a_text_and_empty_goes_back_to_the_shipped_one(
    admin_client_alpha, in_clinic
):
    admin_client_alpha.post(
        "/messages/policy/template/",
        {
            "kind": "reminder",
            "language": "es",
            "body": "Hola {first_name}: cita {date} {time}.",
        },
    )
    assert (
        MessageTemplate.objects.get().body == "Hola {first_name}: cita {date} {time}."
    )
    admin_client_alpha.post(
        "/messages/policy/template/",
        {"kind": "reminder", "language": "es", "body": "Hola {nombre}"},
    )
    assert (
        MessageTemplate.objects.get().body == "Hola {first_name}: cita {date} {time}."
    )  # refused
    admin_client_alpha.post(
        "/messages/policy/template/", {"kind": "reminder", "language": "es", "body": ""}
    )
    assert not MessageTemplate.objects.exists()


def test_the_consent_ledger_exports_for_admins_only(
    staff_client, admin_client_alpha, grace
):
    ConsentEvent.objects.create(
        number=grace.phone,
        patient=grace,
        kind="opt_out",
        source="patient_text",
        keyword="STOP",
        message_sid="SM" + "9" * 32,
        at=timezone.now(),
    )
    assert staff_client.get("/messages/consent.csv").status_code == 403
    response = admin_client_alpha.get("/messages/consent.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [
        (r["number"], r["patient"], r["change"], r["keyword"], r["message_sid"])
        for r in rows
    ] == [(grace.phone, "Grace Hopper", "Opted out", "STOP", "SM" + "9" * 32)]


def test_the_appointment_panel_and_the_patient_page_show_the_reminders(
    staff_client, sched
):
    policy(quiet_hours=False)
    visit = book(sched, at(days_ahead(2), 14))
    panel = html(staff_client.get(f"/appointments/{visit.pk}/", **HX))
    assert (
        "Reminders" in panel
        and "Skipped: too close to the visit" in panel
        and "due " in panel
    )
    patient = html(staff_client.get(f"/patients/{sched.patient.pk}/"))
    assert "Texts and reminders" in patient and "Text this patient" in patient


def test_another_clinics_session_sees_none_of_it(other_staff_user, grace):
    beta_on_alpha = Client(HTTP_HOST="alpha.localhost")
    beta_on_alpha.force_login(other_staff_user)
    for url in (
        "/messages/",
        "/messages/log/",
        "/messages/conversations/",
        "/messages/unread/",
    ):
        response = beta_on_alpha.get(url)
        assert response.status_code == 403
        assert "parking" not in html(response)


def test_the_clinic_admin_lists_texts_read_only(admin_client_alpha, grace):
    page = admin_client_alpha.get("/admin/calls/message/")
    assert page.status_code == 200 and "Grace Hopper" in html(page)
    assert admin_client_alpha.get("/admin/calls/message/add/").status_code == 403


def test_plan_reminders_plans_visits_made_before_texting(sched, capsys):
    from django.core.management import call_command

    from calls.models import Reminder

    policy(quiet_hours=False)
    visit = book(sched, at(days_ahead(5), 10))
    Reminder.objects.filter(appointment=visit).delete()  # as if booked before this app
    call_command("plan_reminders", schema=["c_alpha"])
    from django.db import connection

    connection.set_tenant(sched.clinic)
    assert Reminder.objects.filter(appointment=visit, kind="reminder").count() == 2
    assert "alpha: " in capsys.readouterr().out
