import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from clinic.models import Patient, Workflow
from conftest import PASSWORD
from portal import services
from portal.models import Clinic, Domain, Membership, Role, User


def test_create_clinic_command_provisions_schema_domain_admin_and_workflow(db):
    call_command(
        "create_clinic",
        "gamma",
        name="Gamma Clinic",
        admin_email="boss@gamma.test",
        admin_password=PASSWORD,
        stdout=open("/dev/null", "w"),
    )
    clinic = Clinic.objects.get(slug="gamma")
    assert schema_exists(clinic.schema_name)
    assert Domain.objects.get(tenant=clinic).domain == "gamma.localhost"
    admin = User.objects.get(email="boss@gamma.test")
    assert Membership.objects.get(user=admin, clinic=clinic).role == Role.ADMIN
    with schema_context(clinic.schema_name):
        assert Workflow.objects.get(is_default=True).slug == "general"
        assert Patient.objects.count() == 0


def test_a_second_run_with_the_same_slug_fails_clearly_and_changes_nothing(db, clinic):
    before = (Clinic.objects.count(), Domain.objects.count(), User.objects.count())
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "create_clinic",
            clinic.slug,
            name="Again",
            admin_email="new@alpha.test",
            admin_password=PASSWORD,
            stdout=open("/dev/null", "w"),
        )
    assert (
        Clinic.objects.count(),
        Domain.objects.count(),
        User.objects.count(),
    ) == before


@pytest.mark.parametrize("slug", ["A", "public", "-bad", "has space", "template"])
def test_bad_slugs_are_refused(db, slug):
    with pytest.raises(ValidationError) as exc:
        services.clinic_provision(
            slug=slug, name="X", admin_email="x@x.test", admin_password=PASSWORD
        )
    assert "slug" in exc.value.message_dict


def test_a_weak_admin_password_is_refused_before_anything_is_created(db):
    with pytest.raises(ValidationError) as exc:
        services.clinic_provision(
            slug="delta", name="Delta", admin_email="d@d.test", admin_password="short"
        )
    assert "admin_password" in exc.value.message_dict
    assert not Clinic.objects.filter(slug="delta").exists()


def test_a_failure_after_the_schema_exists_leaves_nothing_behind(db, monkeypatch):
    def explode() -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("clinic.services.workflow_create_default", explode)
    with pytest.raises(RuntimeError):
        services.clinic_provision(
            slug="epsilon",
            name="Epsilon",
            admin_email="e@e.test",
            admin_password=PASSWORD,
        )
    connection.set_schema_to_public()
    assert not Clinic.objects.filter(slug="epsilon").exists()
    assert not Domain.objects.filter(domain__startswith="epsilon.").exists()
    assert not User.objects.filter(email="e@e.test").exists()
    assert not schema_exists("c_epsilon")


def test_an_unknown_host_gets_a_plain_404(client, db):
    response = client.get("/", HTTP_HOST="nowhere.localhost")
    assert response.status_code == 404
    assert b"Traceback" not in response.content


def test_the_template_clinic_is_not_routable(client, db):
    template = Clinic.objects.get(is_template=True)
    Domain.objects.create(domain="template.localhost", tenant=template)
    assert client.get("/", HTTP_HOST="template.localhost").status_code == 404
