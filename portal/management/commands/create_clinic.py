"""Provision a clinic from the command line: schema, domain, admin, default workflow."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.services import clinic_domain, clinic_provision


class Command(BaseCommand):
    help = (
        "Create a clinic: its schema (cloned from the template), its domain "
        "<slug>.<PORTAL_DOMAIN>, an admin user and the default workflow. All or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "slug", help="Lowercase letters, digits and hyphens, e.g. riverside."
        )
        parser.add_argument(
            "--name", required=True, help="The clinic's name as staff see it."
        )
        parser.add_argument(
            "--admin-email", required=True, help="The first clinic admin."
        )
        parser.add_argument(
            "--admin-password",
            required=True,
            help="At least 12 characters (ignored when the admin already has an account).",
        )
        parser.add_argument(
            "--timezone", default="UTC", help="IANA name, e.g. America/New_York."
        )

    def handle(self, *args: object, **options: object) -> None:
        slug = str(options["slug"])
        try:
            clinic = clinic_provision(
                slug=slug,
                name=str(options["name"]),
                admin_email=str(options["admin_email"]),
                admin_password=str(options["admin_password"]),
                timezone_name=str(options["timezone"]),
            )
        except ValidationError as exc:
            raise CommandError(_describe(exc)) from exc
        if int(options["verbosity"]) >= 1:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Clinic '{clinic.name}' is ready at {clinic_domain(slug)} "
                    f"(schema {clinic.schema_name}); admin: {options['admin_email']}."
                )
            )


def _describe(exc: ValidationError) -> str:
    """One readable line per problem, named after the command's options."""
    options = {
        "slug": "slug",
        "name": "--name",
        "admin_password": "--admin-password",
        "timezone": "--timezone",
        "admin_email": "--admin-email",
    }
    if not hasattr(exc, "error_dict"):
        return "Clinic not created: " + " ".join(exc.messages)
    lines = ["Clinic not created:"]
    for field, messages in exc.message_dict.items():
        label = options.get(field, field)
        lines.extend(f"  {label}: {message}" for message in messages)
    return "\n".join(lines)
