from django.urls import path

from calls.consumers import ClinicEventsConsumer

websocket_urlpatterns = [path("ws/events/", ClinicEventsConsumer.as_asgi())]
