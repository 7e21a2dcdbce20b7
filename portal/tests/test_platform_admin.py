from django.test import Client

from portal.models import Clinic, User


def _public(user=None) -> Client:
    client = Client(HTTP_HOST="localhost")
    if user:
        client.force_login(user)
    return client


def test_platform_operator_manages_clinics_users_and_memberships(db, clinic):
    operator = User.objects.create_superuser(
        email="ops@platform.test", password="x" * 12
    )
    client = _public(operator)
    for url in (
        "/admin/portal/clinic/",
        "/admin/portal/domain/",
        "/admin/portal/user/",
        "/admin/portal/membership/",
    ):
        assert client.get(url).status_code == 200, url
    assert clinic.name.encode() in client.get("/admin/portal/clinic/").content


def test_platform_admin_provisions_a_clinic_through_the_service(db):
    operator = User.objects.create_superuser(
        email="ops@platform.test", password="x" * 12
    )
    response = _public(operator).post(
        "/admin/portal/clinic/add/",
        {
            "name": "Zeta Health",
            "slug": "zeta",
            "timezone": "Europe/London",
            "main_phone": "",
            "staff_phone": "",
            "primary_color": "#123456",
            "admin_email": "zeta@zeta.test",
            "admin_password": "zeta-admin-password-1",
        },
    )
    assert response.status_code == 302
    zeta = Clinic.objects.get(slug="zeta")
    assert zeta.schema_name == "c_zeta"
    assert zeta.memberships.get().user.email == "zeta@zeta.test"


def test_clinic_admins_are_not_platform_operators(admin_user):
    assert _public(admin_user).get("/admin/portal/clinic/").status_code == 302


def test_users_are_deactivated_not_deleted(db):
    operator = User.objects.create_superuser(
        email="ops@platform.test", password="x" * 12
    )
    target = User.objects.get(email="desk@alpha.test")
    assert (
        _public(operator).get(f"/admin/portal/user/{target.pk}/delete/").status_code
        == 403
    )
