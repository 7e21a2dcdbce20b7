"""Staff offer a freed slot to the waitlist by text (from the appointment panel)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from calls.policy import clinic_zone
from calls.services.offers import waitlist_offer_create
from clinic.models import Appointment
from portal.decorators import staff_required
from portal.errors import ApplicationError


@require_POST
@staff_required
def offer_slot(request: HttpRequest, appointment_pk: int) -> HttpResponse:
    """Offer the slot a cancelled visit freed to the best-fitting waiting patients."""
    visit = get_object_or_404(
        Appointment.objects.select_related("provider", "appointment_type"),
        pk=appointment_pk,
    )
    if visit.status != Appointment.Status.CANCELLED:
        messages.error(request, "Only a cancelled visit's slot can be offered.")
    else:
        try:
            offer = waitlist_offer_create(
                actor=request.membership,
                provider=visit.provider,
                appointment_type=visit.appointment_type,
                start=visit.start,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            count = offer.recipients.count()
            messages.success(
                request,
                f"Offered to {count} waiting patient{'s' if count != 1 else ''}; "
                f"held until {timezone.localtime(offer.hold_until, clinic_zone()):%H:%M}.",
            )
    return redirect("appointment-panel", pk=visit.pk)
