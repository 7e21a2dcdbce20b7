"""In a browser: a biller signs in and works the billing pages, and the site's
Content-Security-Policy blocks nothing on any of them (the A/R charts are SVG).

A uvicorn server runs against the test database (clinic.tests.browser_support),
so what it must see is committed: the test makes its rows in clinic "alpha"
(outside any test transaction) and deletes exactly what it made at the end.
"""

from __future__ import annotations

from uuid import uuid4

import pytest
from django.db import connection, transaction

from clinic.tests.browser_support import (
    browser_marks,
    csp_violations,
    launch,
    server,  # noqa: F401 (a fixture)
    shot,
    sign_in,
)

PASSWORD = "browser-test-password-1"
pytestmark = browser_marks


@pytest.fixture
def billing_rows(django_db_setup, django_db_blocker):
    """A biller, a billing set-up, a coded visit and its draft claim in alpha, committed."""
    from django_tenants.utils import schema_context

    from billing.models import BillingSettings
    from billing.tests.support import billing_setup, draft_claim
    from portal.models import Clinic, Membership, Role
    from portal.services import membership_grant, user_create

    tag = uuid4().hex[:8]
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        alpha = Clinic.objects.get(slug="alpha")
        user = user_create(
            email=f"biller-{tag}@alpha.test", password=PASSWORD, full_name="Bea Biller"
        )
        membership = membership_grant(user=user, clinic=alpha, role=Role.BILLING)
        membership = Membership.objects.select_related("user").get(pk=membership.pk)
        with schema_context(alpha.schema_name):
            connection.set_tenant(alpha)
            had_settings = BillingSettings.objects.exists()
            setup = billing_setup(alpha, membership)
            claim = draft_claim(setup, membership)
        connection.set_schema_to_public()
    yield {"email": user.email, "claim": claim, "patient": setup.patient}
    # One transaction: the claim and its lines go together (the total is checked at commit).
    with django_db_blocker.unblock(), transaction.atomic(), connection.cursor() as cur:
        cur.execute(f'SET search_path = "{alpha.schema_name}", public')
        patient, claim_id = setup.patient.pk, claim.pk
        encounter = claim.encounter_id
        for sql in (
            "DELETE FROM billing_claimevent WHERE claim_id = %(c)s",
            "DELETE FROM billing_followup WHERE claim_id = %(c)s",
            "DELETE FROM billing_claimline WHERE claim_id = %(c)s",
            "DELETE FROM billing_claim WHERE id = %(c)s",
            "DELETE FROM billing_serviceline WHERE encounter_id = %(e)s",
            "DELETE FROM billing_diagnosis WHERE encounter_id = %(e)s",
            "DELETE FROM billing_encounter WHERE id = %(e)s",
            "DELETE FROM clinic_appointment WHERE patient_id = %(p)s",
            "DELETE FROM billing_policy WHERE patient_id = %(p)s",
            "DELETE FROM clinic_patient WHERE id = %(p)s",
            "DELETE FROM billing_providerbilling WHERE provider_id = %(pr)s",
            "DELETE FROM clinic_appointmenttype_providers WHERE provider_id = %(pr)s",
            "DELETE FROM clinic_provider WHERE id = %(pr)s",
            "DELETE FROM billing_payer WHERE payer_id IN ('ACME1', 'SECMUT')",
            "DELETE FROM billing_feescheduleentry WHERE code IN ('99213', '87880')",
        ):
            cur.execute(
                sql,
                {"c": claim_id, "e": encounter, "p": patient, "pr": setup.provider.pk},
            )
        if not had_settings:
            cur.execute("DELETE FROM billing_billingsettings")
        cur.execute("DELETE FROM clinic_auditentry WHERE actor_id = %s", [user.pk])
    with django_db_blocker.unblock():
        from django.contrib.sessions.models import Session
        from django_tenants.utils import schema_context

        from portal.models import SecurityEvent

        connection.set_schema_to_public()
        for session in Session.objects.all():
            if session.get_decoded().get("_auth_user_id") == str(user.pk):
                session.delete()
        SecurityEvent.objects.filter(user=user).delete()
        SecurityEvent.objects.filter(email=user.email).delete()
        # Deleting a user also clears its foreign keys in the clinic's tables.
        with schema_context(alpha.schema_name):
            user.delete()


def test_a_biller_works_the_billing_pages_without_a_csp_violation(server, billing_rows):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    claim = billing_rows["claim"]
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        violations = csp_violations(page)
        sign_in(page, server, billing_rows["email"], PASSWORD)
        page.get_by_role("link", name="Billing").first.click()
        expect(page.get_by_role("heading", name="Accounts receivable")).to_be_visible()
        expect(page.locator("svg.bar-chart")).to_have_count(2)
        shot(page, "billing-dashboard")

        page.goto(server + "/billing/claims/")
        expect(page.get_by_role("link", name=claim.control_number)).to_be_visible()
        page.get_by_role("link", name=claim.control_number).click()
        expect(page.get_by_role("button", name="Mark ready")).to_be_visible()
        expect(page.get_by_role("button", name="Mark paid")).to_have_count(0)
        page.get_by_role("button", name="Mark ready").click()
        expect(page.get_by_text("Mark ready: done.")).to_be_visible()
        expect(page.locator(".claim-timeline li")).to_have_count(2)
        shot(page, "billing-claim")

        page.goto(server + f"/billing/patients/{billing_rows['patient'].pk}/")
        expect(page.get_by_text("••••••••6789")).to_be_visible()
        page.goto(server + f"/billing/patients/{billing_rows['patient'].pk}/statement/")
        expect(page.get_by_role("heading", name="Patient statement")).to_be_visible()
        shot(page, "billing-statement")
        browser.close()
    assert violations == []
