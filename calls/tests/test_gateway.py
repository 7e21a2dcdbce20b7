"""The gateway wraps the real twilio library: where it sends from, what it sorts as permanent."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from calls import gateway
from calls.tests.conftest import ALPHA_NUMBER
from clinic.tests.browser_support import ROOT, free_port

TO = "+16175550142"


def test_a_send_reaches_the_api_base_with_its_callback_and_validity(sim):
    sent = gateway.sms_send(
        to=TO,
        from_=ALPHA_NUMBER,
        body="Hi",
        status_callback="http://alpha.localhost:1/cb",
        validity_seconds=600,
    )
    assert sent.sid.startswith("SM") and sent.status == "queued"
    (accepted,) = sim.accepted_log()
    assert (accepted["to"], accepted["from"], accepted["body"]) == (
        TO,
        ALPHA_NUMBER,
        "Hi",
    )
    assert accepted["validity_period"] == 600
    assert accepted["status_callback"] == "http://alpha.localhost:1/cb"


def test_validity_is_kept_within_twilios_limits(sim):
    gateway.sms_send(
        to=TO,
        from_=ALPHA_NUMBER,
        body="Hi",
        status_callback="",
        validity_seconds=90_000,
    )
    assert sim.accepted_log()[0]["validity_period"] == gateway.MAX_VALIDITY_SECONDS


@pytest.mark.parametrize(
    ("to", "code"),
    [("+15005550001", 21211), ("+15005550009", 21614), ("+15005550004", 21610)],
)
def test_invalid_landline_and_opted_out_numbers_are_permanent_refusals(sim, to, code):
    with pytest.raises(gateway.Refused) as refused:
        gateway.sms_send(
            to=to,
            from_=ALPHA_NUMBER,
            body="Hi",
            status_callback="",
            validity_seconds=None,
        )
    assert refused.value.code == code
    assert refused.value.permanent
    assert sim.accepted_log() == []


def test_bad_credentials_are_a_refusal_worth_retrying(sim, settings):
    settings.TWILIO_AUTH_TOKEN = "not-the-token"
    with pytest.raises(gateway.Refused) as refused:
        gateway.sms_send(
            to=TO,
            from_=ALPHA_NUMBER,
            body="Hi",
            status_callback="",
            validity_seconds=None,
        )
    assert refused.value.code == 20003
    assert not refused.value.permanent


def test_a_provider_that_cannot_be_reached_sent_nothing(settings):
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(gateway.Refused) as refused:
        gateway.sms_send(
            to=TO,
            from_=ALPHA_NUMBER,
            body="Hi",
            status_callback="",
            validity_seconds=None,
        )
    assert not refused.value.permanent


def test_a_provider_that_never_answers_leaves_the_outcome_unknown(sim, settings):
    settings.TWILIO_HTTP_TIMEOUT_SECONDS = 0.2
    sim.accept_delay_set(1.0)
    with pytest.raises(gateway.Unknown):
        gateway.sms_send(
            to=TO,
            from_=ALPHA_NUMBER,
            body="Hi",
            status_callback="",
            validity_seconds=None,
        )
    # The carrier did take it: only reconciliation can tell.
    assert len(sim.accepted_log()) == 1


def test_the_message_list_finds_what_was_sent_to_a_number(sim):
    before = timezone.now() - timedelta(seconds=5)
    first = gateway.sms_send(
        to=TO, from_=ALPHA_NUMBER, body="One", status_callback="", validity_seconds=None
    )
    gateway.sms_send(
        to="+16175550143",
        from_=ALPHA_NUMBER,
        body="Other",
        status_callback="",
        validity_seconds=None,
    )
    found = gateway.sms_sent_to(to=TO, from_=ALPHA_NUMBER, since=before)
    assert [(m.sid, m.body) for m in found] == [(first.sid, "One")]
    assert (
        gateway.sms_sent_to(
            to=TO, from_=ALPHA_NUMBER, since=timezone.now() + timedelta(hours=1)
        )
        == []
    )


def _settings_in_production(**env) -> subprocess.CompletedProcess:
    base = {
        "PATH": "/usr/bin:/bin",
        "PORTAL_ENV": "production",
        "SECRET_KEY": "x" * 50,
        "PORTAL_PUBLIC_URL": "https://portal.example.org",
        "BILLING_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    code = "import portal.settings as s; print(s.TWILIO_API_BASE)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_twilio_credentials():
    missing = _settings_in_production(TWILIO_ACCOUNT_SID="AC" + "1" * 32)
    assert missing.returncode != 0
    assert "TWILIO_AUTH_TOKEN must be set in production" in missing.stderr
    configured = _settings_in_production(
        TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_AUTH_TOKEN="t" * 32
    )
    if configured.returncode:
        # Another section may ask for more in production; none of it is Twilio's.
        assert "TWILIO" not in configured.stderr, configured.stderr
    else:
        assert configured.stdout.strip() == "https://api.twilio.com"


def test_production_refuses_to_start_without_a_public_url():
    result = subprocess.run(
        [sys.executable, "-c", "import portal.settings"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "PORTAL_ENV": "production",
            "SECRET_KEY": "x" * 50,
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": "t" * 32,
        },
        timeout=60,
    )
    assert result.returncode != 0
    assert "PORTAL_PUBLIC_URL must be set in production" in result.stderr
