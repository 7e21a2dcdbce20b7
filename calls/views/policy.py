"""The clinic admin's reminder page: steps, quiet hours, caps, texts (live preview), visit types."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from calls import texts
from calls.forms import PolicyForm, TemplateForm, TypePolicyForm, offsets_text
from calls.models import ReminderTypePolicy, TemplateKind
from calls.policy import clinic_zone, policy_current
from calls.services.common import Templates, national
from calls.services.policy import (
    message_template_save,
    reminder_policy_update,
    reminder_type_policy_save,
)
from calls.views.common import clinic_time
from clinic.models import AppointmentType, Location, Provider
from portal.decorators import role_required
from portal.errors import ApplicationError
from portal.models import Role

admin_required = role_required(Role.ADMIN)


def _sample_values(request: HttpRequest, language: str) -> dict[str, str]:
    """What a preview fills the placeholders with: this clinic's own names, a visit next week."""
    tz = clinic_zone()
    day = timezone.localdate(timezone=tz) + timedelta(days=7)
    start = datetime.combine(day, time(9, 30), tzinfo=tz)
    provider = Provider.objects.filter(is_active=True).order_by("name").first()
    location = Location.objects.filter(is_active=True).order_by("name").first()
    clinic = request.tenant
    confirm, _ = texts.REPLY_INSTRUCTIONS[language]
    return {
        "first_name": "Alexandra" if language == "en" else "Guadalupe",
        "clinic": clinic.name,
        "clinic_phone": national(clinic.main_phone)
        if clinic.main_phone
        else "(555) 010-0000",
        "provider": provider.name if provider else "Dr. Ada Able",
        "date": texts.format_date(start, tz, language),
        "time": texts.format_time(start, tz, language),
        "location": location.name if location else "Main office",
        "reply_instructions": confirm,
        "hold_until": "10:30",
    }


def _preview(request: HttpRequest, body: str, language: str) -> dict[str, Any]:
    problems = texts.template_problems(body)
    rendered = (
        texts.render(body, _sample_values(request, language)) if not problems else ""
    )
    return {
        "problems": problems,
        "text": rendered,
        "segments": texts.segments(rendered) if rendered else None,
    }


def _templates_context(request: HttpRequest) -> list[dict[str, Any]]:
    stored = Templates()
    kinds = []
    for kind in TemplateKind:
        rows = []
        for language in texts.LANGUAGES:
            body = stored.body(kind, language)
            rows.append(
                {
                    "language": language,
                    "custom": (kind, language, None) in stored.rows,
                    "form": TemplateForm(
                        initial={"kind": kind, "language": language, "body": body}
                    ),
                    "preview": _preview(request, body, language),
                    "id": f"{kind}-{language}",
                }
            )
        kinds.append({"kind": kind, "label": kind.label, "rows": rows})
    return kinds


def _types_context() -> list[SimpleNamespace]:
    overrides = {o.appointment_type_id: o for o in ReminderTypePolicy.objects.all()}
    result = []
    for kind in AppointmentType.objects.filter(is_active=True).order_by("name"):
        own = overrides.get(kind.pk)
        initial = {
            "reminders_enabled": own.reminders_enabled if own else True,
            "steps": offsets_text(own.steps) if own and own.steps is not None else "",
            "booking_confirmation": ""
            if not own or own.booking_confirmation is None
            else ("yes" if own.booking_confirmation else "no"),
        }
        form = TypePolicyForm(initial=initial, prefix=f"t{kind.pk}")
        for field in form.fields.values():
            field.widget.attrs["form"] = (
                f"type-{kind.pk}"  # a table row cannot hold a form
            )
        result.append(SimpleNamespace(type=kind, form=form))
    return result


@never_cache
@admin_required
@clinic_time
def policy_page(request: HttpRequest) -> HttpResponse:
    policy = policy_current()
    form = PolicyForm.for_policy(
        policy, request.POST if request.method == "POST" else None
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                reminder_policy_update(actor=request.membership, **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request, "Reminder policy saved. Upcoming visits are planned again."
                )
                return redirect("messages-policy")
        status = 400
    return render(
        request,
        "calls/policy.html",
        {
            "form": form,
            "policy": policy,
            "templates": _templates_context(request),
            "types": _types_context(),
            "placeholders": texts.PLACEHOLDERS,
        },
        status=status,
    )


@require_POST
@admin_required
def template_save(request: HttpRequest) -> HttpResponse:
    form = TemplateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            message_template_save(
                actor=request.membership,
                kind=data["kind"],
                language=data["language"],
                body=data["body"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            label = TemplateKind(data["kind"]).label
            messages.success(request, f"“{label}” ({data['language'].upper()}) saved.")
    else:
        messages.error(request, "That text could not be saved.")
    return redirect("messages-policy")


@require_POST
@admin_required
def type_policy_save(request: HttpRequest, pk: int) -> HttpResponse:
    kind = get_object_or_404(AppointmentType.objects.all(), pk=pk)
    form = TypePolicyForm(request.POST, prefix=f"t{kind.pk}")
    if form.is_valid():
        try:
            reminder_type_policy_save(
                actor=request.membership, appointment_type=kind, **form.cleaned_data
            )
        except ValidationError as exc:
            messages.error(request, f"{kind}: " + " ".join(exc.messages))
        else:
            messages.success(request, f"Reminders of “{kind}” saved.")
    else:
        messages.error(
            request,
            f"{kind}: " + " ".join(e for errs in form.errors.values() for e in errs),
        )
    return redirect("messages-policy")


@require_POST
@admin_required
@clinic_time
def preview(request: HttpRequest) -> HttpResponse:
    """The live preview under a text being edited: rendered, its segments, what is wrong."""
    language = request.POST.get("language", "en")
    language = language if language in texts.LANGUAGES else "en"
    body = (request.POST.get("body") or "")[:1600]
    return render(
        request,
        "calls/_template_preview.html",
        {"preview": _preview(request, body, language)},
    )
