"""Campaign pages and services: who may run them, what is called, pause and resume, CSV,
and another clinic's member gets nothing."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from calls.models import CallCampaign, CallSession
from calls.services.voice_campaigns import (
    campaign_pause,
    campaign_resume,
    campaign_start,
    campaign_summary,
)
from calls.services.voice_dial import voice_dispatch_run
from calls.tests.support import at, book, days_ahead, policy
from clinic.models import Notification, Workflow
from clinic.tests.factories import PatientFactory
from portal.errors import ApplicationError

pytestmark = pytest.mark.django_db


@pytest.fixture
def recall(in_clinic):
    workflow = Workflow.objects.get(is_default=True)
    for n in range(3):
        PatientFactory(
            workflow=workflow, voice_consent=True, phone=f"+1617555{n + 7000:04d}"
        )
    PatientFactory(workflow=workflow, voice_consent=False, phone="+16175557999")
    PatientFactory(workflow=workflow, voice_consent=True, phone="")
    return workflow


def test_a_recall_campaign_queues_each_callable_patient_once_and_counts_the_rest(
    recall, admin_member
):
    campaign = campaign_start(
        actor=admin_member, name="", kind="recall", workflow=recall
    )
    assert campaign.name == f"{recall.name} recall"
    assert campaign.skipped == {"no_voice_consent": 1, "no_phone": 1}
    sessions = CallSession.objects.filter(campaign=campaign)
    assert sessions.count() == 3 and {s.purpose for s in sessions} == {"recall"}
    summary = campaign_summary(campaign)
    assert (summary["total"], summary["waiting"], summary["left_out"]) == (3, 3, 2)


def test_paused_campaigns_are_not_dialled_and_resume_where_they_stopped(
    recall, admin_member, settings
):
    policy(quiet_hours=False)
    settings.TWILIO_API_BASE = (
        "http://127.0.0.1:9"  # nobody listens: refused, not placed
    )
    campaign = campaign_start(
        actor=admin_member, name="R", kind="recall", workflow=recall
    )
    campaign_pause(actor=admin_member, campaign=campaign)
    assert voice_dispatch_run().claimed == 0
    with pytest.raises(ApplicationError):
        campaign_pause(actor=admin_member, campaign=campaign)
    campaign_resume(actor=admin_member, campaign=campaign)
    report = voice_dispatch_run()
    assert (report.claimed, report.refused) == (3, 3)
    campaign.refresh_from_db()
    assert campaign.status == "finished"
    assert campaign_summary(campaign)["failed"] == 3
    # Whoever started it hears that it finished, once, with a link to its summary.
    (told,) = Notification.objects.filter(kind="campaign_finished")
    assert told.member_id == admin_member.pk
    assert told.url == f"/calls/campaigns/{campaign.pk}/"


def test_an_unconfirmed_day_campaign_calls_about_each_scheduled_visit(
    sched, admin_member
):
    sched.patient.voice_consent = True
    sched.patient.save(update_fields=["voice_consent"])
    visit = book(sched, at(days_ahead(2), 10))
    campaign = campaign_start(
        actor=admin_member, name="", kind="unconfirmed", day=days_ahead(2)
    )
    (session,) = CallSession.objects.filter(campaign=campaign)
    assert (session.appointment, session.purpose) == (visit, "confirmation")
    with pytest.raises(ApplicationError) as refused:
        campaign_start(
            actor=admin_member, name="", kind="unconfirmed", day=days_ahead(9)
        )
    assert refused.value.extra["reason"] == "nobody_to_call"


def test_clinicians_and_billing_do_not_run_campaigns(recall, billing_member, clinic):
    with pytest.raises(ApplicationError) as refused:
        campaign_start(actor=billing_member, name="", kind="recall", workflow=recall)
    assert refused.value.status == 403
    assert not CallCampaign.objects.exists()


def test_the_campaign_pages_start_show_pause_and_export(
    admin_client_alpha, recall, clinic
):
    page = admin_client_alpha.get("/calls/campaigns/")
    assert page.status_code == 200 and b"Start calling" in page.content
    started = admin_client_alpha.post(
        "/calls/campaigns/", {"kind": "recall", "workflow": recall.pk, "name": "Spring"}
    )
    campaign = CallCampaign.objects.get(name="Spring")
    assert started.status_code == 302
    assert started["Location"] == f"/calls/campaigns/{campaign.pk}/"
    detail = admin_client_alpha.get(started["Location"])
    assert b"0 of 3 calls done" in detail.content and b"<progress" in detail.content
    admin_client_alpha.post(f"/calls/campaigns/{campaign.pk}/pause/")
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    export = admin_client_alpha.get(f"/calls/campaigns/{campaign.pk}/summary.csv")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0][:5] == ["patient_id", "patient", "visit_id", "status", "outcome"]
    assert len([r for r in rows[1:] if r and r[0] != "summary"]) == 3
    assert ["summary", "confirmed", "0"] in rows
    bad = admin_client_alpha.post(
        "/calls/campaigns/", {"kind": "unconfirmed", "day": "x"}
    )
    assert bad.status_code == 400


def test_another_clinics_member_gets_nothing_of_a_campaign(
    recall, admin_member, clinic, other_staff_user
):
    campaign = campaign_start(
        actor=admin_member, name="R", kind="recall", workflow=recall
    )
    client = Client(HTTP_HOST=f"{clinic.slug}.localhost")
    client.force_login(other_staff_user)
    for url in (
        f"/calls/campaigns/{campaign.pk}/",
        f"/calls/campaigns/{campaign.pk}/progress/",
        f"/calls/campaigns/{campaign.pk}/summary.csv",
    ):
        answer = client.get(url)
        assert answer.status_code in (302, 403, 404) and b"recall" not in answer.content
    client.post(f"/calls/campaigns/{campaign.pk}/pause/")
    campaign.refresh_from_db()
    assert campaign.status == "running"
