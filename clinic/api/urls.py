"""Routes of the clinic's partner API, included under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from clinic.api.schedule_views import (
    AppointmentTypeViewSet,
    AppointmentViewSet,
    ProviderViewSet,
    SlotListView,
)
from clinic.api.documents import DocumentViewSet
from clinic.api.views import PatientViewSet

router = SimpleRouter(use_regex_path=False)
# "api-patient" keeps the route names apart from the staff pages' "patient-*".
router.register("patients", PatientViewSet, basename="api-patient")
router.register("providers", ProviderViewSet, basename="api-provider")
router.register(
    "appointment-types", AppointmentTypeViewSet, basename="api-appointment-type"
)
router.register("appointments", AppointmentViewSet, basename="api-appointment")
router.register("documents", DocumentViewSet, basename="api-document")

urlpatterns = [
    *router.urls,
    path("slots/", SlotListView.as_view(), name="api-slots"),
]
