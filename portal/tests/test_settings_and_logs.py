"""Production refuses to start without its secrets; request errors are logged
without patient data; logos are served through their storage."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.handlers.exception import response_for_exception
from django.db import IntegrityError
from django.test import RequestFactory

from portal.logfilters import WITHHELD

PRODUCTION_ENV = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": "a-production-secret-key-0123456789-abcdefghijklmnop",
    "JWT_SIGNING_KEY": "a-production-signing-key-0123456789-abcdefghijkl",
    "DATABASE_URL": "postgres://portal@db.internal:5432/portal",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "PORTAL_PUBLIC_URL": "https://portal.example.org",
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "0123456789abcdef0123456789abcdef",
    "BILLING_ENCRYPTION_KEYS": "w8sB4Ck8zJYQ0NQ2aQ6m5o0nYb2X6zgQyqjv2yXc0mQ=",
}


def _import_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    # No .env file may fill in what the test leaves out.
    clean["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(
        [sys.executable, "-c", "import portal.settings"],
        env={**clean, **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(
    (settings.BASE_DIR / ".env").exists(), reason="a local .env would fill the gaps"
)
def test_production_starts_with_every_secret_set():
    result = _import_settings(PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(
    (settings.BASE_DIR / ".env").exists(), reason="a local .env would fill the gaps"
)
@pytest.mark.parametrize("name", sorted(settings.PRODUCTION_SECRETS))
def test_production_refuses_to_start_without_each_secret(name):
    missing = _import_settings({k: v for k, v in PRODUCTION_ENV.items() if k != name})
    assert missing.returncode != 0
    assert f"{name} must be set in production" in missing.stderr
    dev_value = settings.PRODUCTION_SECRETS[name]
    if dev_value is not None:
        left_at_dev = _import_settings({**PRODUCTION_ENV, name: dev_value})
        assert left_at_dev.returncode != 0
        assert f"{name} must be set in production" in left_at_dev.stderr


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


def test_a_request_error_is_logged_without_the_request_or_the_patient_data():
    request = RequestFactory().post(
        "/patients/new/?phone=%2B14155550123",
        {"first_name": "Grace", "last_name": "Hopper", "phone": "+14155550123"},
    )
    keep = _Keep()
    logger = logging.getLogger("django.request")
    logger.addHandler(keep)
    try:
        try:
            raise IntegrityError(
                'duplicate key value violates unique constraint "x"'
                " DETAIL: Key (last_name, phone)=(Hopper, +14155550123) already exists."
            )
        except IntegrityError as exc:
            # Django's own path for an uncaught exception in a view.
            response = response_for_exception(request, exc)
    finally:
        logger.removeHandler(keep)
    assert response.status_code == 500
    (record,) = keep.records
    (line,) = keep.lines
    assert record.levelno == logging.ERROR and record.status_code == 500
    assert getattr(record, "request", None) is None
    assert "/patients/new/" in line
    assert "IntegrityError" in line and WITHHELD in line
    assert 'File "' in line  # where it was raised is kept
    for phi in ("Grace", "Hopper", "4155550123"):
        assert phi not in line


def test_a_clinic_logo_is_served_through_its_storage(clinic, staff_client):
    clinic.logo.save("alpha-logo.png", ContentFile(b"\x89PNG\r\n\x1a\n0000"), save=True)
    try:
        response = staff_client.get(clinic.logo.url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert b"".join(response.streaming_content).startswith(b"\x89PNG")
        assert "public" in response["Cache-Control"]
        # Nothing but images the storage holds: no other file, no way out of it.
        assert staff_client.get("/media/branding/../../settings.py").status_code == 404
        assert staff_client.get("/media/branding/logos/missing.png").status_code == 404
        assert staff_client.get("/media/branding/logos/notes.txt").status_code == 404
    finally:
        clinic.logo.delete(save=True)


def test_no_url_serves_files_with_django_static_serve():
    from django.urls import get_resolver
    from django.views.static import serve

    def views(patterns):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                yield from views(p.url_patterns)
            else:
                yield p.callback

    for urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF):
        assert serve not in set(views(get_resolver(urlconf).url_patterns))
