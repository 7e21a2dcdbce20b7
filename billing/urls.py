"""Billing's routes on a clinic's host: staff pages under /billing/, API under /api/v1/."""

from django.urls import include, path

from billing.views import claims, dashboard, encounters, ledger, remittances

pages = [
    path("", dashboard.billing_home, name="billing-home"),
    path("dashboard/", dashboard.dashboard, name="billing-dashboard"),
    path("claims/", claims.claim_list, name="billing-claims"),
    path("claims/bulk/", claims.claim_bulk, name="billing-claims-bulk"),
    path("claims/<int:pk>/", claims.claim_detail, name="billing-claim-detail"),
    path(
        "claims/<int:pk>/<slug:action>/",
        claims.claim_action,
        name="billing-claim-action",
    ),
    path(
        "batches/<int:pk>/837p.x12",
        claims.batch_download,
        name="billing-batch-download",
    ),
    path("encounters/", encounters.encounter_list, name="billing-encounters"),
    path("encounters/<int:pk>/", encounters.encounter_coding, name="billing-encounter"),
    path(
        "encounters/<int:pk>/bill/",
        encounters.encounter_bill,
        name="billing-encounter-bill",
    ),
    path(
        "visits/<int:appointment_pk>/code/",
        encounters.visit_code,
        name="billing-visit-code",
    ),
    path(
        "patients/<int:pk>/", ledger.patient_ledger_page, name="billing-patient-ledger"
    ),
    path(
        "patients/<int:pk>/statement/",
        ledger.patient_statement,
        name="billing-statement",
    ),
    path(
        "patients/<int:pk>/<slug:action>/",
        ledger.patient_ledger_action,
        name="billing-patient-action",
    ),
    path(
        "policies/<int:pk>/verify/", ledger.policy_verify, name="billing-policy-verify"
    ),
    path("remittances/", remittances.remittance_list, name="billing-remittances"),
    path(
        "remittances/unmatched/", remittances.unmatched_queue, name="billing-unmatched"
    ),
    path(
        "remittances/unmatched/<int:pk>/<slug:action>/",
        remittances.unmatched_resolve,
        name="billing-unmatched-resolve",
    ),
]

urlpatterns = [
    path("billing/", include(pages)),
    path("api/v1/", include("billing.api.urls")),
]
