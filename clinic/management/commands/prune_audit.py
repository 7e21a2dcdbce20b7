"""Delete audit entries older than the retention period, in every clinic."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from clinic.audit import audit_prune
from portal.models import Clinic


class Command(BaseCommand):
    help = "Remove audit entries older than AUDIT_RETENTION_DAYS (six years) in every clinic."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=settings.AUDIT_RETENTION_DAYS,
            help="Keep this many days (default: AUDIT_RETENTION_DAYS).",
        )

    def handle(self, *args, days: int, **options) -> None:
        total = 0
        for clinic in Clinic.objects.exclude(schema_name="public").order_by(
            "schema_name"
        ):
            with schema_context(clinic.schema_name):
                removed = audit_prune(older_than_days=days)
            total += removed
            if removed:
                self.stdout.write(f"{clinic.slug}: removed {removed} entries")
        self.stdout.write(
            self.style.SUCCESS(f"Pruned {total} audit entries older than {days} days.")
        )
