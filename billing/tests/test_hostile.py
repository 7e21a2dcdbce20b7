"""Hostile input, as an outside tester sends it: field-keyed 4xx, nothing half-written."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django_tenants.utils import tenant_context

from billing.models import (
    Adjustment,
    ClaimEvent,
    Invoice,
    Payer,
    Payment,
    Policy,
    Refund,
    Remittance,
    RemittanceClaim,
)
from billing.services import claim_mark_ready, claim_submit
from billing.tests.support import PASSWORD, coded_encounter, draft_claim, member
from billing.tests.test_x12_import import sample
from clinic.tests.api_support import client_for
from portal.models import Role

BAD_AMOUNTS = [
    "12.345",
    "-5.00",
    "0",
    "1e400",
    "NaN",
    "Infinity",
    "99999999999999",
    "abc",
    "",
    "1,000.00",
    "0x10",
]


def counts() -> tuple[int, ...]:
    return (
        Payment.objects.count(),
        Invoice.objects.count(),
        Refund.objects.count(),
        Adjustment.objects.count(),
        Remittance.objects.count(),
        RemittanceClaim.objects.count(),
        ClaimEvent.objects.count(),
        Payer.objects.count(),
        Policy.objects.count(),
    )


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_a_bad_payment_amount_is_refused_by_the_api_on_its_field(
    setup, team, api_as, amount
):
    before = counts()
    answer = api_as(team.front_desk).post(
        "/api/v1/payments/",
        {"patient": setup.patient.pk, "amount": amount, "method": "card"},
        format="json",
    )
    assert answer.status_code == 400 and "amount" in answer.json(), answer.content
    assert counts() == before


def test_json_numbers_that_are_not_cents_are_refused(setup, team, api_as):
    api, before = api_as(team.front_desk), counts()
    for amount in (12.5, 1e300, -3, 10**20, True):
        answer = api.post(
            "/api/v1/payments/",
            {"patient": setup.patient.pk, "amount": amount, "method": "card"},
            format="json",
        )
        assert answer.status_code == 400 and "amount" in answer.json(), (
            amount,
            answer.content,
        )
    assert counts() == before


@pytest.mark.parametrize("charge", ["-1.00", "12.345", "1e9", "abc", "99999999999"])
def test_a_bad_line_charge_is_refused_on_its_line(setup, team, api_as, charge):
    encounter = coded_encounter(setup, team.billing)
    answer = api_as(team.clinician).put(
        f"/api/v1/encounters/{encounter.pk}/coding/",
        {
            "diagnoses": [{"code": "J02.9"}],
            "lines": [{"code": "99213", "charge": charge, "diagnosis_pointers": [1]}],
        },
        format="json",
    )
    assert answer.status_code == 400, answer.content
    assert any(key.startswith("lines") for key in answer.json()), answer.json()
    encounter.refresh_from_db()
    assert [line.code for line in encounter.lines.order_by("line_number")] == [
        "99213",
        "87880",
    ]


@pytest.mark.parametrize("units", [0, -1, 10**9, "two"])
def test_bad_units_are_refused(setup, team, api_as, units):
    encounter = coded_encounter(setup, team.billing)
    answer = api_as(team.clinician).put(
        f"/api/v1/encounters/{encounter.pk}/coding/",
        {
            "diagnoses": [{"code": "J02.9"}],
            "lines": [{"code": "99213", "units": units, "diagnosis_pointers": [1]}],
        },
        format="json",
    )
    assert answer.status_code == 400 and any(
        k.startswith("lines") for k in answer.json()
    )


MALFORMED_835 = [
    "",
    "ISA*00*",
    "not an edi file at all\n" * 50,
    (
        "ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*ALPHA01        *260101*1200*^*00501*"
        "000000001*0*T*:~GS*HP*CLEARHOUSE*ALPHA01*20260101*1200*1*X*005010X221A1~ST*835*0001~"
        "BPR*I*abc*C*ACH~SE*3*0001~GE*1*1~IEA*1*000000001~"
    ),
]


@pytest.mark.parametrize("content", MALFORMED_835)
def test_a_malformed_835_is_refused_whole_on_the_api(setup, team, api_as, content):
    before = counts()
    upload = SimpleUploadedFile("era.835", content.encode(), content_type="text/plain")
    answer = api_as(team.billing).post(
        "/api/v1/remittances/", {"file": upload}, format="multipart"
    )
    assert answer.status_code == 400 and "file" in answer.json(), answer.content
    assert counts() == before


def test_an_835_with_one_broken_payment_posts_none_of_the_file(setup, team, api_as):
    claim = claim_submit(
        claim=claim_mark_ready(
            claim=draft_claim(setup, team.billing), actor=team.billing
        ),
        actor=team.billing,
    )
    good = sample("paid", claim)
    broken = good.replace("CLP*", "CLP*X*", 1)
    before = counts()
    answer = api_as(team.billing).post(
        "/api/v1/remittances/", {"content": broken}, format="json"
    )
    assert answer.status_code == 400 and "file" in answer.json()
    assert counts() == before
    claim.refresh_from_db()
    assert claim.status == "submitted"


@override_settings(BILLING_MAX_835_BYTES=2048)
def test_an_oversized_835_is_refused_on_the_api_and_the_page(setup, team, api_as):
    claim = claim_submit(
        claim=claim_mark_ready(
            claim=draft_claim(setup, team.billing), actor=team.billing
        ),
        actor=team.billing,
    )
    text = sample("paid", claim) + ("\n" * 4096)
    before = counts()
    upload = SimpleUploadedFile("era.835", text.encode(), content_type="text/plain")
    answer = api_as(team.billing).post(
        "/api/v1/remittances/", {"file": upload}, format="multipart"
    )
    assert answer.status_code in (400, 413) and "file" in answer.json(), answer.content
    page = Client(HTTP_HOST="alpha.localhost")
    assert page.login(email=team.billing.user.email, password=PASSWORD)
    upload = SimpleUploadedFile("era.835", text.encode(), content_type="text/plain")
    answer = page.post("/billing/remittances/", {"file": upload})
    assert answer.status_code == 400 and b"2048 bytes" in answer.content
    assert counts() == before


@pytest.mark.parametrize(
    "amount", ["12.345", "-5", "1e400", "NaN", "abc", "99999999999999"]
)
def test_the_ledger_page_refuses_a_bad_payment_on_its_field(setup, team, amount):
    page = Client(HTTP_HOST="alpha.localhost")
    assert page.login(email=team.front_desk.user.email, password=PASSWORD)
    before = counts()
    answer = page.post(
        f"/billing/patients/{setup.patient.pk}/payment/",
        {"amount": amount, "method": "card"},
    )
    assert answer.status_code == 400, answer.status_code
    assert b"amount" in answer.content.lower()
    assert counts() == before


def test_beta_cannot_write_to_alpha_through_its_own_clinic(
    clinic, other_clinic, team, setup
):
    """Ids of alpha sent to beta's API name nothing there: 400/404, nothing written."""
    with tenant_context(other_clinic):
        beta = member(other_clinic, Role.BILLING, "beta_writer")
    claim = draft_claim(setup, team.billing)
    api = client_for(beta.user, other_clinic)
    with tenant_context(clinic):
        before = counts()
    assert (
        api.post(
            "/api/v1/payments/",
            {"patient": setup.patient.pk, "amount": "5.00", "method": "cash"},
            format="json",
        ).status_code
        == 400
    )
    assert (
        api.post(
            "/api/v1/claims/", {"encounter": claim.encounter_id}, format="json"
        ).status_code
        == 400
    )
    assert (
        api.post(
            f"/api/v1/policies/{setup.policy.pk}/verify-eligibility/",
            {"note": "x"},
            format="json",
        ).status_code
        == 404
    )
    assert (
        api.put(
            f"/api/v1/encounters/{claim.encounter_id}/coding/",
            {"diagnoses": [], "lines": []},
            format="json",
        ).status_code
        == 404
    )
    assert (
        api.patch(
            f"/api/v1/payers/{setup.payer.pk}/", {"name": "Mine"}, format="json"
        ).status_code
        == 404
    )
    assert (
        api.post(
            f"/api/v1/claims/{claim.pk}/void/", {"note": "x"}, format="json"
        ).status_code
        == 404
    )
    with tenant_context(clinic):
        assert counts() == before


def test_beta_on_its_own_host_cannot_write_to_alphas_rows_from_any_page(
    clinic, other_clinic, setup, team
):
    from billing.services import claims_export_837, remittance_import

    ready = claim_mark_ready(claim=draft_claim(setup, team.billing), actor=team.billing)
    batch = claims_export_837(claims=[ready.pk], actor=team.billing)
    draft = draft_claim(setup, team.billing)
    remittance_import(content=sample("unmatched"), actor=team.billing)
    queued = RemittanceClaim.objects.get(match="unmatched")
    with tenant_context(other_clinic):
        beta = member(other_clinic, Role.BILLING, "beta_pages_writer")
    before = counts()
    page = Client(HTTP_HOST="beta.localhost")
    page.force_login(beta.user)
    patient = setup.patient.pk
    posts = {
        f"/billing/claims/{draft.pk}/void/": {"note": "mine"},
        f"/billing/encounters/{draft.encounter_id}/bill/": {},
        f"/billing/encounters/{draft.encounter_id}/": {"place_of_service": "11"},
        f"/billing/patients/{patient}/payment/": {"amount": "5.00", "method": "cash"},
        f"/billing/patients/{patient}/adjustment/": {
            "amount": "5.00",
            "reason": "discount",
        },
        f"/billing/policies/{setup.policy.pk}/verify/": {"note": "x"},
        f"/billing/remittances/unmatched/{queued.pk}/dismiss/": {"note": "not ours"},
        f"/billing/remittances/unmatched/{queued.pk}/match/": {
            "claim": draft.pk,
            "note": "x",
        },
    }
    for url, body in posts.items():
        assert page.post(url, body).status_code == 404, url
    assert page.get(f"/billing/batches/{batch.pk}/837p.x12").status_code == 404
    page.post("/billing/claims/bulk/", {"action": "mark_ready", "claims": [draft.pk]})
    with tenant_context(clinic):
        assert counts() == before
        draft.refresh_from_db()
        queued.refresh_from_db()
        assert (draft.status, queued.match) == ("draft", "unmatched")


def test_the_front_desk_and_clinicians_write_only_what_their_role_allows(setup, team):
    draft = draft_claim(setup, team.billing)
    desk, clinician = (
        Client(HTTP_HOST="alpha.localhost"),
        Client(HTTP_HOST="alpha.localhost"),
    )
    desk.force_login(team.front_desk.user)
    clinician.force_login(team.clinician.user)
    before = counts()
    assert desk.post(f"/billing/claims/{draft.pk}/mark-ready/").status_code == 403
    assert (
        desk.post(
            "/billing/claims/bulk/", {"action": "mark_ready", "claims": [draft.pk]}
        ).status_code
        == 403
    )
    assert (
        desk.post(
            f"/billing/patients/{setup.patient.pk}/adjustment/",
            {"amount": "5.00", "reason": "discount"},
        ).status_code
        == 403
    )
    assert (
        clinician.post(
            f"/billing/patients/{setup.patient.pk}/payment/",
            {"amount": "5.00", "method": "cash"},
        ).status_code
        == 403
    )
    assert counts() == before
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert (
        desk.post(
            f"/billing/patients/{setup.patient.pk}/payment/",
            {"amount": "5.00", "method": "cash"},
        ).status_code
        == 302
    )
    assert Payment.objects.count() == before[0] + 1
