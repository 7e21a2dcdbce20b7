"""Re-encrypt every clinic's member ids (and canary) with the first billing key.

Rotation: put the new key first in BILLING_ENCRYPTION_KEYS and keep the old one
after it, restart, run this command, then drop the old key and restart again.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from billing.crypto import rotate_schema
from portal.models import Clinic


class Command(BaseCommand):
    help = "Re-encrypt billing member ids and key canaries with the first billing key."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--schema",
            action="append",
            default=[],
            help="Only this clinic schema (repeatable).",
        )

    def handle(self, *args, **options) -> None:
        wanted = set(options["schema"])
        clinics = Clinic.objects.exclude(schema_name="public").order_by("schema_name")
        if wanted:
            clinics = clinics.filter(schema_name__in=wanted)
            missing = wanted - set(clinics.values_list("schema_name", flat=True))
            if missing:
                raise CommandError(
                    f"No such clinic schema: {', '.join(sorted(missing))}"
                )
        total = 0
        for clinic in clinics:
            connection.set_tenant(clinic)
            try:
                count = rotate_schema()
            finally:
                connection.set_schema_to_public()
            total += count
            self.stdout.write(f"{clinic.schema_name}: {count} value(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} value(s)."))
