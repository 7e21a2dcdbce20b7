"""Make sure the public clinic row, the bare domain and the template clinic exist."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from portal.services import clinic_ensure_public, clinic_ensure_template


class Command(BaseCommand):
    help = (
        "Ensure the platform rows exist: the public schema's clinic with the bare "
        "PORTAL_DOMAIN, and the migrated template clinic new clinics are cloned from. "
        "Safe to run any number of times; run it after `migrate_schemas --shared`."
    )

    def handle(self, *args: object, **options: object) -> None:
        connection.set_schema_to_public()
        public = clinic_ensure_public()
        template = clinic_ensure_template()
        if int(options["verbosity"]) >= 1:
            self.stdout.write(
                f"Platform ready: public site on {settings.PORTAL_DOMAIN} "
                f"(schema {public.schema_name}), template schema {template.schema_name}."
            )
