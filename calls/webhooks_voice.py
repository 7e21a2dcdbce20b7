"""Twilio's voice webhooks on a clinic's host: status, AMD, the flow's steps, dial-in.

Signed like the SMS webhooks (calls.webhooks): the signature of the URL as our
public site names it and of the parameters, or 403 and nothing changes. The
session id rides in the URLs we gave Twilio (so a callback finds its session
even when the worker that placed the call died before storing the SID); the
CallSid must match it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calls.services.voice_state import call_status_apply
from calls.voice import flow
from calls.voice.incoming import call_incoming
from calls.voice.machine import amd_apply
from calls.webhooks import _signed
from portal.limits import parse_id


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def _twiml(document: str) -> HttpResponse:
    return HttpResponse(document, content_type="text/xml")


def signed_voice(view):
    """POST only, CSRF-free (Twilio signs instead), 403 unless signed, 400 without a CallSid."""

    @csrf_exempt
    @require_POST
    def wrapper(request: HttpRequest) -> HttpResponse:
        if not _signed(request):
            return HttpResponseForbidden()
        if not request.POST.get("CallSid"):
            return HttpResponse(status=400)
        return view(
            request, request.POST["CallSid"], parse_id(request.GET.get("session"))
        )

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@signed_voice
def voice_status(
    request: HttpRequest, sid: str, session_id: int | None
) -> HttpResponse:
    """A call's status changed (any order, possibly repeated)."""
    data = request.POST
    call_status_apply(
        session_id=session_id,
        sid=sid,
        carrier_status=data.get("CallStatus", ""),
        sequence=_int(data.get("SequenceNumber")),
        timestamp=data.get("Timestamp", ""),
        duration=_int(data.get("CallDuration")),
        error_code=_int(data.get("ErrorCode")),
    )
    return HttpResponse(status=204)


@signed_voice
def voice_amd(request: HttpRequest, sid: str, session_id: int | None) -> HttpResponse:
    """Who answered (asynchronous answering-machine detection)."""
    amd_apply(
        session_id=session_id, sid=sid, answered_by=request.POST.get("AnsweredBy", "")
    )
    return HttpResponse(status=204)


@signed_voice
def voice_flow(request: HttpRequest, sid: str, session_id: int | None) -> HttpResponse:
    """The call was answered: what to say first."""
    return _twiml(flow.flow_start(session_id=session_id, sid=sid))


@signed_voice
def voice_gather(
    request: HttpRequest, sid: str, session_id: int | None
) -> HttpResponse:
    data = request.POST
    return _twiml(
        flow.flow_answer(
            session_id=session_id,
            sid=sid,
            step=_int(request.GET.get("step")),
            digits=data.get("Digits", "")[:20],
            speech=data.get("SpeechResult", "")[:500],
            confidence=data.get("Confidence", ""),
        )
    )


@signed_voice
def voice_no_input(
    request: HttpRequest, sid: str, session_id: int | None
) -> HttpResponse:
    return _twiml(
        flow.flow_no_input(
            session_id=session_id, sid=sid, step=_int(request.GET.get("step"))
        )
    )


@signed_voice
def voice_dial(request: HttpRequest, sid: str, session_id: int | None) -> HttpResponse:
    """The transfer to staff ended."""
    return _twiml(
        flow.flow_dial_done(
            session_id=session_id,
            sid=sid,
            dial_status=request.POST.get("DialCallStatus", ""),
        )
    )


@signed_voice
def voice_incoming(
    request: HttpRequest, sid: str, session_id: int | None
) -> HttpResponse:
    """Someone called the clinic's number (it must be this clinic's, else 404)."""
    to = request.POST.get("To", "")
    if not to or to != request.tenant.main_phone:
        return HttpResponse(status=404)
    sender = request.POST.get("From", "")
    return _twiml(call_incoming(sid=sid, from_=sender, to=to))
