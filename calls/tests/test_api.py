"""The messaging API: texts, conversations and reminders; clinic-bound, role-checked, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Conversation, Message, SmsOptOut
from calls.tests.conftest import ALPHA_NUMBER
from calls.tests.support import at, book, days_ahead, policy, texting_patient
from clinic.models import AuditEntry, Patient
from clinic.tests.api_support import client_for

MESSAGES = "/api/v1/messages/"
CONVERSATIONS = "/api/v1/conversations/"


@pytest.fixture
def api(clinic, staff_user):
    return client_for(staff_user, clinic)


@pytest.fixture
def thread(in_clinic):
    """Grace's conversation: three texts, one unread from her."""
    grace = texting_patient(first_name="Grace", phone="+16175550101")
    conversation = Conversation.objects.create(
        patient=grace,
        number=grace.phone,
        unread_count=1,
        last_message_at=timezone.now(),
    )
    rows = []
    for n, (direction, status, body) in enumerate(
        [
            ("outbound", "delivered", "Reminder: visit Monday"),
            ("inbound", "received", "Can I come earlier?"),
            ("outbound", "failed", "Sorry, no"),
        ]
    ):
        rows.append(
            Message.objects.create(
                conversation=conversation,
                patient=grace,
                direction=direction,
                purpose="staff" if direction == "outbound" else "inbound",
                to_number=grace.phone if direction == "outbound" else ALPHA_NUMBER,
                from_number=ALPHA_NUMBER if direction == "outbound" else grace.phone,
                body=body,
                status=status,
                sid=f"SM{n:032d}" if status != "failed" else None,
            )
        )
        Message.objects.filter(pk=rows[-1].pk).update(
            created_at=timezone.now() - timedelta(minutes=10 - n)
        )
    return grace, conversation, rows


def test_the_message_list_is_newest_first_with_cursor_pages(api, thread):
    _, _, rows = thread
    first = api.get(MESSAGES, {"page_size": 2})
    assert first.status_code == 200
    assert [m["body"] for m in first.json()["results"]] == [
        "Sorry, no",
        "Can I come earlier?",
    ]
    second = api.get(first.json()["next"])
    assert [m["body"] for m in second.json()["results"]] == ["Reminder: visit Monday"]
    assert second.json()["next"] is None
    shape = first.json()["results"][0]
    assert (
        shape["from"] == ALPHA_NUMBER
        and shape["status"] == "failed"
        and shape["sid"] is None
    )


@pytest.mark.parametrize(
    ("query", "bodies"),
    [
        ({"direction": "inbound"}, ["Can I come earlier?"]),
        ({"status": ["delivered", "failed"]}, ["Sorry, no", "Reminder: visit Monday"]),
        ({"purpose": "inbound"}, ["Can I come earlier?"]),
    ],
)
def test_the_message_list_filters(api, thread, query, bodies):
    response = api.get(MESSAGES, query)
    assert [m["body"] for m in response.json()["results"]] == bodies


def test_filters_by_patient_and_dates(api, thread):
    grace, _, _ = thread
    other = Patient.objects.create(
        first_name="Al", last_name="X", date_of_birth="1990-01-01"
    )
    assert len(api.get(MESSAGES, {"patient": grace.pk}).json()["results"]) == 3
    assert api.get(MESSAGES, {"patient": other.pk}).json()["results"] == []
    today = timezone.localdate(
        timezone=__import__("zoneinfo").ZoneInfo("America/New_York")
    )
    assert (
        len(
            api.get(MESSAGES, {"start": str(today - timedelta(days=1))}).json()[
                "results"
            ]
        )
        == 3
    )
    assert (
        api.get(MESSAGES, {"end": str(today - timedelta(days=2))}).json()["results"]
        == []
    )


@pytest.mark.parametrize(
    "query",
    [
        {"status": "lost"},
        {"patient": "x"},
        {"start": "tomorrow"},
        {"cursor": "bz1hYmM="},
    ],
)
def test_bad_filters_and_cursors_are_field_errors(api, thread, query):
    response = api.get(MESSAGES, query)
    assert response.status_code == 400
    assert set(response.json()) <= {"status", "patient", "start", "cursor"}


def test_listing_texts_is_written_to_the_audit_trail(api, thread, staff_user):
    grace, _, _ = thread
    api.get(MESSAGES)
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).latest("id")
    assert (entry.patient_ids, entry.actor) == ([grace.pk], staff_user)
    assert entry.object_repr.startswith("Message list")


def test_staff_text_a_patient(api, in_clinic):
    grace = texting_patient(first_name="Grace", phone="+16175550101")
    response = api.post(
        MESSAGES, {"patient": grace.pk, "body": " Your results are in. "}, format="json"
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["status"], data["body"], data["to"], data["from"]) == (
        "pending",
        "Your results are in.",
        grace.phone,
        ALPHA_NUMBER,
    )
    assert data["sent_by"] == "Alpha Family Practice desk"
    assert response["Location"] == f"/api/v1/messages/{data['id']}/"
    assert api.get(response["Location"]).json()["id"] == data["id"]


@pytest.mark.parametrize(
    ("patient", "reason"),
    [
        ({"sms_consent": False}, "no_sms_consent"),
        ({"phone": ""}, "no_phone"),
        ({"opted_out": True}, "opted_out"),
    ],
)
def test_a_patient_who_cannot_be_texted_is_a_409_with_the_reason(
    api, in_clinic, patient, reason
):
    opted = patient.pop("opted_out", False)
    grace = texting_patient(first_name="Grace", **{"phone": "+16175550101", **patient})
    if opted:
        SmsOptOut.objects.create(
            number=grace.phone, keyword="STOP", opted_out_at=timezone.now()
        )
    response = api.post(MESSAGES, {"patient": grace.pk, "body": "Hello"}, format="json")
    assert response.status_code == 409
    assert response.json()["reason"] == reason
    assert not Message.objects.exists()


def test_bad_input_is_a_field_error_and_writes_nothing(api, in_clinic):
    grace = texting_patient(phone="+16175550101")
    assert set(
        api.post(MESSAGES, {"patient": grace.pk, "body": ""}, format="json").json()
    ) == {"body"}
    assert set(
        api.post(MESSAGES, {"patient": 999999, "body": "Hi"}, format="json").json()
    ) == {"patient"}
    assert (
        api.post(
            MESSAGES, {"patient": grace.pk, "body": "x" * 1601}, format="json"
        ).status_code
        == 400
    )
    assert not Message.objects.exists()


def test_billing_staff_read_texts_but_do_not_send(clinic, billing_member, thread):
    grace, _, _ = thread
    billing = client_for(billing_member.user, clinic)
    assert billing.get(MESSAGES).status_code == 200
    assert billing.get(CONVERSATIONS).status_code == 200
    response = billing.post(
        MESSAGES, {"patient": grace.pk, "body": "Hi"}, format="json"
    )
    assert response.status_code == 403
    assert Message.objects.count() == 3


def test_conversations_list_with_unread_counts_and_opt_out(api, thread):
    grace, conversation, _ = thread
    SmsOptOut.objects.create(
        number=grace.phone, keyword="STOP", opted_out_at=timezone.now()
    )
    (row,) = api.get(CONVERSATIONS).json()["results"]
    assert (row["id"], row["patient"], row["unread_count"], row["opted_out"]) == (
        conversation.pk,
        grace.pk,
        1,
        True,
    )


def test_a_patients_conversation(api, thread):
    grace, conversation, rows = thread
    response = api.get(f"{CONVERSATIONS}{grace.pk}/", {"page_size": 2})
    data = response.json()
    assert (data["patient"], data["conversation"]["id"], data["can_text"]) == (
        grace.pk,
        conversation.pk,
        True,
    )
    assert [m["body"] for m in data["results"]] == ["Sorry, no", "Can I come earlier?"]
    assert data["next"] is not None
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).latest("id")
    assert entry.object_id == grace.pk


def test_a_patient_never_texted_has_an_empty_conversation(api, in_clinic):
    quiet = texting_patient(phone="+16175550188", sms_consent=False)
    data = api.get(f"{CONVERSATIONS}{quiet.pk}/").json()
    assert (
        data["conversation"],
        data["results"],
        data["can_text"],
        data["cannot_text_reason"],
    ) == (None, [], False, "no_sms_consent")


def test_unknown_rows_are_404(api, in_clinic):
    assert api.get(f"{CONVERSATIONS}999999/").status_code == 404
    assert api.get(f"{MESSAGES}999999/").status_code == 404
    assert api.get("/api/v1/appointments/999999/reminders/").status_code == 404


def test_a_visits_reminders(api, sched):
    policy(quiet_hours=False)
    visit = book(sched, at(days_ahead(2), 14))
    response = api.get(f"/api/v1/appointments/{visit.pk}/reminders/")
    assert response.status_code == 200
    rows = {(r["kind"], r["offset_minutes"]): r for r in response.json()}
    assert rows[("reminder", 4320)]["status"] == "skipped"
    assert rows[("reminder", 4320)]["reason"] == "too_late"
    assert rows[("reminder", 1440)]["status"] == "planned"
    assert rows[("reminder", 1440)]["visit_start"].endswith(("-05:00", "-04:00"))
    assert rows[("booking_confirmation", 0)]["message"] is None


def test_no_token_is_401(clinic, in_clinic):
    from rest_framework.test import APIClient

    anonymous = APIClient(HTTP_HOST="alpha.localhost")
    for url in (MESSAGES, CONVERSATIONS, "/api/v1/appointments/1/reminders/"):
        assert anonymous.get(url).status_code == 401


def test_another_clinics_token_sees_none_of_this_clinics_messages(
    clinic, other_clinic, other_staff_user, thread
):
    grace, _, _ = thread
    beta_token_on_alpha = client_for(other_staff_user, other_clinic)
    beta_token_on_alpha.defaults["HTTP_HOST"] = "alpha.localhost"
    for url in (MESSAGES, CONVERSATIONS, f"{CONVERSATIONS}{grace.pk}/"):
        assert beta_token_on_alpha.get(url).status_code == 401
    assert (
        beta_token_on_alpha.post(
            MESSAGES, {"patient": grace.pk, "body": "x"}, format="json"
        ).status_code
        == 401
    )
    beta = client_for(other_staff_user, other_clinic)
    assert beta.get(MESSAGES).json()["results"] == []
    assert beta.get(CONVERSATIONS).json()["results"] == []


def test_the_schema_documents_the_errors(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    create = schema["paths"]["/api/v1/messages/"]["post"]["responses"]
    assert {"201", "400", "401", "403", "409"} <= set(create)
    thread_answers = schema["paths"]["/api/v1/conversations/{patient_id}/"]["get"][
        "responses"
    ]
    assert {"200", "401", "403", "404"} <= set(thread_answers)
    assert "/api/v1/appointments/{id}/reminders/" in schema["paths"]
