import sys

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from billing import audit  # noqa: F401  (registers models with auditlog)
        from billing.crypto import startup_check

        # Every process (web server, worker, beat, management command) reads the
        # key canaries before it does anything. The test suite creates its
        # database after start-up and checks the canary in its own tests.
        if "pytest" not in sys.modules:
            startup_check()
