"""End to end in a browser: sign in, add a patient, find them misspelled, open them.

A uvicorn server runs against the test database (clinic.tests.browser_support),
so what it must see is committed: the test makes its own user and workflow in
clinic "alpha" (outside any test transaction) and deletes exactly what it made
at the end. Set BROWSER_SCREENSHOTS=<dir> to keep screenshots of the pages.
"""

from __future__ import annotations

import re
from uuid import uuid4

import pytest
from django.db import connection
from django.db.models import Q

from clinic.actors import SYSTEM
from clinic.tests.browser_support import (
    browser_marks,
    csp_violations,
    launch,
    server,  # noqa: F401 (a fixture)
    shot,
)

PASSWORD = "browser-test-password-1"
LAST_NAME = "Featherstonehaugh"

pytestmark = browser_marks


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """A front-desk user and a workflow in alpha, committed, and removed afterwards."""
    from django_tenants.utils import schema_context

    from clinic.services import workflow_create
    from portal.models import Clinic, Role
    from portal.services import membership_grant, user_create

    tag = uuid4().hex[:8]
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        alpha = Clinic.objects.get(slug="alpha")
        user = user_create(
            email=f"browser-{tag}@alpha.test",
            password=PASSWORD,
            full_name="Robin Browser",
        )
        membership_grant(user=user, clinic=alpha, role=Role.FRONT_DESK)
        with schema_context(alpha.schema_name):
            workflow = workflow_create(
                name=f"Physio intake {tag}",
                slug=f"physio-{tag}",
                fields=[
                    {
                        "name": "referral_source",
                        "label": "Referral source",
                        "type": "choice",
                        "required": True,
                        "choices": ["GP", "Self", "Hospital"],
                    },
                    {
                        "name": "knee_pain",
                        "label": "Knee pain (0-10)",
                        "type": "integer",
                    },
                    {
                        "name": "insured",
                        "label": "Has insurance",
                        "type": "boolean",
                        "required": True,
                    },
                ],
                actor=SYSTEM,
            )
    try:
        yield {"user": user, "workflow": workflow, "clinic": alpha}
    finally:
        with django_db_blocker.unblock():
            _clean_up(alpha, user, workflow)


def _clean_up(alpha, user, workflow) -> None:
    from auditlog.context import disable_auditlog
    from django.contrib.sessions.models import Session
    from django_tenants.utils import schema_context

    from clinic.models import AuditEntry, Patient, Workflow
    from portal.models import SecurityEvent

    connection.set_schema_to_public()
    with schema_context(alpha.schema_name):
        patients = Patient.objects.filter(Q(last_name=LAST_NAME) | Q(workflow=workflow))
        ids = list(patients.values_list("pk", flat=True))
        with disable_auditlog():
            patients.delete()
            Workflow.objects.filter(pk=workflow.pk).delete()
        AuditEntry.objects.filter(
            Q(actor=user)
            | Q(object_id__in=ids, content_type__model="patient")
            | Q(object_id=workflow.pk, content_type__model="workflow")
        ).delete()
    for session in Session.objects.all():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
    SecurityEvent.objects.filter(Q(user=user) | Q(email=user.email)).delete()
    # Deleting a user also clears their foreign keys in clinic tables (audit
    # actor, admin log), which exist only in a clinic's schema.
    with schema_context(alpha.schema_name):
        user.delete()


def test_sign_in_add_a_patient_find_them_misspelled_and_open_them(
    server,  # noqa: F811 (the fixture)
    committed,
    django_db_blocker,
):
    from playwright.sync_api import expect, sync_playwright

    user, workflow = committed["user"], committed["workflow"]
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            blocked = csp_violations(page)
            page.set_default_timeout(10_000)

            # Sign in: the start page sends us to the sign-in page first.
            page.goto(server + "/")
            expect(page).to_have_url(server + "/account/sign-in/?next=/")
            shot(page, "sign_in")
            page.get_by_label("Email").fill(user.email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(server + "/")
            expect(
                page.get_by_role("link", name="Patients", exact=True)
            ).to_be_visible()

            # Add a patient; choosing the workflow brings in its fields (htmx).
            page.goto(server + "/patients/new/")
            page.get_by_label("First name").fill("Henrietta")
            page.get_by_label("Last name").fill(LAST_NAME)
            page.get_by_label("Date of birth").fill("1975-04-03")
            page.get_by_label("Phone").fill("(415) 555-01")  # too short: refused
            page.get_by_label("Workflow").select_option(str(workflow.pk))
            expect(page.get_by_label("Referral source")).to_be_visible()
            page.get_by_label("Referral source").select_option("Hospital")
            page.get_by_label("Knee pain (0-10)").fill("6")
            page.get_by_label("Has insurance").select_option("True")
            shot(page, "patient_form")
            page.get_by_role("button", name="Add patient").click()
            expect(page.locator("#id_phone_error")).to_contain_text(
                "valid phone number"
            )
            shot(page, "patient_form_errors")
            page.get_by_label("Phone").fill("(415) 555-0142")
            page.get_by_role("button", name="Add patient").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text(
                f"Henrietta {LAST_NAME}"
            )
            expect(page.get_by_text("+14155550142")).to_be_visible()
            expect(page.get_by_text("Hospital")).to_be_visible()

            # Find them with a misspelled name, live as we type.
            page.goto(server + "/patients/")
            search = page.get_by_label("Search patients")
            search.press_sequentially("henreitta fetherstonhaugh", delay=25)
            result = page.locator("#patient-results").get_by_role(
                "link", name=f"{LAST_NAME}, Henrietta"
            )
            expect(result).to_be_visible()
            expect(page).to_have_url(
                re.compile(r"/patients/\?q=henreitta")
            )  # the URL follows the search
            shot(page, "patient_list")

            # Open them.
            result.click()
            expect(page.get_by_role("heading", level=1)).to_contain_text(
                f"Henrietta {LAST_NAME}"
            )
            expect(page.get_by_text("Knee pain (0-10)")).to_be_visible()
            shot(page, "patient_detail")

            # Sign out (a POST form in the user menu).
            page.locator(".user-menu summary").click()
            page.get_by_role("button", name="Sign out").click()
            expect(page).to_have_url(server + "/account/sign-in/")
            assert blocked == []  # every page passed its Content-Security-Policy
        finally:
            browser.close()

    from django_tenants.utils import schema_context

    from clinic.models import AuditEntry, Patient

    with django_db_blocker.unblock(), schema_context(committed["clinic"].schema_name):
        patient = Patient.objects.get(last_name=LAST_NAME)
        assert patient.phone == "+14155550142"
        assert patient.fields == {
            "referral_source": "Hospital",
            "knee_pain": 6,
            "insured": True,
        }
        reads = AuditEntry.objects.filter(actor=user, action=AuditEntry.Action.ACCESS)
        assert reads.filter(object_id=patient.pk).exists()
        assert reads.filter(
            patient_ids__contains=[patient.pk], query__icontains="fetherston"
        ).exists()
