"""Routes of the messaging API, included under /api/v1/ on a clinic's host."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from calls.api import AppointmentRemindersView, ConversationViewSet, MessageViewSet
from calls.api_voice import CallViewSet

router = SimpleRouter(use_regex_path=False)
router.register("messages", MessageViewSet, basename="api-message")
router.register("conversations", ConversationViewSet, basename="api-conversation")
router.register("calls", CallViewSet, basename="api-call")

urlpatterns = [
    *router.urls,
    path(
        "appointments/<int:pk>/reminders/",
        AppointmentRemindersView.as_view(),
        name="api-appointment-reminders",
    ),
]
