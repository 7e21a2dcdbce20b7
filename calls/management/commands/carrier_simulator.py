"""Run the carrier simulator (Twilio's REST API subset) in the foreground."""

from __future__ import annotations

import logging
import os
import signal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Serve the carrier simulator, a local stand-in for Twilio's Messages and Calls API "
        "that posts signed status callbacks. Listens where settings.TWILIO_API_BASE points."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        base = urlsplit(settings.TWILIO_API_BASE)
        parser.add_argument("--host", default=base.hostname or "127.0.0.1")
        parser.add_argument("--port", type=int, default=base.port or 8099)
        parser.add_argument(
            "--step-delay",
            type=float,
            default=float(os.environ.get("CARRIER_SIM_STEP_DELAY", "0.5")),
            help="Seconds between status changes (default 0.5, env CARRIER_SIM_STEP_DELAY).",
        )
        parser.add_argument(
            "--inbound-url",
            default=os.environ.get("CARRIER_SIM_INBOUND_URL", ""),
            help="Where POST /_sim/inbound delivers texts when neither the request nor a "
            "registered number says (env CARRIER_SIM_INBOUND_URL).",
        )

    def handle(self, *args: object, **options: object) -> None:
        from calls.simulator import CarrierSimulator, run

        logger = logging.getLogger("calls.simulator")
        if int(options["verbosity"]) >= 1 and logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)

        def stop(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)

        def ready(simulator: CarrierSimulator) -> None:
            self.stdout.write(
                f"Carrier simulator on {simulator.url} for account {simulator.account_sid} "
                f"(status every {simulator.step_delay:g}s). Ctrl-C stops it."
            )
            self.stdout.flush()

        try:
            run(
                account_sid=settings.TWILIO_ACCOUNT_SID,
                auth_token=settings.TWILIO_AUTH_TOKEN,
                host=str(options["host"]),
                port=int(options["port"]),
                step_delay=float(options["step_delay"]),
                inbound_url=str(options["inbound_url"]),
                ready=ready,
            )
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']}: {exc.strerror or exc}. "
                "Is another simulator running? Pick another --port and set TWILIO_API_BASE to match."
            ) from exc
