"""The clinic's home page."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinic import selectors
from clinic.models import Patient
from portal.decorators import staff_required


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    """A small dashboard: search, quick links, and active patients per workflow."""
    workflows = selectors.workflows_active().annotate(
        active_patients=Count(
            "patients", filter=Q(patients__status=Patient.Status.ACTIVE)
        )
    )
    return render(request, "clinic/home.html", {"workflows": workflows})
