"""The billing partner API: shapes, filters, actions, errors, roles and tenant isolation."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import Claim
from billing.services import claim_mark_ready, claim_submit
from billing.tests.support import (
    NY,
    coded_encounter,
    completed_visit,
    draft_claim,
    member,
    past_day,
)
from billing.tests.test_x12_import import sample
from billing.x12.validate import own_checks, pyx12_errors
from clinic.models import AuditEntry
from clinic.tests.api_support import client_for
from portal.models import Role

S = Claim.Status


def test_payers_are_read_by_the_desk_and_changed_by_billing(setup, team, api_as):
    desk, biller = api_as(team.front_desk), api_as(team.billing)
    listed = desk.get("/api/v1/payers/")
    assert listed.status_code == 200
    assert {p["payer_id"] for p in listed.json()["results"]} == {"ACME1", "SECMUT"}
    assert (
        desk.post(
            "/api/v1/payers/", {"name": "X", "payer_id": "XX1"}, format="json"
        ).status_code
        == 403
    )
    created = biller.post(
        "/api/v1/payers/", {"name": "New Plan", "payer_id": "np9"}, format="json"
    )
    assert created.status_code == 201 and created.json()["payer_id"] == "NP9"
    duplicate = biller.post(
        "/api/v1/payers/", {"name": "Again", "payer_id": "NP9"}, format="json"
    )
    assert duplicate.status_code == 400 and "payer_id" in duplicate.json()
    changed = biller.patch(
        f"/api/v1/payers/{created.json()['id']}/",
        {"timely_filing_days": 90},
        format="json",
    )
    assert changed.status_code == 200 and changed.json()["timely_filing_days"] == 90


def test_policies_list_masks_the_member_id_and_the_detail_is_audited(
    setup, team, api_as
):
    api = api_as(team.front_desk)
    listed = api.get(f"/api/v1/policies/?patient={setup.patient.pk}").json()["results"]
    assert listed[0]["member_id_masked"] == "••••••••6789"
    assert "member_id" not in listed[0] and "XQZ123456789" not in str(listed)
    before = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).count()
    detail = api.get(f"/api/v1/policies/{setup.policy.pk}/").json()
    assert detail["member_id"] == "XQZ123456789"
    assert (
        AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).count() == before + 1
    )


def test_a_policy_is_added_checked_and_verified(setup, team, api_as):
    api = api_as(team.front_desk)
    body = {
        "patient": setup.patient.pk,
        "payer": setup.second_payer.pk,
        "member_id": "s-77",
        "priority": "secondary",
        "effective_from": "2024-01-01",
    }
    created = api.post("/api/v1/policies/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["member_id_masked"].endswith("S-77"[-1])
    again = api.post("/api/v1/policies/", body, format="json")
    assert again.status_code == 400
    assert "already has an active policy" in str(again.json())
    not_self = api.post(
        "/api/v1/policies/",
        {**body, "priority": "tertiary", "relationship": "01"},
        format="json",
    )
    assert not_self.status_code == 400
    verified = api.post(
        f"/api/v1/policies/{created.json()['id']}/verify-eligibility/",
        {"note": "Payer portal"},
        format="json",
    )
    assert verified.status_code == 200
    today = timezone.localdate(timezone=NY).isoformat()
    assert verified.json()["eligibility_verified_on"] == today
    assert verified.json()["eligibility_verified_by"]


def test_clinicians_code_encounters_through_the_api(setup, team, api_as):
    visit = completed_visit(setup.patient, setup.provider)
    api = api_as(team.clinician)
    opened = api.post("/api/v1/encounters/", {"appointment": visit.pk}, format="json")
    assert opened.status_code == 201 and opened.json()["status"] == "open"
    url = f"/api/v1/encounters/{opened.json()['id']}/coding/"
    bad = api.put(
        url,
        {
            "diagnoses": [{"code": "XYZ"}],
            "lines": [{"code": "99213", "diagnosis_pointers": [2]}],
        },
        format="json",
    )
    assert bad.status_code == 400 and "diagnoses.1" in bad.json()
    coded = api.put(
        url,
        {
            "diagnoses": [{"code": "J02.9"}],
            "lines": [
                {"code": "99213", "modifiers": ["25"], "diagnosis_pointers": [1]}
            ],
        },
        format="json",
    )
    assert coded.status_code == 200, coded.json()
    body = coded.json()
    assert body["status"] == "coded" and body["diagnoses"][0]["code"] == "J02.9"
    assert body["lines"][0]["charge"] == "120.00"
    assert (
        api_as(team.front_desk)
        .put(url, {"diagnoses": [], "lines": []}, format="json")
        .status_code
        == 403
    )


def test_claims_are_built_moved_and_exported(setup, team, api_as):
    api = api_as(team.billing)
    encounter = coded_encounter(setup, team.billing)
    created = api.post("/api/v1/claims/", {"encounter": encounter.pk}, format="json")
    assert created.status_code == 201
    claim = created.json()
    assert claim["status"] == "draft" and claim["total_charge"] == "155.50"
    assert claim["allowed_actions"] == ["mark-ready", "void"]
    assert [line["charge"] for line in claim["lines"]] == ["120.00", "35.50"]
    illegal = api.post(f"/api/v1/claims/{claim['id']}/pay/", {}, format="json")
    assert illegal.status_code == 409
    assert illegal.json()["current_status"] == "draft"
    ready = api.post(
        f"/api/v1/claims/{claim['id']}/mark-ready/", {"note": "checked"}, format="json"
    )
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    exported = api.post(
        "/api/v1/claims/export-837/", {"claims": [claim["id"]]}, format="json"
    )
    assert exported.status_code == 201
    assert pyx12_errors(exported.json()["content"]) == []
    assert own_checks(exported.json()["content"]) == []
    events = api.get(f"/api/v1/claims/{claim['id']}/events/").json()
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        ("", "draft"),
        ("draft", "ready"),
        ("ready", "submitted"),
    ]
    assert events[1]["note"] == "checked" and "Billing" in events[1]["actor"]
    denied = api.post(
        f"/api/v1/claims/{claim['id']}/deny/",
        {"note": "CO-50", "payer_claim_number": "P-1"},
        format="json",
    )
    assert (
        denied.json()["status"] == "denied"
        and denied.json()["payer_claim_number"] == "P-1"
    )
    assert (
        api_as(team.front_desk)
        .post(f"/api/v1/claims/{claim['id']}/appeal/", {"note": "x"}, format="json")
        .status_code
        == 403
    )
    assert (
        api_as(team.front_desk).get(f"/api/v1/claims/{claim['id']}/").status_code == 200
    )


def test_the_claims_list_filters_like_the_work_list(setup, team, api_as):
    old = draft_claim(setup, team.billing, day=past_day(100))
    new = claim_mark_ready(
        claim=draft_claim(setup, team.billing, day=past_day(2)), actor=team.billing
    )
    api = api_as(team.billing)

    def ids(query: str) -> list[int]:
        answer = api.get(f"/api/v1/claims/?{query}")
        assert answer.status_code == 200, answer.json()
        return [c["id"] for c in answer.json()["results"]]

    assert ids("status=ready") == [new.pk]
    assert ids("status=ready&status=draft") == [new.pk, old.pk]
    assert ids("min_age=90") == [old.pk] and ids("max_age=30") == [new.pk]
    assert ids(f"service_from={past_day(10).isoformat()}") == [new.pk]
    assert ids(f"payer={setup.payer.pk}&provider={setup.provider.pk}") == [
        new.pk,
        old.pk,
    ]
    assert ids(f"payer={setup.second_payer.pk}") == []
    assert api.get("/api/v1/claims/?status=nope").status_code == 400
    assert api.get("/api/v1/claims/?min_age=-1").status_code == 400
    assert api.get("/api/v1/claims/?cursor=zzz").status_code == 400


def test_payments_and_the_balance(setup, team, api_as):
    coded_encounter(setup, team.billing)
    desk = api_as(team.front_desk)
    paid = desk.post(
        "/api/v1/payments/",
        {"patient": setup.patient.pk, "amount": "55.50", "method": "card"},
        format="json",
    )
    assert paid.status_code == 201 and paid.json()["amount"] == "55.50"
    assert (
        desk.post(
            "/api/v1/payments/",
            {"patient": setup.patient.pk, "amount": "1.001", "method": "card"},
            format="json",
        ).status_code
        == 400
    )
    balance = desk.get(f"/api/v1/patients/{setup.patient.pk}/balance/").json()
    assert balance["charges"] == "155.50" and balance["patient_paid"] == "55.50"
    assert balance["balance"] == "100.00"
    assert (
        api_as(team.clinician)
        .get(f"/api/v1/patients/{setup.patient.pk}/balance/")
        .status_code
        == 403
    )
    assert desk.get("/api/v1/patients/999999/balance/").status_code == 404
    listed = desk.get(f"/api/v1/payments/?patient={setup.patient.pk}").json()["results"]
    assert [p["amount"] for p in listed] == ["55.50"]


def test_a_remittance_is_uploaded_as_a_file_or_as_text_and_posted_once(
    setup, team, api_as
):
    claim = claim_submit(
        claim=claim_mark_ready(
            claim=draft_claim(setup, team.billing), actor=team.billing
        ),
        actor=team.billing,
    )
    api = api_as(team.billing)
    text = sample("paid", claim)
    upload = SimpleUploadedFile("era.835", text.encode(), content_type="text/plain")
    first = api.post("/api/v1/remittances/", {"file": upload}, format="multipart")
    assert first.status_code == 201, first.json()
    assert (
        first.json()["posted"] == 1
        and first.json()["imported"][0]["trace_number"] == "CHK100001"
    )
    again = api.post("/api/v1/remittances/", {"content": text}, format="json")
    assert again.status_code == 201
    assert again.json() == {
        "imported": [],
        "duplicates": ["CHK100001"],
        "posted": 0,
        "unmatched": 0,
    }
    broken = api.post(
        "/api/v1/remittances/", {"content": "ISA*garbage~"}, format="json"
    )
    assert broken.status_code == 400 and "file" in broken.json()
    assert (
        api.get("/api/v1/remittances/").json()["results"][0]["claims"][0]["match"]
        == "posted"
    )
    assert (
        api_as(team.front_desk)
        .post("/api/v1/remittances/", {"content": text}, format="json")
        .status_code
        == 403
    )


ROUTES = [
    "/api/v1/payers/",
    "/api/v1/policies/",
    "/api/v1/encounters/",
    "/api/v1/claims/",
    "/api/v1/payments/",
    "/api/v1/remittances/",
]


def test_no_token_no_billing(clinic):
    api = Client(HTTP_HOST="alpha.localhost")
    for route in [*ROUTES, "/api/v1/patients/1/balance/"]:
        assert api.get(route).status_code == 401, route


def test_a_token_of_beta_gets_nothing_of_alpha(clinic, other_clinic, team, setup):
    with tenant_context(other_clinic):
        beta_biller = member(other_clinic, Role.BILLING, "beta_biller")
    claim = draft_claim(setup, team.billing)
    beta_on_alpha = client_for(beta_biller.user, other_clinic)
    beta_on_alpha.defaults["HTTP_HOST"] = "alpha.localhost"
    for route in [
        *ROUTES,
        f"/api/v1/claims/{claim.pk}/",
        f"/api/v1/patients/{setup.patient.pk}/balance/",
    ]:
        assert beta_on_alpha.get(route).status_code == 401, route
    beta = client_for(beta_biller.user, other_clinic)
    for route in (
        f"/api/v1/claims/{claim.pk}/",
        f"/api/v1/claims/{claim.pk}/events/",
        f"/api/v1/policies/{setup.policy.pk}/",
        f"/api/v1/payers/{setup.payer.pk}/",
        f"/api/v1/encounters/{claim.encounter_id}/",
        f"/api/v1/patients/{setup.patient.pk}/balance/",
    ):
        assert beta.get(route).status_code == 404, route
    assert (
        beta.post(
            f"/api/v1/claims/{claim.pk}/mark-ready/", {}, format="json"
        ).status_code
        == 404
    )
    for route in ROUTES:
        answer = beta.get(route)
        assert answer.status_code == 200 and answer.json()["results"] == [], route


def test_the_schema_documents_billing_errors(clinic):
    schema = Client(HTTP_HOST="alpha.localhost").get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path in ("/api/v1/claims/", "/api/v1/payers/", "/api/v1/remittances/"):
        assert {"401", "403"} <= set(paths[path]["get"]["responses"]), path
    assert {"401", "403", "404", "409"} <= set(
        paths["/api/v1/claims/{id}/pay/"]["post"]["responses"]
    )
    assert "404" in paths["/api/v1/patients/{id}/balance/"]["get"]["responses"]
    assert "409" in paths["/api/v1/claims/export-837/"]["post"]["responses"]
    assert (
        "multipart/form-data"
        in paths["/api/v1/remittances/"]["post"]["requestBody"]["content"]
    )
