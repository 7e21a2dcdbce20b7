"""The call board: active and recent calls, live status, running duration, transcripts.

The page lists the calls; static/js/callboard.js keeps it current from the
clinic's events socket: a call's change fetches its row again (with this
page's access checks), a transcript turn is appended as it happens, and a
reconnect fetches every row again so nothing shown is stale.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from calls.models import CallSession, TranscriptTurn
from calls.permissions import can_place_calls
from calls.services.voice_dial import call_hangup, call_request
from calls.views.common import clinic_time, is_partial
from clinic.audit import ShownPatient, audit_record_search
from clinic.models import Appointment, Patient
from portal.decorators import staff_required
from portal.errors import ApplicationError
from portal.limits import parse_id

RECENT = 50


def _with_turns(rows: QuerySet[CallSession]) -> QuerySet[CallSession]:
    return rows.select_related("patient", "campaign").prefetch_related(
        Prefetch("turns", queryset=TranscriptTurn.objects.order_by("at", "id"))
    )


def board_rows() -> tuple[list[CallSession], list[CallSession]]:
    """(active, recent): calls waiting or live, and the latest that ended."""
    active = list(
        _with_turns(CallSession.objects.filter(ended_at__isnull=True)).order_by(
            "created_at", "id"
        )[:200]
    )
    recent = list(
        _with_turns(CallSession.objects.filter(ended_at__isnull=False)).order_by(
            "-ended_at", "-id"
        )[:RECENT]
    )
    return active, recent


def _shown(rows: list[CallSession], what: str) -> None:
    audit_record_search(
        patients=[
            ShownPatient(pk)
            for pk in dict.fromkeys(r.patient_id for r in rows if r.patient_id)
        ],
        query="",
        via="page",
        filters={},
        what=what,
    )


def _context(request: HttpRequest) -> dict[str, Any]:
    active, recent = board_rows()
    _shown(active + recent, "Call board")
    return {
        "active": active,
        "recent": recent,
        "can_call": can_place_calls(request.membership),
    }


@never_cache
@staff_required
@clinic_time
def call_board(request: HttpRequest) -> HttpResponse:
    return render(request, "calls/board.html", _context(request))


@never_cache
@staff_required
@clinic_time
def call_rows(request: HttpRequest) -> HttpResponse:
    """Both lists again (the page catching up after a reconnect)."""
    return render(request, "calls/_board_lists.html", _context(request))


@never_cache
@staff_required
@clinic_time
def call_row(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(_with_turns(CallSession.objects.all()), pk=pk)
    _shown([session], "Call board")
    return render(
        request,
        "calls/_call_row.html",
        {"call": session, "can_call": can_place_calls(request.membership)},
    )


@require_POST
@staff_required
@clinic_time
def call_hangup_view(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(CallSession.objects.all(), pk=pk)
    try:
        session = call_hangup(actor=request.membership, session=session)
    except ApplicationError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
    if is_partial(request):
        return call_row(request, pk)
    return redirect("calls-board")


@require_POST
@staff_required
def call_start(request: HttpRequest, patient_pk: int) -> HttpResponse:
    """The Call button of the patient and appointment pages."""
    patient = get_object_or_404(Patient.objects.all(), pk=patient_pk)
    visit_id = parse_id(request.POST.get("appointment"))
    visit = (
        get_object_or_404(Appointment.objects.all(), pk=visit_id, patient=patient)
        if visit_id
        else None
    )
    purpose = request.POST.get("purpose") or (
        CallSession.Purpose.CONFIRMATION if visit else CallSession.Purpose.RECALL
    )
    try:
        call_request(
            actor=request.membership,
            patient=patient,
            appointment=visit,
            purpose=purpose,
            message=request.POST.get("message", ""),
        )
    except ApplicationError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
        return _back(patient, visit)
    except ValidationError as exc:
        messages.error(
            request, " ".join(m for ms in exc.message_dict.values() for m in ms)
        )
        return _back(patient, visit)
    messages.success(request, "The call is queued; follow it on the call board.")
    return redirect("calls-board")


def _back(patient: Patient, visit: Appointment | None) -> HttpResponse:
    if visit is not None:
        return redirect("appointment-panel", pk=visit.pk)
    return redirect(patient.get_absolute_url())
