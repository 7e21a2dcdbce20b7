from django.apps import AppConfig
from django.db.backends.signals import connection_created


class PortalConfig(AppConfig):
    name = "portal"

    def ready(self) -> None:
        from portal.db import configure_connection

        connection_created.connect(configure_connection, dispatch_uid="portal-trgm")
