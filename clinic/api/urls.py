"""Routes of the clinic's partner API, included under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from clinic.api.dashboard import DashboardView
from clinic.api.documents import DocumentViewSet
from clinic.api.notes import NoteViewSet
from clinic.api.notifications import NotificationViewSet
from clinic.api.schedule_views import (
    AppointmentTypeViewSet,
    AppointmentViewSet,
    ProviderViewSet,
    SlotListView,
)
from clinic.api.tasks import TaskViewSet
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
router.register("tasks", TaskViewSet, basename="api-task")
router.register("notes", NoteViewSet, basename="api-note")
router.register("notifications", NotificationViewSet, basename="api-notification")

urlpatterns = [
    *router.urls,
    path("slots/", SlotListView.as_view(), name="api-slots"),
    path("dashboard/", DashboardView.as_view(), name="api-dashboard"),
]
