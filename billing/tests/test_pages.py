"""Billing staff pages: what each role sees and may do, the work list, coding, the
ledger, the queue, the dashboard, CSP-clean markup and tenant isolation."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import Claim, Encounter, Payment, RemittanceClaim
from billing.selectors.ledger import patient_balance
from billing.services import claim_mark_ready, claim_submit
from billing.services.remittances import remittance_import
from billing.tests.support import (
    NY,
    coded_encounter,
    completed_visit,
    draft_claim,
    member,
)
from billing.tests.test_x12_import import sample
from billing.x12.validate import pyx12_errors
from portal.models import Role

S = Claim.Status


def browser(membership) -> Client:
    client = Client(HTTP_HOST=f"{membership.clinic.slug}.localhost")
    client.force_login(membership.user)
    return client


def assert_csp_clean(html: str) -> None:
    assert "<script>" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html
    # Nothing is loaded from elsewhere (the CSRF token is random text, so look
    # at addresses, not at letters).
    assert not re.search(r'(src|href)="(https?:)?//', html)


def pages(setup, claim) -> dict[str, str]:
    return {
        "home": "/billing/",
        "dashboard": "/billing/dashboard/",
        "claims": "/billing/claims/",
        "claim": f"/billing/claims/{claim.pk}/",
        "encounters": "/billing/encounters/",
        "encounter": f"/billing/encounters/{claim.encounter_id}/",
        "ledger": f"/billing/patients/{setup.patient.pk}/",
        "statement": f"/billing/patients/{setup.patient.pk}/statement/",
        "remittances": "/billing/remittances/",
        "unmatched": "/billing/remittances/unmatched/",
    }


ALLOWED = {
    "admin": {
        "home",
        "dashboard",
        "claims",
        "claim",
        "encounters",
        "encounter",
        "ledger",
        "statement",
        "remittances",
        "unmatched",
    },
    "billing": {
        "home",
        "dashboard",
        "claims",
        "claim",
        "encounters",
        "encounter",
        "ledger",
        "statement",
        "remittances",
        "unmatched",
    },
    "front_desk": {"home", "claims", "claim", "ledger", "statement"},
    "clinician": {"home", "encounters", "encounter"},
}


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_reaches_its_pages_and_no_other(setup, team, role):
    claim = draft_claim(setup, team.billing)
    client = browser(getattr(team, role))
    for name, url in pages(setup, claim).items():
        answer = client.get(url, follow=name == "home")
        expected = 200 if name in ALLOWED[role] else 403
        assert answer.status_code == expected, (role, name, answer.status_code)
        if expected == 200:
            assert_csp_clean(answer.content.decode())


def test_the_billing_menu_item_is_there_for_every_role(setup, team):
    for role in ALLOWED:
        html = browser(getattr(team, role)).get("/patients/").content.decode()
        assert 'href="/billing/"' in html, role


def test_the_work_list_filters_and_marks_claims_ready_in_bulk(setup, team):
    first, second = draft_claim(setup, team.billing), draft_claim(setup, team.billing)
    other = draft_claim(setup, team.billing)
    client = browser(team.billing)
    html = client.get(
        f"/billing/claims/?status=draft&payer={setup.payer.pk}"
    ).content.decode()
    for claim in (first, second, other):
        assert claim.control_number in html
    assert (
        client.get(f"/billing/claims/?payer={setup.second_payer.pk}&status=draft")
        .content.decode()
        .count('name="claims"')
        == 0
    )
    answer = client.post(
        "/billing/claims/bulk/",
        {"action": "mark_ready", "claims": [first.pk, second.pk]},
    )
    assert answer.status_code == 302
    statuses = dict(Claim.objects.values_list("pk", "status"))
    assert (statuses[first.pk], statuses[second.pk], statuses[other.pk]) == (
        "ready",
        "ready",
        "draft",
    )


def test_bulk_export_downloads_a_valid_837p(setup, team):
    claims = [
        claim_mark_ready(claim=draft_claim(setup, team.billing), actor=team.billing)
        for _ in range(2)
    ]
    client = browser(team.billing)
    answer = client.post(
        "/billing/claims/bulk/",
        {"action": "export", "claims": [c.pk for c in claims]},
        follow=True,
    )
    assert answer.status_code == 200
    assert answer["Content-Disposition"].startswith('attachment; filename="837P-')
    text = answer.content.decode()
    assert text.startswith("ISA*") and pyx12_errors(text) == []
    assert set(
        Claim.objects.filter(pk__in=[c.pk for c in claims]).values_list(
            "status", flat=True
        )
    ) == {"submitted"}
    assert (
        browser(team.front_desk)
        .post("/billing/claims/bulk/", {"action": "export", "claims": [claims[0].pk]})
        .status_code
        == 403
    )


def test_the_claim_page_offers_only_the_allowed_actions(setup, team):
    claim = draft_claim(setup, team.billing)
    client = browser(team.billing)
    html = client.get(f"/billing/claims/{claim.pk}/").content.decode()
    offered = set(re.findall(r"/billing/claims/\d+/([a-z-]+)/", html))
    assert offered == {"mark-ready", "void"}
    assert "Timeline" in html and "Draft" in html
    refused = client.post(f"/billing/claims/{claim.pk}/pay/")
    assert (
        refused.status_code == 409
        and "cannot be marked paid" in refused.content.decode()
    )
    assert (
        client.post(
            f"/billing/claims/{claim.pk}/mark-ready/", {"note": "ok"}
        ).status_code
        == 302
    )
    claim.refresh_from_db()
    assert claim.status == S.READY
    desk = browser(team.front_desk).get(f"/billing/claims/{claim.pk}/").content.decode()
    assert not re.findall(r"/billing/claims/\d+/([a-z-]+)/", desk)  # reads, no actions
    assert (
        browser(team.front_desk).post(f"/billing/claims/{claim.pk}/reopen/").status_code
        == 403
    )


def test_a_clinician_codes_a_visit_from_the_appointment(setup, team):
    visit = completed_visit(setup.patient, setup.provider)
    client = browser(team.clinician)
    panel = client.get(f"/appointments/{visit.pk}/").content.decode()
    assert f"/billing/visits/{visit.pk}/code/" in panel
    assert (
        f"/billing/visits/{visit.pk}/code/"
        not in browser(team.front_desk)
        .get(f"/appointments/{visit.pk}/")
        .content.decode()
    )
    page = client.get(f"/billing/visits/{visit.pk}/code/", follow=True)
    assert page.status_code == 200 and "Save coding" in page.content.decode()
    encounter = Encounter.objects.get(appointment=visit)
    url = f"/billing/encounters/{encounter.pk}/"
    bad = client.post(
        url,
        {
            "place_of_service": "11",
            "dx_code_1": "J2",
            "line_code_1": "99213",
            "line_pointers_1": "1",
        },
    )
    assert bad.status_code == 400 and "not an ICD-10-CM code" in bad.content.decode()
    good = client.post(
        url,
        {
            "place_of_service": "11",
            "dx_code_1": "J02.9",
            "dx_code_2": "R50.9",
            "line_code_1": "99213",
            "line_modifiers_1": "25",
            "line_pointers_1": "1,2",
            "line_code_2": "87880",
            "line_units_2": "2",
            "line_pointers_2": "1",
        },
    )
    assert good.status_code == 302
    encounter.refresh_from_db()
    assert encounter.status == "coded"
    assert [
        (line.code, line.charge) for line in encounter.lines.order_by("line_number")
    ] == [
        ("99213", Decimal("120.00")),
        ("87880", Decimal("71.00")),
    ]


def test_the_ledger_masks_member_ids_and_takes_payments(setup, team):
    coded_encounter(setup, team.billing)
    desk = browser(team.front_desk)
    html = desk.get(f"/billing/patients/{setup.patient.pk}/").content.decode()
    assert "••••••••6789" in html and "XQZ123456789" not in html
    assert "155.50" in html
    paid = desk.post(
        f"/billing/patients/{setup.patient.pk}/payment/",
        {"amount": "55.50", "method": "card"},
    )
    assert paid.status_code == 302
    assert patient_balance(patient_id=setup.patient.pk).balance == Decimal("100.00")
    bad = desk.post(
        f"/billing/patients/{setup.patient.pk}/payment/",
        {"amount": "-1", "method": "card"},
    )
    assert bad.status_code == 400
    payment = Payment.objects.get()
    assert (
        desk.post(
            f"/billing/patients/{setup.patient.pk}/refund/",
            {"payment": payment.pk, "amount": "1", "method": "card", "reason": "x"},
        ).status_code
        == 403
    )
    assert (
        browser(team.billing)
        .post(
            f"/billing/patients/{setup.patient.pk}/refund/",
            {"payment": payment.pk, "amount": "60", "method": "card", "reason": "x"},
        )
        .status_code
        == 400
    )  # more than the payment


def test_the_patient_page_shows_the_balance(setup, team):
    coded_encounter(setup, team.billing)
    html = (
        browser(team.front_desk).get(f"/patients/{setup.patient.pk}/").content.decode()
    )
    assert "155.50" in html and f"/billing/patients/{setup.patient.pk}/" in html
    assert (
        f"/billing/patients/{setup.patient.pk}/"
        not in browser(team.clinician)
        .get(f"/patients/{setup.patient.pk}/")
        .content.decode()
    )


def test_the_statement_is_printable(setup, team):
    coded_encounter(setup, team.billing)
    html = (
        browser(team.front_desk)
        .get(f"/billing/patients/{setup.patient.pk}/statement/")
        .content.decode()
    )
    assert (
        "Patient statement" in html
        and "12 Elm St" in html
        and "@media print" not in html
    )
    assert "billing.css" in html
    assert_csp_clean(html)


def test_the_unmatched_queue_is_worked_by_hand(setup, team):
    remittance_import(content=sample("unmatched"), actor=team.billing)
    row = RemittanceClaim.objects.get()
    client = browser(team.billing)
    html = client.get("/billing/remittances/unmatched/").content.decode()
    assert "C999999999" in html and "No claim has this control number." in html
    client.post(
        f"/billing/remittances/unmatched/{row.pk}/dismiss/", {"note": "Not ours"}
    )
    row.refresh_from_db()
    assert row.match == "dismissed"


def test_a_remittance_is_uploaded_from_the_page(setup, team):
    from django.core.files.uploadedfile import SimpleUploadedFile

    claim = claim_submit(
        claim=claim_mark_ready(
            claim=draft_claim(setup, team.billing), actor=team.billing
        ),
        actor=team.billing,
    )
    upload = SimpleUploadedFile("era.835", sample("paid", claim).encode())
    answer = browser(team.billing).post("/billing/remittances/", {"file": upload})
    assert answer.status_code == 302
    claim.refresh_from_db()
    assert claim.status == S.PAID


def test_the_dashboard_draws_aging_and_collections_as_svg(setup, team):
    claim = claim_submit(
        claim=claim_mark_ready(
            claim=draft_claim(setup, team.billing), actor=team.billing
        ),
        actor=team.billing,
    )
    draft_claim(setup, team.billing)
    html = browser(team.billing).get("/billing/dashboard/").content.decode()
    assert html.count("<svg") == 2 and "<rect" in html
    assert "Acme Health" in html and "155.50" in html
    for bucket in ("0-30", "31-60", "61-90", "91-120", "120+"):
        assert bucket in html
    assert_csp_clean(html)
    today = timezone.localdate(timezone=NY)
    paid_today = sample("paid", claim).replace(
        "************20250301", f"************{today:%Y%m%d}"
    )
    remittance_import(content=paid_today, actor=team.billing)
    after = browser(team.billing).get("/billing/dashboard/").content.decode()
    assert (
        f'<td>{today:%b %Y}</td><td class="num money">0.00</td><td class="num money">128.00</td>'
        in after
    )


def test_billing_pages_send_the_strict_content_security_policy(setup, team):
    answer = browser(team.billing).get("/billing/claims/")
    policy = answer["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy


def test_beta_gets_nothing_of_alpha(clinic, other_clinic, setup, team):
    claim = draft_claim(setup, team.billing)
    with tenant_context(other_clinic):
        beta = member(other_clinic, Role.BILLING, "beta_pages")
    urls = list(pages(setup, claim).values()) + [
        f"/billing/visits/{claim.encounter.appointment_id}/code/",
        "/billing/batches/1/837p.x12",
    ]
    beta_on_alpha = Client(HTTP_HOST="alpha.localhost")
    beta_on_alpha.force_login(beta.user)
    for url in urls:
        assert beta_on_alpha.get(url).status_code == 403, url
    assert (
        beta_on_alpha.post(f"/billing/claims/{claim.pk}/mark-ready/").status_code == 403
    )
    on_beta = Client(HTTP_HOST="beta.localhost")
    on_beta.force_login(beta.user)
    for url in (
        f"/billing/claims/{claim.pk}/",
        f"/billing/encounters/{claim.encounter_id}/",
        f"/billing/patients/{setup.patient.pk}/",
        f"/billing/patients/{setup.patient.pk}/statement/",
    ):
        assert on_beta.get(url).status_code == 404, url
    listed = on_beta.get("/billing/claims/?status=draft").content.decode()
    assert claim.control_number not in listed
