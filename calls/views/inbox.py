"""The conversations inbox: threads, a reply box, the opt-out state, live over Channels.

The page lists threads (newest first, unread counts) and shows one; new texts
and status changes arrive over the clinic's events socket (static/js/messages.js
fetches the changed parts again). Opening a thread marks it read.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from calls import selectors
from calls.forms import ReplyForm
from calls.models import Conversation
from calls.permissions import can_send_messages
from calls.services.consent import number_opted_out, patient_opt_out_record
from calls.services.staff import (
    conversation_mark_read,
    conversation_settle,
    message_send_staff,
    sending_problem,
)
from calls.views.common import clinic_time, is_partial
from clinic.audit import ShownPatient, audit_record_access, audit_record_search
from clinic.models import Patient
from portal.decorators import staff_required
from portal.errors import ApplicationError
from portal.limits import parse_id

LIST_LIMIT = 100


def _list_context(request: HttpRequest) -> dict[str, Any]:
    q = (request.GET.get("q") or "").strip()[:100]
    show = request.GET.get("show", "")
    rows = list(
        selectors.conversations(
            q=q, attention=show == "attention", unread=show == "unread"
        )[:LIST_LIMIT]
    )
    audit_record_search(
        patients=[ShownPatient(c.patient_id) for c in rows if c.patient_id],
        query=q,
        via="page",
        filters={"show": show},
        what="Messages",
    )
    opted = selectors.opted_out_among([c.number for c in rows])
    for row in rows:
        row.opted_out = row.number in opted
    return {"conversations": rows, "q": q, "show": show}


def _thread_context(
    request: HttpRequest,
    *,
    conversation: Conversation | None,
    patient: Patient | None,
    form: ReplyForm | None = None,
    error: str = "",
) -> dict[str, Any]:
    membership = request.membership
    if conversation is not None:
        patient = conversation.patient
        conversation_mark_read(actor=membership, conversation=conversation)
    if patient is not None:
        audit_record_access(patient=patient, via="page")
    number = patient.phone if patient is not None else conversation.number
    problem = ""
    if patient is None:
        problem = (
            "This number belongs to no single patient: open the patient to text them."
        )
    else:
        problem = sending_problem(patient)[1]
    return {
        "conversation": conversation,
        "patient": patient,
        "number": number,
        "opted_out": number_opted_out(number),
        # "texts", not "messages": that name is the flash messages' in every page.
        "texts": selectors.thread(conversation=conversation) if conversation else [],
        "can_send": can_send_messages(membership),
        "send_problem": problem,
        "form": form or ReplyForm(),
        "error": error,
    }


@never_cache
@staff_required
@clinic_time
def inbox(request: HttpRequest) -> HttpResponse:
    context = _list_context(request)
    patient_id = parse_id(request.GET.get("patient"))
    conversation_id = parse_id(request.GET.get("c"))
    conversation = patient = None
    if conversation_id:
        conversation = get_object_or_404(
            Conversation.objects.select_related("patient"), pk=conversation_id
        )
    elif patient_id:
        patient = get_object_or_404(Patient.objects.all(), pk=patient_id)
        conversation = (
            Conversation.objects.filter(patient=patient)
            .select_related("patient")
            .first()
        )
    if conversation or patient:
        context.update(
            _thread_context(request, conversation=conversation, patient=patient),
            has_thread=True,
        )
    return render(request, "calls/inbox.html", context)


@never_cache
@staff_required
@clinic_time
def conversation_list(request: HttpRequest) -> HttpResponse:
    return render(request, "calls/_conversation_list.html", _list_context(request))


@never_cache
@staff_required
@clinic_time
def thread(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = get_object_or_404(
        Conversation.objects.select_related("patient"), pk=pk
    )
    if not is_partial(request):
        return redirect(f"{reverse('messages-inbox')}?c={pk}")
    # Live updates fetch the texts alone, leaving a reply being written alone.
    template = (
        "calls/_thread_texts.html"
        if request.GET.get("part") == "texts"
        else "calls/_thread.html"
    )
    return render(
        request,
        template,
        _thread_context(request, conversation=conversation, patient=None),
    )


@require_POST
@staff_required
@clinic_time
def reply(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = get_object_or_404(Patient.objects.all(), pk=patient_pk)
    form = ReplyForm(request.POST)
    status, error = 200, ""
    if form.is_valid():
        try:
            message_send_staff(
                actor=request.membership,
                patient=patient,
                body=form.cleaned_data["body"],
            )
        except ApplicationError as exc:
            status, error = exc.status, exc.message
        except ValidationError as exc:
            form.add_error(None, exc)
            status = 400
        else:
            form = ReplyForm()
    else:
        status = 400
    conversation = (
        Conversation.objects.filter(patient=patient).select_related("patient").first()
    )
    if not is_partial(request) and status == 200:
        return redirect(f"{reverse('messages-inbox')}?patient={patient.pk}")
    context = _thread_context(
        request, conversation=conversation, patient=patient, form=form, error=error
    )
    if is_partial(request):
        return render(request, "calls/_thread.html", context, status=status)
    # Without JavaScript: the whole page again, with what went wrong.
    return render(
        request,
        "calls/inbox.html",
        {**_list_context(request), **context, "has_thread": True},
        status=status,
    )


@require_POST
@staff_required
@clinic_time
def settle(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = get_object_or_404(
        Conversation.objects.select_related("patient"), pk=pk
    )
    error = ""
    try:
        conversation_settle(actor=request.membership, conversation=conversation)
    except ApplicationError as exc:
        error = exc.message
    conversation.refresh_from_db()
    if not is_partial(request):
        return redirect(f"{reverse('messages-inbox')}?c={pk}")
    return render(
        request,
        "calls/_thread.html",
        _thread_context(request, conversation=conversation, patient=None, error=error),
    )


@require_POST
@staff_required
@clinic_time
def opt_out(request: HttpRequest, patient_pk: int) -> HttpResponse:
    """The patient asked (by phone, at the desk) for no more texts."""
    patient = get_object_or_404(Patient.objects.all(), pk=patient_pk)
    error = ""
    try:
        patient_opt_out_record(actor=request.membership, patient=patient)
    except ApplicationError as exc:
        error = exc.message
    if not is_partial(request):
        return redirect(f"{reverse('messages-inbox')}?patient={patient.pk}")
    conversation = (
        Conversation.objects.filter(patient=patient).select_related("patient").first()
    )
    return render(
        request,
        "calls/_thread.html",
        _thread_context(
            request, conversation=conversation, patient=patient, error=error
        ),
    )


@never_cache
@staff_required
def unread_badge(request: HttpRequest) -> HttpResponse:
    return render(
        request, "calls/_unread_badge.html", {"unread": selectors.unread_total()}
    )
