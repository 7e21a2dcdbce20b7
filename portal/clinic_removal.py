"""Removing a clinic for good: only after an export that can be restored.

Deactivating a clinic (portal.services.clinic_deactivate) is what the admin
offers. Removal drops the clinic's schema, with its patients and its audit
trail, so it is a separate operator command that asks for the clinic's slug
as confirmation, refuses an active clinic, and first writes two files:

- `<slug>-<time>.dump`: `pg_dump --format=custom` of the clinic's schema,
  restored with `pg_restore --dbname=<database> <file>`;
- `<slug>-<time>.public.json`: the clinic's public rows (clinic, domains,
  memberships, security events), restored with `manage.py loaddata <file>`.

The dump is read back with `pg_restore --list` before anything is dropped.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core import serializers
from django.db import connection, transaction

from portal.errors import ApplicationError
from portal.models import Clinic, Domain, Membership, SecurityEvent


def _pg_environment() -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = {**os.environ, "PGDATABASE": db["NAME"], "PGUSER": db.get("USER") or ""}
    env["PGHOST"] = db.get("HOST") or "127.0.0.1"
    env["PGPORT"] = str(db.get("PORT") or 5432)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def clinic_export(*, clinic: Clinic, directory: Path) -> tuple[Path, Path]:
    """Write the schema dump and the public rows of `clinic`; check the dump reads back."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{clinic.slug}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    dump, public = directory / f"{stem}.dump", directory / f"{stem}.public.json"
    env = _pg_environment()
    subprocess.run(
        [
            "pg_dump",
            "--format=custom",
            f"--schema={clinic.schema_name}",
            f"--file={dump}",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        ["pg_restore", "--list", str(dump)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if f" TABLE {clinic.schema_name} " not in listing:
        raise ApplicationError(
            f"The export {dump} holds no table of {clinic.schema_name}."
        )
    rows = [
        clinic,
        *Domain.objects.filter(tenant=clinic),
        *Membership.objects.filter(clinic=clinic),
        *SecurityEvent.objects.filter(clinic=clinic),
    ]
    public.write_text(serializers.serialize("json", rows, indent=1))
    return dump, public


def clinic_remove(
    *, clinic: Clinic, confirm: str, directory: Path
) -> tuple[Path, Path]:
    """Export, then drop the clinic's schema and its public rows, all or nothing."""
    if clinic.is_template or clinic.schema_name == "public":
        raise ApplicationError(
            "The platform and the template clinic cannot be removed."
        )
    if confirm != clinic.slug:
        raise ApplicationError(
            f"Refused: confirm the removal by naming the clinic (--confirm {clinic.slug})."
        )
    if clinic.is_active:
        raise ApplicationError(
            f"Refused: {clinic.name} is active. Deactivate it first (platform admin)."
        )
    files = clinic_export(clinic=clinic, directory=directory)
    with transaction.atomic():
        connection.set_schema_to_public()
        clinic.delete(force_drop=True)
    return files
