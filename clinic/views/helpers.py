"""What the schedule pages share: the clinic's clock, htmx targets, the visit lookup."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from clinic.clock import clinic_tz
from clinic.models import Appointment, AppointmentEvent, Patient
from portal.errors import ApplicationError
from portal.limits import parse_id


def clinic_time(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Render in the clinic's timezone: htmx partials have no base layout to set it."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with timezone.override(clinic_tz()):
            return view(request, *args, **kwargs)

    return wrapper


def is_partial(request: HttpRequest, target: str | None = None) -> bool:
    """An htmx request (not a history restore), aimed at `target` if given."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return False
    return target is None or htmx.target == target


def appointment_or_404(pk: int) -> Appointment:
    """The appointment with this id in this clinic; 404 if missing or elsewhere."""
    return get_object_or_404(
        Appointment.objects.select_related(
            "patient", "provider", "appointment_type", "location", "room"
        ).prefetch_related(
            Prefetch(
                "events",
                queryset=AppointmentEvent.objects.select_related(
                    "by", "old_provider"
                ).order_by("at", "id"),
            )
        ),
        pk=pk,
    )


def conflicting_appointments(exc: ApplicationError) -> list[Appointment]:
    ids = [c["id"] for c in exc.extra.get("conflicts", [])]
    if not ids:
        return []
    return list(
        Appointment.objects.filter(pk__in=ids)
        .select_related("patient", "provider", "appointment_type")
        .order_by("start")
    )


def booking_patient(request: HttpRequest) -> Patient | None:
    """The patient a schedule page books for (from a patient's "Book" link)."""
    pk = parse_id(request.GET.get("patient"))
    if pk is None:
        return None
    return Patient.objects.filter(pk=pk, status=Patient.Status.ACTIVE).first()
