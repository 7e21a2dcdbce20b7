from django.db import connection


def test_clinics_are_provisioned_with_their_own_schema(clinic, other_clinic):
    assert clinic.schema_name != other_clinic.schema_name
    with connection.cursor() as cur:
        cur.execute(
            "select count(*) from information_schema.tables where table_schema = %s and table_name = 'clinic_patient'",
            [clinic.schema_name],
        )
        assert cur.fetchone()[0] == 1


def test_staff_home_needs_sign_in(anon_client):
    response = anon_client.get("/")
    assert response.status_code == 302
    assert "/account/sign-in/" in response["Location"]


def test_staff_home_opens_for_a_member(staff_client):
    assert staff_client.get("/").status_code == 200


def test_member_of_alpha_is_refused_on_beta(other_clinic, staff_user):
    from django.test import Client

    client = Client(HTTP_HOST="beta.localhost")
    client.force_login(staff_user)
    assert client.get("/").status_code == 403
