"""Routes of the clinic's partner API, included under /api/v1/."""

from rest_framework.routers import SimpleRouter

from clinic.api.views import PatientViewSet

router = SimpleRouter(use_regex_path=False)
# "api-patient" keeps the route names apart from the staff pages' "patient-*".
router.register("patients", PatientViewSet, basename="api-patient")

urlpatterns = router.urls
