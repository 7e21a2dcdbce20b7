"""Provision the demo clinic with staff of every role, workflows and realistic patients.

Idempotent: each part (clinic, staff, workflows, patients, schedule) is created
only when it is missing, so a second run changes nothing and a run that stopped
halfway finishes the job. The patients are synthetic, generated from a fixed seed
(portal.demo.data).
"""

from __future__ import annotations

import os
import random

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from clinic.actors import DEMO
from clinic.clock import clinic_today
from clinic.demo.schedule import seed_demo_schedule
from clinic.models import Patient, Provider, Workflow
from clinic.services import patients_bulk_create, workflow_create
from portal.demo.data import (
    DEFAULT_PASSWORD,
    MAIN_PHONE,
    NAME,
    OPERATOR,
    PATIENTS,
    PRIMARY_COLOR,
    SEED,
    SLUG,
    STAFF,
    STAFF_PHONE,
    TIMEZONE,
    WORKFLOWS,
    demo_patient_rows,
)
from portal.errors import ApplicationError
from portal.models import Clinic, Role, User
from portal.services import (
    clinic_domain,
    clinic_provision,
    membership_grant,
    user_create,
)


class Command(BaseCommand):
    help = (
        "Provision the demo clinic 'demo' (Riverside Family Clinic): staff of every role, "
        "two extra workflows, ~200 synthetic patients and six weeks of schedule. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT", "8000")),
            help="Port shown in the printed URLs (default 8000 or $PORT).",
        )
        parser.add_argument("--patients", type=int, default=PATIENTS)
        parser.add_argument(
            "--logins-only",
            action="store_true",
            help="Only print the demo URLs and logins; touch nothing.",
        )

    def handle(self, *args: object, **options: object) -> None:
        password = os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
        if options["logins_only"]:
            name = (
                Clinic.objects.filter(slug=SLUG).values_list("name", flat=True).first()
            )
            self._print_logins(name or NAME, password, int(options["port"]))
            return
        try:
            validate_password(password)
        except ValidationError as exc:
            raise CommandError(
                "DEMO_PASSWORD is refused: " + " ".join(exc.messages)
            ) from exc
        connection.set_schema_to_public()
        self.verbose = int(options["verbosity"]) >= 1

        clinic = self._ensure_clinic(password)
        self._ensure_staff(clinic, password)
        with tenant_context(clinic):
            workflows = self._ensure_workflows()
            self._ensure_patients(workflows, int(options["patients"]))
            self._ensure_schedule()
        connection.set_schema_to_public()
        self._print_logins(clinic.name, password, int(options["port"]))

    def _say(self, text: str) -> None:
        if self.verbose:
            self.stdout.write(text)

    def _ensure_clinic(self, password: str) -> Clinic:
        clinic = Clinic.objects.filter(slug=SLUG).first()
        if clinic is not None:
            self._say(
                f"Demo clinic exists ({clinic.name}, schema {clinic.schema_name}); kept as is."
            )
            return clinic
        try:
            clinic = clinic_provision(
                slug=SLUG,
                name=NAME,
                admin_email=STAFF[0][0],
                admin_password=password,
                timezone_name=TIMEZONE,
                main_phone=MAIN_PHONE,
                staff_phone=STAFF_PHONE,
                primary_color=PRIMARY_COLOR,
            )
        except ValidationError as exc:
            raise CommandError(
                f"Could not provision the demo clinic: {exc.message_dict}"
            ) from exc
        self._say(
            f"Provisioned {NAME} at {clinic_domain(SLUG)} (schema {clinic.schema_name})."
        )
        return clinic

    @transaction.atomic
    def _ensure_staff(self, clinic: Clinic, password: str) -> None:
        created = []
        for email, full_name, role in STAFF:
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                user = user_create(email=email, password=password, full_name=full_name)
                created.append(email)
            elif not user.full_name:
                user.full_name = full_name
                user.save(update_fields=["full_name"])
            membership = user.memberships.filter(clinic=clinic).first()
            if (
                membership is None
                or membership.role != role
                or not membership.is_active
            ):
                membership_grant(user=user, clinic=clinic, role=role)
        email, full_name = OPERATOR
        if not User.objects.filter(email__iexact=email).exists():
            user_create(
                email=email,
                password=password,
                full_name=full_name,
                is_staff=True,
                is_superuser=True,
            )
            created.append(email)
        if created:
            self._say("Created demo accounts: " + ", ".join(created) + ".")
        else:
            self._say("Demo accounts exist; passwords left as they are.")

    def _ensure_workflows(self) -> dict[str, object]:

        for spec in WORKFLOWS:
            if not Workflow.objects.filter(slug=spec["slug"]).exists():
                workflow_create(actor=DEMO, **spec)
                self._say(f"Created workflow '{spec['name']}'.")
        workflows: dict[str, object] = {w.slug: w for w in Workflow.objects.all()}
        default = Workflow.objects.filter(is_default=True).first()
        workflows.setdefault("general", default)
        return workflows

    def _ensure_patients(self, workflows: dict[str, object], count: int) -> None:

        existing = Patient.objects.count()
        if existing:
            self._say(f"Demo clinic has {existing} patients; none added.")
            return
        rows = demo_patient_rows(today=clinic_today(), workflows=workflows, count=count)
        try:
            created = patients_bulk_create(rows=rows, actor=DEMO)
        except ApplicationError as exc:
            raise CommandError(
                f"Demo patients refused: {exc.message} {exc.extra}"
            ) from exc
        archived = sum(1 for p in created if p.status == "archived")
        self._say(f"Created {len(created)} demo patients ({archived} archived).")

    def _ensure_schedule(self) -> None:

        if Provider.objects.exists():
            self._say("Demo clinic has providers; schedule kept as is.")
            return
        by_role = {
            role: User.objects.get(email__iexact=email) for email, _, role in STAFF
        }
        counts = seed_demo_schedule(
            today=clinic_today(),
            rng=random.Random(SEED),
            patients=list(Patient.objects.order_by("pk")),
            front_desk=by_role[Role.FRONT_DESK],
            clinician=by_role[Role.CLINICIAN],
        )
        detail = ", ".join(
            f"{n} {status.replace('_', ' ')}" for status, n in sorted(counts.items())
        )
        self._say(
            f"Created the demo schedule: {sum(counts.values())} appointments ({detail})."
        )

    def _print_logins(self, clinic_name: str, password: str, port: int) -> None:
        suffix = "" if port == 80 else f":{port}"
        public = f"http://{settings.PORTAL_DOMAIN}{suffix}"
        site = f"http://{clinic_domain(SLUG)}{suffix}"
        width = max(len(email) for email, _, _ in STAFF)
        lines = [
            "",
            f"Demo clinic: {clinic_name}  {site}/",
            f"  sign in:        {site}/account/sign-in/",
            f"  clinic admin:   {site}/admin/",
            f"  platform admin: {public}/admin/",
            "  logins (password for all: " + password + "):",
        ]
        for email, _, role in STAFF:
            lines.append(f"    {email:<{width}}  {Role(role).label}")
        lines.append(f"    {OPERATOR[0]:<{width}}  Platform operator ({public}/admin/)")
        self.stdout.write("\n".join(lines))
