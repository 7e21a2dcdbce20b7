"""Plan the reminders of every upcoming visit, as the clinic's policy asks (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from portal.fanout import clinic_schemas
from portal.models import Clinic


class Command(BaseCommand):
    help = (
        "Write the reminder rows of upcoming visits that have none for their time (visits "
        "imported or made before texting was set up). Steps already planned or sent stay."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--schema", action="append", help="Only this clinic (repeatable)."
        )

    def handle(self, *args: object, **options: object) -> None:
        from calls.services.reminders import reminders_replan

        for schema in options["schema"] or clinic_schemas():
            clinic = Clinic.objects.get(schema_name=schema)
            connection.set_tenant(clinic)
            try:
                count = reminders_replan()
            finally:
                connection.set_schema_to_public()
            self.stdout.write(f"{clinic.slug}: {count} upcoming visits planned")
