"""In a browser: upload two documents on the patient page, watch their status move live.

A uvicorn server and a real Celery worker run against the test database, both
storing files under this test's own folder; what they must see is committed,
and the test deletes exactly what it made at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from uuid import uuid4

import pytest
from django.db import connection

from clinic.tests.browser_support import (
    ROOT,
    browser_marks,
    csp_violations,
    database_url,
    launch,
    server,  # noqa: F401 (a fixture)
    shot,
    sign_in,
)
from clinic.tests.documents_support import card_image, image_bytes, text_pdf

PASSWORD = "browser-docs-password-1"

pytestmark = browser_marks


@pytest.fixture
def media_env(tmp_path, monkeypatch):
    """The server (started after this) and the worker store files here."""
    root = tmp_path / "media"
    monkeypatch.setenv("MEDIA_ROOT", str(root))
    return root


@pytest.fixture
def worker(media_env, django_db_setup, tmp_path):
    from django.conf import settings

    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(media_env),
        "PASSWORD_HASHERS": ",".join(settings.PASSWORD_HASHERS),
        "CONN_MAX_AGE": "0",
    }
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "-n",
            f"docs-browser-{uuid4().hex[:6]}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield log_path
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)
        log.close()


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    from django_tenants.utils import schema_context

    from clinic.models import Patient
    from portal.models import Clinic, Role
    from portal.services import membership_grant, user_create

    tag = uuid4().hex[:8]
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        alpha = Clinic.objects.get(slug="alpha")
        user = user_create(
            email=f"docs-{tag}@alpha.test", password=PASSWORD, full_name="Dana Docs"
        )
        membership_grant(user=user, clinic=alpha, role=Role.FRONT_DESK)
        with schema_context(alpha.schema_name):
            patient = Patient.objects.create(
                first_name="Uma",
                last_name=f"Upload{tag}",
                date_of_birth=date(1985, 5, 5),
            )
    try:
        yield {"user": user, "patient": patient, "clinic": alpha}
    finally:
        with django_db_blocker.unblock():
            _clean_up(alpha, user, patient)


def _clean_up(alpha, user, patient) -> None:
    from auditlog.context import disable_auditlog
    from django.contrib.sessions.models import Session
    from django_tenants.utils import schema_context

    from clinic.models import AuditEntry, Document, Notification, Task, TaskEvent
    from portal.models import SecurityEvent

    connection.set_schema_to_public()
    with schema_context(alpha.schema_name), disable_auditlog():
        documents = Document.objects.filter(patient=patient)
        keys = [f"document:{pk}" for pk in documents.values_list("pk", flat=True)]
        TaskEvent.objects.filter(task__source_key__in=keys).delete()
        Task.objects.filter(source_key__in=keys).delete()
        links = [f"/documents/{pk}/" for pk in documents.values_list("pk", flat=True)]
        Notification.objects.filter(url__in=links).delete()  # "needs review"
        documents.delete()
        patient.delete()
        AuditEntry.objects.filter(actor=user).delete()
        AuditEntry.objects.filter(patient_ids__contains=[patient.pk]).delete()
    for session in Session.objects.all():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
    SecurityEvent.objects.filter(user=user).delete()
    with schema_context(alpha.schema_name):
        user.delete()


def test_uploading_on_the_patient_page_shows_progress_and_the_status_moving_live(
    media_env,
    server,  # noqa: F811 (the fixture)
    worker,
    committed,
    tmp_path,
):
    from playwright.sync_api import expect, sync_playwright

    card = tmp_path / "card.png"
    card.write_bytes(image_bytes(card_image(), "PNG"))
    consent = tmp_path / "consent.pdf"
    consent.write_bytes(text_pdf(["Consent to treatment", "Signed by the patient."]))

    patient = committed["patient"]
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            blocked = csp_violations(page)
            page.set_default_timeout(15_000)
            sign_in(page, server, committed["user"].email, PASSWORD)
            page.goto(f"{server}/patients/{patient.pk}/")
            expect(page.locator("#documents")).to_be_visible()
            expect(page.locator("#document-rows")).to_contain_text("No documents yet")
            # The socket is open before anything is uploaded.
            expect(page.locator("html")).to_have_attribute("data-documents-live", "on")
            page.evaluate("window.__notReloaded = true")

            page.locator("#document-kind").select_option("insurance_card")
            # Two files at once, as a drop or the file chooser gives them.
            page.locator("#document-files").set_input_files([str(card), str(consent)])
            progress = page.locator("#upload-progress li")
            expect(progress).to_have_count(2)
            expect(progress.nth(0)).to_contain_text("Uploaded")
            expect(progress.nth(1)).to_contain_text("Uploaded")
            assert progress.nth(0).locator("progress").get_attribute("value") == "100"
            shot(page, "documents_uploaded")

            rows = page.locator("#document-rows tr[data-document]")
            expect(rows).to_have_count(2)
            # The worker reads them; the rows change without a reload. The card
            # reads cleanly; the consent form, filed as a card, has no member id.
            card_row = page.locator("#document-rows tr", has_text="card.png")
            consent_row = page.locator("#document-rows tr", has_text="consent.pdf")
            expect(card_row).to_have_attribute(
                "data-status", "processed", timeout=90_000
            )
            expect(card_row).to_contain_text("Processed")
            expect(consent_row).to_have_attribute(
                "data-status", "needs_review", timeout=90_000
            )
            expect(consent_row).to_contain_text("Needs review")
            assert page.evaluate("window.__notReloaded") is True
            shot(page, "documents_processed")

            # A refused file says why, beside its own progress bar.
            bad = tmp_path / "invoice.pdf"
            bad.write_bytes(b"MZ\x90\x00" + b"\x00" * 100)
            page.locator("#document-files").set_input_files(str(bad))
            expect(progress.nth(2)).to_contain_text("Only PDF, PNG, JPEG and TIFF")

            # The card's review page shows the page image beside its fields.
            page.locator("#document-rows a", has_text="card.png").click()
            expect(page.locator("#field-member_id")).to_have_value("XQJ482913307")
            image = page.locator(".doc-pages img").first
            expect(image).to_be_visible()
            # The preview is drawn on request: wait for it to arrive, not a clock.
            page.wait_for_function(
                "(img) => img.complete && img.naturalWidth > 0",
                arg=image.element_handle(),
            )
            shot(page, "document_review")
            assert blocked == []
        finally:
            browser.close()
