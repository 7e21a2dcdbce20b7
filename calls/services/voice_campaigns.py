"""Call campaigns: a workflow's patients (a recall) or a day's unconfirmed visits, called in turn.

Starting a campaign writes one waiting session per patient in its
transaction (unique per campaign and patient, so nobody is called twice,
whatever restarts); the dispatcher places them within the clinic's
concurrency limit and quiet hours, oldest first. Pausing keeps the waiting
ones in the queue untouched; resuming lets the dispatcher take them again.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from calls.actors import Actor, actor_label, actor_user
from calls.models import CallCampaign, CallSession
from calls.permissions import require_campaigner
from calls.services.voice_dial import call_enqueue, calling_problem, dispatch_soon
from calls.voice.events import publish_campaign
from clinic.clock import local_day_bounds
from clinic.models import Appointment, NotificationKind, Patient, Workflow
from clinic.services.notifications import notification_send
from portal.errors import ApplicationError
from portal.models import Membership

MAX_PATIENTS = 2000
SUMMARY = ("confirmed", "cancelled", "transferred", "voicemail", "no_answer", "failed")
CSV_OUTCOMES = (*SUMMARY, "no_decision", "not_placed")


def _recall_list(workflow: Workflow) -> list[tuple[Patient, Appointment | None]]:
    patients = Patient.objects.filter(
        workflow=workflow, status=Patient.Status.ACTIVE
    ).order_by("last_name", "first_name", "id")[: MAX_PATIENTS + 1]
    return [(p, None) for p in patients]


def _unconfirmed_list(day: date) -> list[tuple[Patient, Appointment | None]]:
    start, end = local_day_bounds(day)
    visits = (
        Appointment.objects.filter(
            status=Appointment.Status.SCHEDULED,
            start__gte=max(start, timezone.now()),
            start__lt=end,
        )
        .select_related("patient")
        .order_by("start", "id")[: MAX_PATIENTS + 1]
    )
    seen: set[int] = set()
    chosen = []
    for visit in visits:
        if (
            visit.patient_id not in seen
        ):  # one call per patient, about their first visit
            seen.add(visit.patient_id)
            chosen.append((visit.patient, visit))
    return chosen


@transaction.atomic
def campaign_start(
    *,
    actor: Actor,
    name: str,
    kind: str,
    workflow: Workflow | None = None,
    day: date | None = None,
) -> CallCampaign:
    """Start calling a list of patients; those who cannot be called are counted, not called."""
    require_campaigner(actor)
    name = (name or "").strip()[:200]
    if kind == CallCampaign.Kind.RECALL:
        if workflow is None:
            raise ValidationError(
                {"workflow": ["Choose the workflow whose patients to call."]}
            )
        targets = _recall_list(workflow)
        purpose = CallSession.Purpose.RECALL
        name = name or f"{workflow.name} recall"
    elif kind == CallCampaign.Kind.UNCONFIRMED:
        if day is None:
            raise ValidationError({"day": ["Choose the day whose visits to confirm."]})
        targets = _unconfirmed_list(day)
        purpose = CallSession.Purpose.CONFIRMATION
        name = name or f"Unconfirmed visits on {day:%Y-%m-%d}"
    else:
        raise ValidationError({"kind": ["Choose recall or unconfirmed visits."]})
    if len(targets) > MAX_PATIENTS:
        raise ValidationError(
            {"kind": [f"At most {MAX_PATIENTS} patients per campaign."]}
        )
    skipped: Counter[str] = Counter()
    callable_ = []
    for patient, visit in targets:
        code, _ = calling_problem(patient)
        if code:
            skipped[code] += 1
        else:
            callable_.append((patient, visit))
    if not callable_:
        raise ApplicationError(
            "Nobody on this list can be called (no phone or no consent to calls).",
            status=409,
            extra={"reason": "nobody_to_call", "skipped": dict(skipped)},
        )
    campaign = CallCampaign.objects.create(
        name=name,
        kind=kind,
        workflow=workflow if kind == CallCampaign.Kind.RECALL else None,
        day=day if kind == CallCampaign.Kind.UNCONFIRMED else None,
        skipped=dict(skipped),
        started_by=actor_user(actor),
        started_by_label=actor_label(actor)[:200],
    )
    for patient, visit in callable_:
        call_enqueue(
            actor=actor,
            patient=patient,
            appointment=visit,
            purpose=purpose,
            campaign=campaign,
        )
    publish_campaign(campaign)
    return campaign


@transaction.atomic
def campaign_pause(*, actor: Actor, campaign: CallCampaign) -> CallCampaign:
    """Stop placing this campaign's waiting calls (live ones run to their end)."""
    require_campaigner(actor)
    campaign = CallCampaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CallCampaign.Status.RUNNING:
        raise ApplicationError("Only a running campaign can be paused.", status=409)
    campaign.status = CallCampaign.Status.PAUSED
    campaign.save(update_fields=["status", "updated_at"])
    publish_campaign(campaign)
    return campaign


@transaction.atomic
def campaign_resume(*, actor: Actor, campaign: CallCampaign) -> CallCampaign:
    require_campaigner(actor)
    campaign = CallCampaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CallCampaign.Status.PAUSED:
        raise ApplicationError("Only a paused campaign can be resumed.", status=409)
    campaign.status = CallCampaign.Status.RUNNING
    campaign.save(update_fields=["status", "updated_at"])
    publish_campaign(campaign)
    transaction.on_commit(dispatch_soon)
    return campaign


def campaign_check_finished(campaign_id: int) -> None:
    """Mark the campaign finished once none of its calls waits or runs."""
    open_calls = CallSession.objects.filter(campaign_id=campaign_id).filter(
        ended_at__isnull=True
    )
    campaign = CallCampaign.objects.select_for_update().get(pk=campaign_id)
    if not open_calls.exists() and campaign.status == CallCampaign.Status.RUNNING:
        campaign.status = CallCampaign.Status.FINISHED
        campaign.finished_at = timezone.now()
        campaign.save(update_fields=["status", "finished_at", "updated_at"])
        _tell_who_started(campaign)
    publish_campaign(campaign)


def _tell_who_started(campaign: CallCampaign) -> None:
    """The member who started the campaign hears that it finished."""
    if campaign.started_by_id is None:
        return
    members = Membership.objects.filter(
        user_id=campaign.started_by_id, clinic_id=connection.tenant.pk, is_active=True
    ).values_list("pk", flat=True)
    notification_send(
        membership_ids=list(members),
        kind=NotificationKind.CAMPAIGN_FINISHED,
        title="Call campaign finished",
        url=reverse("calls-campaign", args=[campaign.pk]),
    )


def campaign_summary(campaign: CallCampaign) -> dict[str, int]:
    """How many calls ended each way, how many wait, run, or were left out."""
    counts = Counter(
        CallSession.objects.filter(campaign=campaign).values_list("outcome", flat=True)
    )
    waiting = CallSession.objects.filter(
        campaign=campaign, status=CallSession.Status.NOT_STARTED
    ).count()
    total = sum(counts.values())
    live = CallSession.objects.filter(
        campaign=campaign, placed_at__isnull=False, ended_at__isnull=True
    ).count()
    summary = {key: counts.get(key, 0) for key in SUMMARY}
    summary["no_answer"] += counts.get("busy", 0)
    # Answered, but nothing decided (hung up, said nothing usable, heard a message).
    summary["no_decision"] = sum(
        counts.get(k, 0) for k in ("hung_up", "no_response", "listened")
    )
    summary["not_placed"] = counts.get("skipped", 0) + counts.get("terminated", 0)
    summary.update(
        total=total,
        waiting=waiting,
        live=live,
        done=total - waiting - live,
        left_out=sum(campaign.skipped.values()) if campaign.skipped else 0,
    )
    return summary
