"""ASGI entry point: Django over HTTP, Channels consumers over WebSocket.

HTTP goes to Django's WSGI handler on a fixed pool of threads (portal.serving),
so database connections are bounded and persist; WebSockets go to Channels.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from portal.serving import http_application  # noqa: E402

http_app = http_application()  # sets Django up before Channels is imported

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from calls.routing import websocket_urlpatterns  # noqa: E402
from portal.channels import ClinicHostMiddleware, ClinicOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": ClinicOriginValidator(
            ClinicHostMiddleware(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
