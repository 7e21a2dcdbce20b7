"""The clinic's settings page, for its admins; writes through the set-up service."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from clinic import services
from clinic.actors import request_actor
from clinic.forms.settings import ClinicSettingsForm
from clinic.permissions import Perm, roles_with
from portal.decorators import role_required


@never_cache
@require_http_methods(["GET", "POST"])
@role_required(*roles_with(Perm.EDIT_SETTINGS))
def clinic_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ClinicSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.clinic_settings_update(
                    actor=request_actor(request), **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Settings saved.")
                return redirect("clinic-settings")
        return render(
            request, "clinic/clinic_settings.html", {"form": form}, status=400
        )
    form = ClinicSettingsForm(initial=ClinicSettingsForm.initial_for(request.tenant))
    return render(request, "clinic/clinic_settings.html", {"form": form})
