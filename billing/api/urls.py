"""Routes of the billing partner API, included under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from billing.api.views_claims import ClaimViewSet, EncounterViewSet
from billing.api.views_money import (
    PatientBalanceView,
    PaymentViewSet,
    RemittanceViewSet,
)
from billing.api.views_setup import PayerViewSet, PolicyViewSet

router = SimpleRouter(use_regex_path=False)
router.register("payers", PayerViewSet, basename="api-payer")
router.register("policies", PolicyViewSet, basename="api-policy")
router.register("encounters", EncounterViewSet, basename="api-encounter")
router.register("claims", ClaimViewSet, basename="api-claim")
router.register("payments", PaymentViewSet, basename="api-payment")
router.register("remittances", RemittanceViewSet, basename="api-remittance")

urlpatterns = [
    *router.urls,
    path(
        "patients/<int:pk>/balance/",
        PatientBalanceView.as_view(),
        name="api-patient-balance",
    ),
]
