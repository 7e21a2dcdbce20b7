"""The calls API and the call pages: clinic-bound, role-checked, audited; hang-ups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from calls.models import CallSession
from calls.policy import clinic_zone
from calls.tests.conftest import ALPHA_NUMBER
from calls.tests.support import at, book, days_ahead, policy
from clinic.models import AuditEntry
from clinic.tests.api_support import client_for

CALLS = "/api/v1/calls/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def call(sched):
    visit = book(sched, at(days_ahead(3), 10))
    session = CallSession.objects.create(
        patient=sched.patient,
        appointment=visit,
        purpose="confirmation",
        direction="outbound",
        status="in_progress",
        sid="CA" + "2" * 32,
        from_number=ALPHA_NUMBER,
        to_number=sched.patient.phone,
        placed_at=timezone.now(),
        answered_at=timezone.now(),
    )
    session.turns.create(
        step=1, speaker="portal", kind="prompt", text="Hello", at=timezone.now()
    )
    return session


def test_the_list_filters_pages_by_cursor_and_writes_an_access_entry(
    clinic, staff_user, call, sched
):
    api = client_for(staff_user, clinic)
    for _n in range(3):
        CallSession.objects.create(
            patient=sched.patient, purpose="recall", direction="outbound"
        )
    first = api.get(CALLS, {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = api.get(first["next"]).json()
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(ids) == 4 and len(set(ids)) == 4
    only = api.get(CALLS, {"status": "in_progress", "purpose": "confirmation"}).json()
    assert [r["id"] for r in only["results"]] == [call.pk]
    today = timezone.localdate(timezone=timezone.get_current_timezone()).isoformat()
    assert api.get(CALLS, {"date": "2001-01-01"}).json()["results"] == []
    assert (
        api.get(CALLS, {"patient": sched.patient.pk, "date": today}).status_code == 200
    )
    assert api.get(CALLS, {"status": "sideways"}).status_code == 400
    assert AuditEntry.objects.filter(object_repr__startswith="Call list").exists()


def test_detail_has_the_timeline_and_the_transcript_its_turns(clinic, staff_user, call):
    api = client_for(staff_user, clinic)
    call.events.create(source="status", carrier_status="ringing", sequence=1)
    detail = api.get(f"{CALLS}{call.pk}/").json()
    assert detail["status"] == "in_progress" and detail["timeline"][0]["sequence"] == 1
    transcript = api.get(f"{CALLS}{call.pk}/transcript/").json()
    assert [t["text"] for t in transcript["turns"]] == ["Hello"]
    assert (
        AuditEntry.objects.filter(
            object_id=call.patient_id, additional_data__via="api"
        ).count()
        == 2
    )


def test_hangup_ends_the_call_terminated_at_the_carrier(clinic, staff_user, call, sim):
    from calls.tests.sim_support import _sim_post  # noqa: F401 (the simulator is up)

    api = client_for(staff_user, clinic)
    answer = api.post(f"{CALLS}{call.pk}/hangup/")
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "terminated"
    call.refresh_from_db()
    assert (call.status, call.outcome) == ("terminated", "terminated")
    assert call.ended_at is not None
    again = api.post(f"{CALLS}{call.pk}/hangup/")
    assert again.status_code == 409 and again.json()["current_status"] == "terminated"


def test_placing_a_call_needs_voice_consent_and_respects_quiet_hours(
    clinic, staff_user, sched
):
    api = client_for(staff_user, clinic)
    visit = book(sched, at(days_ahead(3), 11))
    refused = api.post(
        CALLS, {"patient": sched.patient.pk, "appointment": visit.pk}, format="json"
    )
    assert refused.status_code == 409 and refused.json()["reason"] == "no_voice_consent"
    sched.patient.voice_consent = True
    sched.patient.save(update_fields=["voice_consent"])
    # Quiet from a minute ago to two minutes from now, on the clinic's clock.
    local = timezone.localtime(timezone.now(), clinic_zone())
    policy(
        quiet_hours=True,
        quiet_start=(local - timedelta(minutes=1)).time(),
        quiet_end=(local + timedelta(minutes=2)).time(),
    )
    quiet = api.post(
        CALLS, {"patient": sched.patient.pk, "appointment": visit.pk}, format="json"
    )
    assert quiet.status_code == 409 and quiet.json()["reason"] == "quiet_hours"
    policy(quiet_hours=False)
    placed = api.post(
        CALLS, {"patient": sched.patient.pk, "appointment": visit.pk}, format="json"
    )
    assert placed.status_code == 201, placed.content
    assert placed.json()["status"] == "not_started"
    assert CallSession.objects.filter(patient=sched.patient).count() == 1
    # The same request again (a double click, a partner's retry) queues nothing.
    again = api.post(
        CALLS, {"patient": sched.patient.pk, "appointment": visit.pk}, format="json"
    )
    assert again.status_code == 409 and again.json()["reason"] == "already_waiting"
    assert CallSession.objects.filter(patient=sched.patient).count() == 1


def test_a_patient_or_visit_that_is_not_this_clinics_is_a_field_error(
    clinic, staff_user, sched
):
    api = client_for(staff_user, clinic)
    unknown = api.post(CALLS, {"patient": 2_000_000_000}, format="json")
    assert unknown.status_code == 400 and "patient" in unknown.json()
    no_visit = api.post(
        CALLS,
        {"patient": sched.patient.pk, "appointment": 2_147_483_646},
        format="json",
    )
    assert no_visit.status_code == 400 and "appointment" in no_visit.json()
    assert not CallSession.objects.exists()


def test_billing_reads_calls_but_neither_places_nor_hangs_up(
    clinic, billing_member, call
):
    api = client_for(billing_member.user, clinic)
    assert api.get(CALLS).status_code == 200
    assert api.post(f"{CALLS}{call.pk}/hangup/").status_code == 403
    assert (
        api.post(CALLS, {"patient": call.patient_id}, format="json").status_code == 403
    )
    call.refresh_from_db()
    assert call.status == "in_progress"


def test_another_clinics_token_and_session_get_nothing_of_this_clinics_calls(
    clinic, other_clinic, other_staff_user, call
):
    api = client_for(other_staff_user, other_clinic)
    # B's token on A's host is refused; on B's host A's call does not exist.
    on_a = client_for(other_staff_user, clinic)
    assert on_a.get(CALLS).status_code in (401, 403)
    assert api.get(f"{CALLS}{call.pk}/").status_code == 404
    assert api.get(f"{CALLS}{call.pk}/transcript/").status_code == 404
    assert api.post(f"{CALLS}{call.pk}/hangup/").status_code == 404
    assert all(r["id"] != call.pk or False for r in api.get(CALLS).json()["results"])
    page = Client(HTTP_HOST=f"{clinic.slug}.localhost")
    page.force_login(other_staff_user)
    for url in (
        "/calls/",
        "/calls/rows/",
        f"/calls/{call.pk}/row/",
        "/calls/campaigns/",
    ):
        answer = page.get(url)
        assert answer.status_code in (302, 403, 404), url
        assert b"Hello" not in answer.content
    assert page.post(f"/calls/{call.pk}/hangup/").status_code in (302, 403, 404)
    call.refresh_from_db()
    assert call.status == "in_progress"


def test_the_board_shows_live_and_recent_calls_with_their_transcripts(
    staff_client, call
):
    page = staff_client.get("/calls/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f'id="call-{call.pk}"' in body and "Hello" in body and "Hang up" in body
    assert "js/callboard.js" in body
    row = staff_client.get(f"/calls/{call.pk}/row/")
    assert row.status_code == 200 and "In Progress" in row.content.decode()
    assert AuditEntry.objects.filter(object_repr__startswith="Call board").exists()


def test_the_board_hang_up_button_ends_the_call(staff_client, call, sim):
    answer = staff_client.post(f"/calls/{call.pk}/hangup/")
    assert answer.status_code == 302
    call.refresh_from_db()
    assert call.status == "terminated"


def test_the_call_button_queues_a_confirmation_call(staff_client, sched):
    visit = book(sched, at(days_ahead(2), 9))
    sched.patient.voice_consent = True
    sched.patient.save(update_fields=["voice_consent"])
    policy(quiet_hours=False)
    answer = staff_client.post(
        f"/calls/start/{sched.patient.pk}/", {"appointment": visit.pk}
    )
    assert answer.status_code == 302 and answer["Location"] == "/calls/"
    session = CallSession.objects.get(patient=sched.patient)
    assert (session.purpose, session.appointment, session.status) == (
        "confirmation",
        visit,
        "not_started",
    )


def test_the_patient_page_offers_a_call_to_callers_only_and_shows_the_last_call(
    staff_client, clinic, billing_member, call, sched
):
    from calls.models import PatientCallState

    sched.patient.voice_consent = True
    sched.patient.save(update_fields=["voice_consent"])
    PatientCallState.objects.create(
        patient=sched.patient,
        last_session=call,
        last_status="in_progress",
        last_at=timezone.now(),
    )
    url = sched.patient.get_absolute_url()
    page = staff_client.get(url).content.decode()
    assert "Call (recall)" in page and "Last call:" in page and "In Progress" in page
    panel = staff_client.get(f"/appointments/{call.appointment_id}/").content.decode()
    assert "Call to confirm" in panel
    billing = Client(HTTP_HOST=f"{clinic.slug}.localhost")
    billing.force_login(billing_member.user)
    assert "Call (recall)" not in billing.get(url).content.decode()
    refused = billing.post(f"/calls/start/{sched.patient.pk}/")
    assert refused.status_code == 403
