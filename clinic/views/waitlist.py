"""The waitlist page: patients waiting for a slot, and freed slots that fit them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from clinic import selectors, services
from clinic.actors import request_actor
from clinic.audit import ShownPatient, audit_record_search
from clinic.forms.schedule import WEEKDAY_CHOICES, WaitlistBookForm, WaitlistForm
from clinic.models import Patient, WaitlistEntry
from clinic.permissions import Perm, may
from clinic.selectors.scheduling import OpenSlot
from clinic.views.appointments import panel_response
from clinic.views.booking import picked_patient
from clinic.views.helpers import clinic_time, conflicting_appointments, is_partial
from portal.decorators import staff_required
from portal.errors import ApplicationError
from portal.limits import parse_id

FREED_SLOTS_SHOWN = 20
MATCHES_PER_SLOT = 5
DAY_NAMES = dict(WEEKDAY_CHOICES)


def _waiting() -> list[WaitlistEntry]:
    entries = list(
        WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING)
        .select_related("patient", "provider", "appointment_type")
        .order_by("created_at", "id")
    )
    for entry in entries:
        entry.day_names = ", ".join(
            DAY_NAMES[d] for d in entry.weekdays if d in DAY_NAMES
        )
    return entries


def _freed() -> list[dict[str, Any]]:
    """Freed future slots, each with the waiting patients it fits, best first.

    A fixed number of queries, however many slots and entries there are.
    """
    out = []
    slots = selectors.freed_slots(limit=FREED_SLOTS_SHOWN)
    all_matches = selectors.waitlist_matches_for_slots(
        OpenSlot(slot.provider, slot.appointment_type, slot.start, slot.end)
        for slot in slots
    )
    for slot, matches in zip(slots, all_matches, strict=True):
        out.append(
            {
                "slot": slot,
                "matches": matches[:MATCHES_PER_SLOT],
                "more": len(matches) > MATCHES_PER_SLOT,
            }
        )
    return out


def _page(
    request: HttpRequest,
    *,
    form: WaitlistForm | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    if form is None:
        initial = {}
        pk = parse_id(request.GET.get("patient"))
        if pk is not None:
            initial["patient"] = Patient.objects.filter(
                pk=pk, status=Patient.Status.ACTIVE
            ).first()
        form = WaitlistForm(initial=initial)
    freed = _freed()
    entries = _waiting()
    # The page names every waiting patient and each freed slot's matches.
    shown = [e.patient_id for e in entries] + [
        m.entry.patient_id for item in freed for m in item["matches"]
    ]
    if shown:
        audit_record_search(
            patients=[ShownPatient(pk) for pk in dict.fromkeys(shown)],
            query="",
            via="waitlist",
            filters={},
            what="Waitlist",
        )
    context = {
        "form": form,
        "picked": picked_patient(form),
        "entries": entries,
        "freed": [item for item in freed if item["matches"]],
        "unmatched": [item["slot"] for item in freed if not item["matches"]],
        # Billing staff only read the waitlist: no add, remove or book controls.
        "can_change": may(request_actor(request), Perm.MANAGE_WAITLIST),
        **extra,
    }
    return render(request, "clinic/waitlist.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required
@clinic_time
def waitlist(request: HttpRequest) -> HttpResponse:
    """The waitlist; POST adds a patient to it."""
    if request.method != "POST":
        return _page(request)
    form = WaitlistForm(request.POST)
    if form.is_valid():
        try:
            services.waitlist_add(**form.service_kwargs(), actor=request_actor(request))
        except ValidationError as exc:
            form.add_service_errors(exc)
        except ApplicationError as exc:
            return _page(request, form=form, status=exc.status, error=exc.message)
        else:
            messages.success(request, "Added to the waitlist.")
            return redirect("waitlist")
    return _page(request, form=form, status=400)


@never_cache
@require_POST
@staff_required
@clinic_time
def waitlist_remove(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(WaitlistEntry, pk=pk)
    try:
        services.waitlist_remove(entry=entry, actor=request_actor(request))
    except ApplicationError as exc:
        return _page(request, status=exc.status, error=exc.message)
    messages.success(request, "Removed from the waitlist.")
    return redirect("waitlist")


@never_cache
@require_POST
@staff_required
@clinic_time
def waitlist_book(request: HttpRequest, pk: int) -> HttpResponse:
    """Book a waiting patient into a freed slot (from this page or a visit's panel)."""
    entry = get_object_or_404(WaitlistEntry, pk=pk)
    form = WaitlistBookForm(request.POST)
    from_panel = parse_id(request.POST.get("panel"))
    error: str | None = None
    conflicts: list = []
    status = 400
    if form.is_valid():
        try:
            appointment = services.waitlist_book(
                entry=entry,
                provider=form.cleaned_data["provider"],
                start=form.cleaned_data["start"],
                actor=request_actor(request),
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except ApplicationError as exc:
            error, conflicts, status = (
                exc.message,
                conflicting_appointments(exc),
                exc.status,
            )
        else:
            if is_partial(request):
                response = panel_response(
                    request, appointment.pk, notice="Booked from the waitlist."
                )
                response["HX-Trigger"] = "appointments-changed"
                return response
            messages.success(request, "Booked from the waitlist.")
            return redirect("waitlist")
    else:
        error = " ".join(" ".join(errors) for errors in form.errors.values())
    if is_partial(request) and from_panel is not None:
        return panel_response(
            request, from_panel, status=status, error=error, conflicts=conflicts
        )
    return _page(request, status=status, error=error, conflicts=conflicts)
