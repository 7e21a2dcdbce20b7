"""Helpers for the staff page tests: a clinic's schema, and the patient pages' data."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import pytest
from django.db import connection

from clinic.actors import SYSTEM
from clinic.models import AuditEntry, Patient, Workflow
from clinic.services import patient_create, workflow_create

INTAKE_FIELDS = [
    {
        "name": "referral_source",
        "label": "Referral source",
        "type": "choice",
        "required": True,
        "choices": ["GP", "Self"],
    },
    {"name": "visits", "label": "Visits last year", "type": "integer"},
    {"name": "insured", "label": "Has insurance", "type": "boolean", "required": True},
    {"name": "first_visit", "label": "First visit", "type": "date"},
    {"name": "notes", "label": "Intake notes", "type": "text"},
]


@contextmanager
def within(clinic):
    """Run ORM code in a clinic's schema (a request leaves the connection anywhere)."""
    connection.set_tenant(clinic)
    try:
        yield
    finally:
        connection.set_schema_to_public()


# The fixtures here are imported by the modules that use them; their functions are
# named apart from the fixtures, so a test's argument does not shadow the import.


@pytest.fixture(name="intake")
def intake_fixture(clinic) -> Workflow:
    with within(clinic):
        return workflow_create(
            name="New patient intake", slug="intake", fields=INTAKE_FIELDS, actor=SYSTEM
        )


@pytest.fixture(name="ada")
def ada_fixture(clinic) -> Patient:
    with within(clinic):
        return patient_create(
            first_name="Ada",
            last_name="Lovelace",
            date_of_birth=date(1990, 12, 10),
            phone="+14155550123",
            actor=SYSTEM,
        )


def access_entries(clinic) -> list[AuditEntry]:
    with within(clinic):
        return list(
            AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).order_by("id")
        )
