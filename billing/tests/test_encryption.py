"""Member ids at rest: unreadable in the table, refused under a wrong key, rotated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from billing.crypto import (
    CANARY_TEXT,
    EncryptionKeyError,
    canary_report,
    configured_keys,
    mask_member_id,
    startup_check,
)
from billing.models import KeyCanary, Policy
from clinic.models import AuditEntry
from clinic.tests.browser_support import database_url

ROOT = Path(__file__).resolve().parents[2]
MEMBER_ID = "XQZ123456789"
OTHER_KEY = Fernet.generate_key().decode()


def raw_member_id(policy: Policy) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT member_id FROM billing_policy WHERE id = %s", [policy.pk]
        )
        return cursor.fetchone()[0]


def test_the_member_id_is_unreadable_in_the_raw_table(setup):
    raw = raw_member_id(setup.policy)
    assert MEMBER_ID not in raw and "6789" not in raw
    assert raw.startswith("gAAAA")  # a Fernet token
    assert (
        Fernet(configured_keys()[0].encode()).decrypt(raw.encode()).decode()
        == MEMBER_ID
    )
    assert Policy.objects.get(pk=setup.policy.pk).member_id == MEMBER_ID


def test_the_key_is_not_derived_from_the_secret_key(setup):
    with override_settings(SECRET_KEY="something-else-entirely-0123456789abcdef"):
        assert Policy.objects.get(pk=setup.policy.pk).member_id == MEMBER_ID


def test_under_a_wrong_key_reading_refuses_instead_of_returning_ciphertext(setup):
    with override_settings(BILLING_ENCRYPTION_KEYS=[OTHER_KEY]):
        with pytest.raises(EncryptionKeyError):
            Policy.objects.get(pk=setup.policy.pk)


def test_the_canary_of_every_clinic_is_read_at_start_up(in_clinic):
    with connection.cursor() as cursor:
        report = canary_report(cursor)
        assert {"c_alpha", "c_beta", settings.TENANT_BASE_SCHEMA} <= set(report.checked)
        assert report.ok and not report.stale and not report.missing
        wrong = canary_report(cursor, keys=(OTHER_KEY,))
    assert not wrong.ok and "c_alpha" in wrong.unreadable


def test_start_up_refuses_a_wrong_key(in_clinic):
    with override_settings(BILLING_ENCRYPTION_KEYS=[OTHER_KEY]):
        with pytest.raises(EncryptionKeyError, match="refuses to start"):
            startup_check()
    assert startup_check().ok


def _manage(*args: str, keys: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "BILLING_ENCRYPTION_KEYS": keys,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_management_command_under_a_wrong_key_does_not_run(django_db_setup):
    refused = _manage("check", keys=OTHER_KEY)
    assert refused.returncode != 0
    assert (
        "BILLING_ENCRYPTION_KEYS cannot decrypt the billing key canary"
        in refused.stderr
    )
    assert "System check identified" not in refused.stdout
    fine = _manage("check", keys=",".join(settings.BILLING_ENCRYPTION_KEYS))
    assert fine.returncode == 0, fine.stderr


def test_production_refuses_the_development_key():
    env = {
        **os.environ,
        "PORTAL_ENV": "production",
        "SECRET_KEY": "x" * 50,
        "PORTAL_PUBLIC_URL": "https://portal.example",
        # what other sections require in production, so that ours is reached
        "TWILIO_ACCOUNT_SID": "ACx",
        "TWILIO_AUTH_TOKEN": "x",
    }
    env.pop("BILLING_ENCRYPTION_KEYS", None)
    result = subprocess.run(
        [sys.executable, "-c", "import portal.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "BILLING_ENCRYPTION_KEYS must be set in production" in result.stderr


def test_rotation_re_encrypts_with_the_new_key_so_the_old_one_can_go(setup, in_clinic):
    old = configured_keys()[0]
    new = Fernet.generate_key().decode()
    before = raw_member_id(setup.policy)
    with override_settings(BILLING_ENCRYPTION_KEYS=[new, old]):
        with connection.cursor() as cursor:
            assert "c_alpha" in canary_report(cursor).stale  # still under the old key
        assert Policy.objects.get(pk=setup.policy.pk).member_id == MEMBER_ID
        call_command(
            "billing_reencrypt", schema=["c_alpha"], stdout=open(os.devnull, "w")
        )
    connection.set_tenant(in_clinic)  # the command leaves the connection on public
    after = raw_member_id(setup.policy)
    assert after != before
    assert Fernet(new.encode()).decrypt(after.encode()).decode() == MEMBER_ID
    with override_settings(BILLING_ENCRYPTION_KEYS=[new]):
        assert Policy.objects.get(pk=setup.policy.pk).member_id == MEMBER_ID
        token = KeyCanary.objects.get().token
        assert Fernet(new.encode()).decrypt(token.encode()).decode() == CANARY_TEXT
    with override_settings(BILLING_ENCRYPTION_KEYS=[old]):
        with pytest.raises(EncryptionKeyError):
            Policy.objects.get(pk=setup.policy.pk)


def test_rotation_without_the_old_key_changes_nothing(setup, in_clinic):
    before = raw_member_id(setup.policy)
    with override_settings(BILLING_ENCRYPTION_KEYS=[OTHER_KEY]):
        with pytest.raises(EncryptionKeyError):
            call_command(
                "billing_reencrypt", schema=["c_alpha"], stdout=open(os.devnull, "w")
            )
    connection.set_tenant(in_clinic)
    assert raw_member_id(setup.policy) == before


def test_the_audit_trail_masks_the_member_id(setup, team):
    from billing.services import policy_update

    policy_update(policy=setup.policy, actor=team.billing, member_id="NEW987654321")
    entries = AuditEntry.objects.filter(
        content_type__model="policy", object_id=setup.policy.pk
    ).order_by("id")
    assert entries.count() == 2
    text = " ".join(str(e.changes) for e in entries)
    assert MEMBER_ID not in text and "NEW987654321" not in text
    assert mask_member_id("NEW987654321") in text
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM clinic_auditentry WHERE changes::text LIKE %s",
            ["%987654321%"],
        )
        assert cursor.fetchone()[0] == 0


def test_masking_keeps_only_the_last_four():
    assert mask_member_id("XQZ123456789") == "••••••••6789"
    assert mask_member_id("") == ""
    assert mask_member_id("ABC") == "•••C"
