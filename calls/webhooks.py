"""Twilio's webhooks on a clinic's host: message status callbacks and inbound texts.

Each request must carry Twilio's signature of the URL as our public site
names it (PORTAL_PUBLIC_URL with the clinic's subdomain, see
portal.links.clinic_base_url) and of its parameters. The Host, port and
scheme the request arrived with play no part, so nothing between Twilio and
us can change what was signed. Anything unsigned or wrongly signed is a 403
and changes nothing.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calls import gateway
from calls.services.inbound import inbound_receive
from calls.services.outbox import message_status_apply
from portal.limits import parse_id
from portal.links import clinic_url

logger = logging.getLogger(__name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _signed(request: HttpRequest) -> bool:
    url = clinic_url(request.tenant, request.get_full_path())
    signature = request.headers.get("X-Twilio-Signature", "")
    return gateway.signature_valid(url=url, params=request.POST, signature=signature)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@csrf_exempt
@require_POST
def sms_status(request: HttpRequest) -> HttpResponse:
    """A message's status changed at the carrier (any order, possibly repeated)."""
    if not _signed(request):
        return HttpResponseForbidden()
    data = request.POST
    sid = data.get("MessageSid") or data.get("SmsSid") or ""
    status = data.get("MessageStatus") or data.get("SmsStatus") or ""
    if not sid or not status:
        return HttpResponse(status=400)
    message_status_apply(
        sid=sid,
        provider_status=status,
        error_code=_int(data.get("ErrorCode")),
        error_message=data.get("ErrorMessage", ""),
        outbox_id=parse_id(request.GET.get("outbox")),
        to=data.get("To", ""),
    )
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """A patient texted the clinic's number."""
    if not _signed(request):
        return HttpResponseForbidden()
    data = request.POST
    to = data.get("To", "")
    if not to or to != request.tenant.main_phone:
        # Not this clinic's number: another clinic's text never lands here.
        return HttpResponse(status=404)
    sid = data.get("MessageSid") or data.get("SmsSid") or ""
    sender = data.get("From", "")
    if not sid or not sender:
        return HttpResponse(status=400)
    inbound_receive(sid=sid, from_=sender, to=to, body=data.get("Body", ""))
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
