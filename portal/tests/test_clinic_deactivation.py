"""A clinic is deactivated, never deleted from the admin; removal needs an export first."""

from __future__ import annotations

import subprocess
from datetime import date

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, schema_exists
from rest_framework.test import APIClient

from clinic.actors import SYSTEM
from conftest import PASSWORD
from portal.clinic_removal import _pg_environment
from portal.models import Clinic, Domain, Membership, SecurityEvent
from portal.selectors import routable_clinics
from portal.services import (
    clinic_deactivate,
    clinic_provision,
    clinic_reactivate,
    user_create,
)


@pytest.fixture
def operator(db):
    user = user_create(
        email="ops@platform.test", password=PASSWORD, is_staff=True, is_superuser=True
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def _token(clinic_host: str) -> str:
    response = APIClient(HTTP_HOST=clinic_host).post(
        "/api/v1/auth/token/",
        {"email": "desk@alpha.test", "password": PASSWORD},
        format="json",
    )
    return response.json()["access"]


def test_the_platform_admin_offers_no_delete_for_a_clinic(operator, clinic):
    assert operator.get(f"/admin/portal/clinic/{clinic.pk}/delete/").status_code == 403
    changelist = operator.get("/admin/portal/clinic/").content.decode()
    assert 'value="delete_selected"' not in changelist
    assert 'value="deactivate"' in changelist


def test_a_deactivated_clinic_answers_unavailable_at_every_door(
    operator, clinic, staff_client
):
    access = _token("alpha.localhost")

    response = operator.post(
        "/admin/portal/clinic/",
        {"action": "deactivate", "_selected_action": [clinic.pk]},
    )

    assert response.status_code == 302
    clinic.refresh_from_db()
    assert not clinic.is_active and clinic.deactivated_at is not None
    page = staff_client.get("/patients/")
    assert page.status_code == 503
    assert "Clinic unavailable" in page.content.decode()
    api = APIClient(HTTP_HOST="alpha.localhost")
    assert (
        api.get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code
        == 503
    )
    token = api.post(
        "/api/v1/auth/token/",
        {"email": "desk@alpha.test", "password": PASSWORD},
        format="json",
    )
    assert token.status_code == 503
    assert token.json() == {"detail": "This clinic's portal is not available."}
    assert Client(HTTP_HOST="alpha.localhost").get("/admin/").status_code == 503
    assert clinic not in routable_clinics()
    assert SecurityEvent.objects.filter(
        clinic=clinic, kind=SecurityEvent.Kind.CLINIC_DEACTIVATED
    ).exists()


def test_reactivating_brings_the_clinic_back_as_it_was(
    clinic, staff_client, staff_user
):
    clinic_deactivate(clinic=clinic, actor=staff_user)
    assert staff_client.get("/patients/").status_code == 503

    clinic_reactivate(clinic=Clinic.objects.get(pk=clinic.pk), actor=staff_user)

    assert staff_client.get("/patients/").status_code == 200


def test_the_template_and_the_platform_cannot_be_deactivated(db, staff_user):
    from django.core.exceptions import ValidationError

    for clinic in Clinic.objects.filter(
        schema_name__in=["public", settings.TENANT_BASE_SCHEMA]
    ):
        with pytest.raises(ValidationError):
            clinic_deactivate(clinic=clinic, actor=staff_user)


# --- remove_clinic: committed on purpose (pg_dump reads what is committed) -----------------


@pytest.fixture
def doomed(django_db_setup, django_db_blocker):
    """A committed clinic with one patient, deactivated; whatever is left is dropped after."""
    from clinic.services import patient_create

    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        clinic = clinic_provision(
            slug="doomed",
            name="Doomed Clinic",
            admin_email="admin@doomed.test",
            admin_password=PASSWORD,
        )
        with schema_context(clinic.schema_name):
            patient_create(
                first_name="Grace",
                last_name="Hopper",
                date_of_birth=date(1906, 12, 9),
                actor=SYSTEM,
            )
        connection.set_schema_to_public()
        yield clinic
        connection.set_schema_to_public()
        leftover = Clinic.objects.filter(slug="doomed").first()
        if leftover is not None:
            leftover.delete(force_drop=True)
        elif schema_exists("c_doomed"):
            with connection.cursor() as cursor:
                cursor.execute("DROP SCHEMA c_doomed CASCADE")


def test_remove_clinic_refuses_without_a_confirmation_naming_the_clinic(
    doomed, tmp_path
):
    clinic_deactivate(clinic=doomed, actor=None)
    for confirm in ("", "another-clinic"):
        with pytest.raises(CommandError, match="--confirm doomed"):
            call_command(
                "remove_clinic", "doomed", confirm=confirm, export_dir=str(tmp_path)
            )
    assert schema_exists("c_doomed")
    assert list(tmp_path.iterdir()) == []


def test_remove_clinic_refuses_an_active_clinic(doomed, tmp_path):
    with pytest.raises(CommandError, match="Deactivate it first"):
        call_command(
            "remove_clinic", "doomed", confirm="doomed", export_dir=str(tmp_path)
        )
    assert schema_exists("c_doomed")


def test_remove_clinic_exports_first_and_the_export_restores_the_clinic(
    doomed, tmp_path
):
    clinic_deactivate(clinic=doomed, actor=None)

    call_command("remove_clinic", "doomed", confirm="doomed", export_dir=str(tmp_path))

    assert not schema_exists("c_doomed")
    assert not Clinic.objects.filter(slug="doomed").exists()
    assert not Domain.objects.filter(domain__startswith="doomed.").exists()
    dump = next(tmp_path.glob("doomed-*.dump"))
    public = next(tmp_path.glob("doomed-*.public.json"))

    subprocess.run(
        ["pg_restore", "--dbname", settings.DATABASES["default"]["NAME"], str(dump)],
        env=_pg_environment(),
        check=True,
        capture_output=True,
    )
    call_command("loaddata", str(public), verbosity=0)

    restored = Clinic.objects.get(slug="doomed")
    assert Membership.objects.filter(
        clinic=restored, user__email="admin@doomed.test"
    ).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_name FROM c_doomed.clinic_patient")
        assert cursor.fetchall() == [("Hopper",)]
