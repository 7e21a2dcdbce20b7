"""Call campaigns: start one, watch its progress and outcomes live, pause, resume, export."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from calls.models import CallCampaign, CallSession
from calls.permissions import can_run_campaigns
from calls.policy import clinic_zone
from calls.services.voice_campaigns import (
    campaign_pause,
    campaign_resume,
    campaign_start,
    campaign_summary,
)
from calls.views.common import clinic_time
from clinic.audit import ShownPatient, audit_record_search
from clinic.models import Workflow
from portal.decorators import staff_required
from portal.errors import ApplicationError
from portal.limits import parse_id


def _refusal(exc: ApplicationError) -> None:
    if exc.status == 403:
        raise PermissionDenied(exc.message) from exc


@never_cache
@staff_required
@clinic_time
def campaign_list(request: HttpRequest) -> HttpResponse:
    """The clinic's campaigns, and the form that starts one."""
    errors: list[str] = []
    if request.method == "POST":
        if not can_run_campaigns(request.membership):
            raise PermissionDenied(
                "Only the clinic's admins and front desk run call campaigns."
            )
        kind = request.POST.get("kind", "")
        workflow = None
        if workflow_id := parse_id(request.POST.get("workflow")):
            workflow = Workflow.objects.filter(pk=workflow_id).first()
        try:
            day = (
                date.fromisoformat(request.POST["day"])
                if request.POST.get("day")
                else None
            )
        except ValueError:
            day = None
            errors.append("Give the day as YYYY-MM-DD.")
        if not errors:
            try:
                campaign = campaign_start(
                    actor=request.membership,
                    name=request.POST.get("name", ""),
                    kind=kind,
                    workflow=workflow,
                    day=day,
                )
            except ApplicationError as exc:
                _refusal(exc)
                errors.append(exc.message)
            except ValidationError as exc:
                errors.extend(m for ms in exc.message_dict.values() for m in ms)
            else:
                return redirect("calls-campaign", pk=campaign.pk)
    campaigns = list(CallCampaign.objects.all()[:100])
    return render(
        request,
        "calls/campaigns.html",
        {
            "campaigns": campaigns,
            "workflows": Workflow.objects.filter(is_active=True),
            "errors": errors,
            "can_run": can_run_campaigns(request.membership),
            "today": timezone.localdate(timezone=clinic_zone()),
        },
        status=400 if errors else 200,
    )


def _detail_context(request: HttpRequest, campaign: CallCampaign) -> dict[str, Any]:
    sessions = list(
        CallSession.objects.filter(campaign=campaign)
        .select_related("patient", "appointment")
        .order_by("created_at", "id")
    )
    audit_record_search(
        patients=[ShownPatient(s.patient_id) for s in sessions if s.patient_id],
        query="",
        via="page",
        filters={"campaign": campaign.pk},
        what="Call campaign",
    )
    summary = campaign_summary(campaign)
    return {
        "campaign": campaign,
        "sessions": sessions,
        "summary": summary,
        "percent": round(100 * summary["done"] / summary["total"])
        if summary["total"]
        else 100,
        "can_run": can_run_campaigns(request.membership),
    }


@never_cache
@staff_required
@clinic_time
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(CallCampaign.objects.all(), pk=pk)
    return render(
        request, "calls/campaign_detail.html", _detail_context(request, campaign)
    )


@never_cache
@staff_required
@clinic_time
def campaign_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, summary and per-patient outcomes (the page refreshes it live)."""
    campaign = get_object_or_404(CallCampaign.objects.all(), pk=pk)
    return render(
        request, "calls/_campaign_progress.html", _detail_context(request, campaign)
    )


@require_POST
@staff_required
def campaign_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    campaign = get_object_or_404(CallCampaign.objects.all(), pk=pk)
    services = {"pause": campaign_pause, "resume": campaign_resume}
    if action not in services:
        raise Http404
    try:
        services[action](actor=request.membership, campaign=campaign)
    except ApplicationError as exc:
        _refusal(exc)
        messages.error(request, exc.message)
    return redirect("calls-campaign", pk=pk)


@staff_required
def campaign_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """One line per patient called: the outcome, the status, the times."""
    campaign = get_object_or_404(CallCampaign.objects.all(), pk=pk)
    context = _detail_context(request, campaign)
    tz = clinic_zone()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "patient_id",
            "patient",
            "visit_id",
            "status",
            "outcome",
            "attempt",
            "placed_at",
            "ended_at",
            "duration_seconds",
            "call_sid",
        ]
    )
    for s in context["sessions"]:
        writer.writerow(
            [
                s.patient_id or "",
                str(s.patient) if s.patient else "",
                s.appointment_id or "",
                s.get_status_display(),
                s.get_outcome_display() if s.outcome else "",
                s.attempt,
                s.placed_at.astimezone(tz).isoformat() if s.placed_at else "",
                s.ended_at.astimezone(tz).isoformat() if s.ended_at else "",
                s.duration_seconds if s.duration_seconds is not None else "",
                s.sid or "",
            ]
        )
    writer.writerow([])
    for key, value in context["summary"].items():
        writer.writerow(["summary", key, value])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="campaign-{campaign.pk}.csv"'
    )
    return response
