"""Remove a deactivated clinic for good, after writing a restorable export."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.clinic_removal import clinic_remove
from portal.errors import ApplicationError
from portal.models import Clinic


class Command(BaseCommand):
    help = (
        "Drop a deactivated clinic's schema and rows, after exporting them. "
        "Asks for the clinic's slug again as --confirm."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--confirm", default="", help="The clinic's slug, again.")
        parser.add_argument(
            "--export-dir",
            default=str(Path(settings.BASE_DIR) / "var" / "exports"),
            help="Where the export is written (default var/exports).",
        )

    def handle(
        self, *args, slug: str, confirm: str, export_dir: str, **options
    ) -> None:
        clinic = Clinic.objects.filter(slug=slug).first()
        if clinic is None:
            raise CommandError(f"No clinic with the slug '{slug}'.")
        try:
            dump, public = clinic_remove(
                clinic=clinic, confirm=confirm, directory=Path(export_dir)
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Removed {clinic.name}. Its export:\n  {dump}\n  {public}")
        self.stdout.write(
            "Restore with: pg_restore --dbname=<database> "
            f"{dump} && python manage.py loaddata {public}"
        )
