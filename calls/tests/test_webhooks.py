"""Twilio's webhooks: signed for the public URL or refused, applied once, never backwards."""

from __future__ import annotations

import pytest
from django.test import override_settings

from calls.models import Conversation, Message, MessageEvent
from calls.tests.conftest import ALPHA_NUMBER, BETA_NUMBER, post_signed, sign
from clinic.tests.factories import PatientFactory
from portal.links import clinic_url

STATUS = "/twilio/sms/status/"
INBOUND = "/twilio/sms/inbound/"
SID = "SM" + "a" * 32


@pytest.fixture
def sent(in_clinic) -> Message:
    """A reminder the carrier accepted (queued)."""
    patient = PatientFactory(sms_consent=True, phone="+16175550111")
    conversation = Conversation.objects.create(patient=patient, number=patient.phone)
    return Message.objects.create(
        conversation=conversation,
        patient=patient,
        direction="outbound",
        purpose="staff",
        to_number=patient.phone,
        from_number=ALPHA_NUMBER,
        body="Hello",
        status="queued",
        sid=SID,
    )


def callback(status: str, sid: str = SID, **extra) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "MessageStatus": status,
        "SmsSid": sid,
        "SmsStatus": status,
        "To": "+16175550111",
        "From": ALPHA_NUMBER,
        "AccountSid": "AC" + "0" * 32,
        **extra,
    }


def reread(message: Message) -> Message:
    return Message.objects.get(pk=message.pk)


def test_an_unsigned_callback_is_refused_and_changes_nothing(hook_client, sent):
    response = hook_client.post(STATUS, callback("delivered"))
    assert response.status_code == 403
    assert reread(sent).status == "queued"
    assert not MessageEvent.objects.exists()


def test_a_callback_signed_with_another_token_is_refused(hook_client, clinic, sent):
    params = callback("delivered")
    signature = sign(clinic_url(clinic, STATUS), params, token="someone-elses-token")
    response = hook_client.post(STATUS, params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403
    assert reread(sent).status == "queued"


def test_a_signature_for_the_address_the_request_came_in_on_is_not_enough(
    hook_client, sent
):
    # Signed for the address behind the proxy, not the public URL Twilio was given.
    params = callback("delivered")
    signature = sign(f"http://10.0.0.5:8000{STATUS}", params)
    response = hook_client.post(STATUS, params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403
    assert reread(sent).status == "queued"


def test_tampered_parameters_break_the_signature(hook_client, clinic, sent):
    params = callback("delivered")
    signature = sign(clinic_url(clinic, STATUS), params)
    response = hook_client.post(
        STATUS, {**params, "MessageStatus": "failed"}, HTTP_X_TWILIO_SIGNATURE=signature
    )
    assert response.status_code == 403
    assert reread(sent).status == "queued"


def test_the_public_url_decides_not_x_forwarded_proto(
    hook_client, clinic, settings, sent
):
    settings.PORTAL_PUBLIC_URL = "https://portal.example.org"
    public = clinic_url(clinic, STATUS)
    assert public.startswith("https://alpha.portal.example.org")
    params = callback("sent")
    # Without BEHIND_TLS_PROXY the forwarded scheme is ignored: the public URL still holds.
    response = hook_client.post(
        STATUS,
        params,
        HTTP_X_TWILIO_SIGNATURE=sign(public, params),
        HTTP_X_FORWARDED_PROTO="http",
    )
    assert response.status_code == 204
    assert reread(sent).status == "sent"
    http_signature = sign(public.replace("https://", "http://"), callback("delivered"))
    response = hook_client.post(
        STATUS,
        callback("delivered"),
        HTTP_X_TWILIO_SIGNATURE=http_signature,
        HTTP_X_FORWARDED_PROTO="http",
    )
    assert response.status_code == 403
    assert reread(sent).status == "sent"


def test_a_signed_callback_moves_the_message_forward_and_records_the_step(
    hook_client, clinic, sent
):
    assert post_signed(hook_client, clinic, STATUS, callback("sent")).status_code == 204
    assert (
        post_signed(hook_client, clinic, STATUS, callback("delivered")).status_code
        == 204
    )
    message = reread(sent)
    assert message.status == "delivered"
    assert message.sent_at and message.delivered_at
    assert list(message.events.values_list("status", flat=True)) == [
        "sent",
        "delivered",
    ]


def test_a_duplicated_callback_is_applied_once(hook_client, clinic, sent):
    for _ in range(3):
        assert (
            post_signed(hook_client, clinic, STATUS, callback("delivered")).status_code
            == 204
        )
    assert reread(sent).status == "delivered"
    assert MessageEvent.objects.filter(message=sent).count() == 1


def test_a_late_sent_after_delivered_changes_nothing(hook_client, clinic, sent):
    post_signed(hook_client, clinic, STATUS, callback("delivered"))
    post_signed(hook_client, clinic, STATUS, callback("sent"))
    post_signed(hook_client, clinic, STATUS, callback("queued"))
    message = reread(sent)
    assert message.status == "delivered"
    late = message.events.get(status="sent")
    assert late.applied is False


@pytest.mark.parametrize(
    "final", ["delivered", "undelivered", "failed", "canceled", "read"]
)
def test_terminal_statuses_are_final(hook_client, clinic, sent, final):
    post_signed(hook_client, clinic, STATUS, callback(final, ErrorCode="30003"))
    for later in ["delivered", "failed", "read", "undelivered"]:
        post_signed(hook_client, clinic, STATUS, callback(later))
    assert reread(sent).status == final


def test_a_callback_for_an_unknown_message_is_accepted_and_ignored(
    hook_client, clinic, sent
):
    response = post_signed(
        hook_client, clinic, STATUS, callback("delivered", sid="SM" + "f" * 32)
    )
    assert response.status_code == 204
    assert reread(sent).status == "queued"


def test_a_callback_names_its_outbox_row_so_a_lost_sid_is_recovered(
    hook_client, clinic, sent
):
    orphan = Message.objects.create(
        conversation=sent.conversation,
        patient=sent.patient,
        direction="outbound",
        purpose="staff",
        to_number=sent.to_number,
        from_number=ALPHA_NUMBER,
        body="Hi",
        status="sending",
    )
    new_sid = "SM" + "b" * 32
    path = f"{STATUS}?outbox={orphan.pk}"
    assert (
        post_signed(
            hook_client, clinic, path, callback("sent", sid=new_sid)
        ).status_code
        == 204
    )
    orphan = reread(orphan)
    assert (orphan.sid, orphan.status) == (new_sid, "sent")


def test_a_callback_cannot_claim_an_outbox_row_of_another_number(
    hook_client, clinic, sent
):
    orphan = Message.objects.create(
        conversation=sent.conversation,
        direction="outbound",
        purpose="staff",
        to_number="+16175550999",
        from_number=ALPHA_NUMBER,
        body="Hi",
        status="sending",
    )
    path = f"{STATUS}?outbox={orphan.pk}"
    post_signed(hook_client, clinic, path, callback("sent", sid="SM" + "c" * 32))
    assert reread(orphan).sid is None


def test_get_is_not_allowed(hook_client):
    assert hook_client.get(STATUS).status_code == 405
    assert hook_client.get(INBOUND).status_code == 405


def inbound(
    body: str,
    sid: str = "SM" + "1" * 32,
    to: str = ALPHA_NUMBER,
    sender: str = "+16175550111",
):
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "From": sender,
        "To": to,
        "Body": body,
        "AccountSid": "AC" + "0" * 32,
        "NumMedia": "0",
    }


def test_an_inbound_text_to_another_clinics_number_is_not_found(
    hook_client, clinic, in_clinic
):
    response = post_signed(
        hook_client, clinic, INBOUND, inbound("Hello", to=BETA_NUMBER)
    )
    assert response.status_code == 404
    assert not Message.objects.exists()


def test_an_unsigned_inbound_text_is_refused(hook_client, in_clinic):
    assert hook_client.post(INBOUND, inbound("STOP")).status_code == 403
    assert not Message.objects.exists()


def test_an_inbound_text_is_recorded_once_however_often_twilio_retries(
    hook_client, clinic, in_clinic
):
    PatientFactory(sms_consent=True, phone="+16175550111", first_name="Ada")
    for _ in range(3):
        response = post_signed(
            hook_client, clinic, INBOUND, inbound("Running 10 minutes late")
        )
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/xml")
    (message,) = Message.objects.all()
    assert message.direction == "inbound" and message.status == "received"
    assert message.patient.first_name == "Ada"
    assert message.conversation.unread_count == 1


def test_the_other_clinic_never_sees_this_clinics_webhook(
    clinic, other_clinic, in_clinic
):
    from django.test import Client

    beta = Client(HTTP_HOST="beta.localhost")
    # Signed for alpha's URL, sent to beta's host: refused there.
    params = inbound("Hello", to=BETA_NUMBER)
    signature = sign(clinic_url(clinic, INBOUND), params)
    assert (
        beta.post(INBOUND, params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 403
    )


@override_settings(BEHIND_TLS_PROXY=True)
def test_behind_a_tls_proxy_the_public_url_is_still_what_counts(
    hook_client, clinic, settings, sent
):
    settings.PORTAL_PUBLIC_URL = "https://portal.example.org"
    params = callback("delivered")
    signature = sign(clinic_url(clinic, STATUS), params)
    response = hook_client.post(
        STATUS,
        params,
        HTTP_X_TWILIO_SIGNATURE=signature,
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert response.status_code == 204
