"""Tasks the portal opens itself: an ambiguous patient text, a denied claim; and the
notifications that go with them and with an assignment."""

from __future__ import annotations

import pytest
from django.utils import timezone

from billing.models import Claim
from billing.services import claim_deny
from billing.tests.support import billing_setup, draft_claim, members
from calls.services.inbound import inbound_receive
from clinic.models import Notification, Task
from clinic.services.tasks import task_assign, task_create
from portal.models import Membership

ALPHA_NUMBER = "+15005550006"


@pytest.fixture
def desk(in_clinic, staff_user) -> Membership:
    return Membership.objects.get(user=staff_user, clinic=in_clinic)


@pytest.fixture
def admin(in_clinic, admin_user) -> Membership:
    return Membership.objects.get(user=admin_user, clinic=in_clinic)


def _notified(kind: str) -> set[int]:
    return set(
        Notification.objects.filter(kind=kind).values_list("member_id", flat=True)
    )


def test_assigning_a_task_notifies_the_assignee_after_commit(
    desk, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        task = task_create(actor=admin, title="Call Mrs. Smith back", assignee=desk)
    (note,) = Notification.objects.filter(member_id=desk.pk)
    assert note.kind == "task_assigned" and note.url == f"/tasks/{task.pk}/"
    assert "Smith" not in note.title  # the title names the task, not the patient
    with django_capture_on_commit_callbacks(execute=True):
        task_assign(actor=desk, task=task, assignee=admin)
        task_assign(actor=admin, task=task, assignee=admin)  # no change: no news
    assert _notified("task_assigned") == {desk.pk, admin.pk}


def test_taking_a_task_oneself_notifies_nobody(
    desk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        task_create(actor=desk, title="Mine", assignee=desk)
    assert not Notification.objects.exists()


def test_a_rolled_back_assignment_notifies_nobody(desk, admin):
    # No commit in a test transaction: the on-commit notification never runs.
    task_create(actor=admin, title="Rolled back", assignee=desk)
    assert not Notification.objects.exists()


def test_an_ambiguous_patient_text_opens_one_task_and_notifies_front_desk_and_admins(
    desk, admin, django_capture_on_commit_callbacks
):
    now = timezone.now()
    sid = "SM" + "7" * 32
    with django_capture_on_commit_callbacks(execute=True):
        result = inbound_receive(
            sid=sid, from_="+14155550199", to=ALPHA_NUMBER, body="yes", now=now
        )
        again = inbound_receive(
            sid=sid, from_="+14155550199", to=ALPHA_NUMBER, body="yes", now=now
        )
    assert result.action == "needs_staff" and again.action == "duplicate"
    (task,) = Task.objects.all()
    assert (task.kind, task.source_key, task.state) == (
        "sms_reply",
        f"message:{sid}",
        "open",
    )
    assert "No reminder" in task.description
    assert task.created_by_label.startswith("System: patient reply")
    assert _notified("patient_text") == {desk.pk, admin.pk}


def test_a_text_the_portal_settles_itself_is_no_news(desk):
    inbound_receive(
        sid="SM" + "8" * 32, from_="+14155550198", to=ALPHA_NUMBER, body="STOP"
    )
    assert not Task.objects.exists() and not Notification.objects.exists()


def test_a_plain_text_notifies_without_a_task(desk):
    inbound_receive(
        sid="SM" + "9" * 32, from_="+14155550197", to=ALPHA_NUMBER, body="Running late"
    )
    assert not Task.objects.exists()
    assert Notification.objects.filter(kind="patient_text", member_id=desk.pk).exists()


def test_a_denied_claim_opens_one_follow_up_task_and_tells_billing_and_admins(
    in_clinic,
):
    team = members(in_clinic)
    setup = billing_setup(in_clinic, team.billing)
    claim = draft_claim(setup, team.billing)
    Claim.objects.filter(pk=claim.pk).update(
        status="accepted", payer_claim_number="P-1"
    )
    claim.refresh_from_db()
    claim_deny(claim=claim, actor=team.billing, note="CO-50 not medically necessary")
    (task,) = Task.objects.filter(kind="claim_follow_up")
    assert (
        task.source_key == f"claim:{claim.pk}" and task.patient_id == claim.patient_id
    )
    assert task.priority == "high" and "CO-50" in task.description
    notified = _notified("claim_denied")
    admins_and_billing = set(
        Membership.objects.filter(
            clinic=in_clinic, role__in=["admin", "billing"], is_active=True
        ).values_list("pk", flat=True)
    )
    assert {team.billing.pk, team.admin.pk} <= notified == admins_and_billing
    assert team.front_desk.pk not in notified and team.clinician.pk not in notified
    note = Notification.objects.filter(kind="claim_denied").first()
    assert note.url == f"/billing/claims/{claim.pk}/"
