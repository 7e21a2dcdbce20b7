"""The audit page of clinic admins: filters, CSV export, and who may see it."""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client

from clinic.actors import SYSTEM
from clinic.models import AuditEntry
from clinic.services import patient_create, patient_update
from conftest import host_of


@contextmanager
def within(clinic):
    connection.set_tenant(clinic)
    try:
        yield
    finally:
        connection.set_schema_to_public()


@pytest.fixture
def trail(clinic, staff_user, admin_user):
    """A few entries: the desk created and read Ada, the admin changed Bob last week."""
    with within(clinic):
        # Only this test's entries (the deletion is rolled back with the test).
        AuditEntry.objects.all().delete()
        ada = patient_create(
            first_name="Ada",
            last_name="Lovelace",
            date_of_birth=date(1990, 12, 10),
            actor=SYSTEM,
        )
        bob = patient_create(
            first_name="Bob",
            last_name="Archer",
            date_of_birth=date(1970, 1, 1),
            actor=SYSTEM,
        )
        AuditEntry.objects.filter(object_id=ada.pk).update(
            actor=staff_user, actor_email=staff_user.email
        )
        AuditEntry.objects.filter(object_id=bob.pk).update(
            actor=admin_user, actor_email=admin_user.email
        )
        patient_update(patient=bob, last_name="Archer-Smith", actor=SYSTEM)
        last_week = datetime.now(ZoneInfo(clinic.timezone)) - timedelta(days=7)
        AuditEntry.objects.filter(object_id=bob.pk).update(
            actor=admin_user, actor_email=admin_user.email, timestamp=last_week
        )
        AuditEntry.objects.create(
            content_type_id=AuditEntry.objects.filter(object_id=ada.pk)
            .first()
            .content_type_id,
            object_pk=str(ada.pk),
            object_id=ada.pk,
            object_repr=str(ada),
            action=AuditEntry.Action.ACCESS,
            patient_ids=[ada.pk],
            actor=staff_user,
            actor_email=staff_user.email,
            remote_addr="10.0.0.7",
            user_agent="Mozilla/5.0 (Test) Firefox/140.0",
            additional_data={"via": "page"},
        )
        AuditEntry.objects.create(
            content_type_id=AuditEntry.objects.filter(object_id=ada.pk)
            .first()
            .content_type_id,
            object_pk="",
            object_repr="Patient list (2 shown)",
            action=AuditEntry.Action.ACCESS,
            query="lovlace",
            patient_ids=[ada.pk, bob.pk],
            actor=staff_user,
            actor_email=staff_user.email,
            additional_data={"via": "page"},
        )
    return {"ada": ada, "bob": bob}


def rows_of(html: str) -> int:
    return html.count("<tr>") - 1


def test_front_desk_gets_403_on_the_audit_page_and_export(staff_client):
    assert staff_client.get("/audit/").status_code == 403
    assert staff_client.get("/audit/export.csv").status_code == 403


def test_an_admin_of_beta_is_refused(clinic, other_clinic):
    from portal.models import User

    beta_admin = User.objects.get(email=f"admin@{other_clinic.slug}.test")
    for path in ("/audit/", "/audit/export.csv"):
        client = Client(HTTP_HOST=host_of(clinic))
        client.force_login(beta_admin)
        response = client.get(path)
        assert response.status_code == 403
        assert "not a member" in response.content.decode()


def test_audit_page_lists_entries_with_time_actor_action_what_ip_and_browser(
    admin_client_alpha, trail, staff_user
):
    response = admin_client_alpha.get("/audit/")
    assert response.status_code == 200
    html = response.content.decode()
    assert rows_of(html) == 5
    assert "Ada Lovelace" in html and staff_user.email in html
    assert "10.0.0.7" in html and "Firefox/140.0" in html
    assert 'Patient list: 2 patients shown, search "lovlace"' in html.replace(
        "&quot;", '"'
    )
    assert "(changed last_name)" in html
    assert "America/New_York" in html
    # The user filter offers the clinic's members.
    assert f">{staff_user.full_name} ({staff_user.email})</option>" in html


def test_audit_times_are_in_the_clinics_timezone(admin_client_alpha, clinic, trail):
    with within(clinic):
        entry = AuditEntry.objects.filter(remote_addr="10.0.0.7").get()
    local = entry.timestamp.astimezone(ZoneInfo(clinic.timezone)).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    assert local in admin_client_alpha.get("/audit/").content.decode()


def test_audit_filters_by_user_patient_action_and_dates(
    admin_client_alpha, clinic, trail, staff_user, admin_user
):
    ada, bob = trail["ada"], trail["bob"]
    get = lambda **params: admin_client_alpha.get("/audit/", params).content.decode()  # noqa: E731

    html = get(user=staff_user.pk)
    assert rows_of(html) == 3 and "Archer" not in html.split("<tbody>")[1]
    html = get(user=admin_user.pk)
    assert rows_of(html) == 2
    assert (
        rows_of(get(patient=bob.pk)) == 3
    )  # create, update, and the list that showed him
    assert rows_of(get(patient=ada.pk)) == 3
    assert rows_of(get(action="update")) == 1
    assert rows_of(get(action="access")) == 2
    assert rows_of(get(action="access", patient=bob.pk)) == 1
    today = datetime.now(ZoneInfo(clinic.timezone)).date()
    assert rows_of(get(start=today.isoformat())) == 3
    assert rows_of(get(end=(today - timedelta(days=1)).isoformat())) == 2
    week_ago = (today - timedelta(days=7)).isoformat()
    assert rows_of(get(start=week_ago, end=week_ago)) == 2
    html = get(start=today.isoformat(), end=week_ago)
    assert "The end date is before the start date." in html


def test_audit_page_paginates(admin_client_alpha, clinic, trail):
    with within(clinic):
        template = AuditEntry.objects.filter(remote_addr="10.0.0.7").get()
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    content_type_id=template.content_type_id,
                    object_pk=template.object_pk,
                    object_id=template.object_id,
                    object_repr=template.object_repr,
                    action=AuditEntry.Action.ACCESS,
                    patient_ids=template.patient_ids,
                )
                for _ in range(55)
            ]
        )
    first = admin_client_alpha.get("/audit/").content.decode()
    assert rows_of(first) == 50 and 'rel="next"' in first
    second = admin_client_alpha.get("/audit/", {"page": 2}).content.decode()
    assert rows_of(second) == 10 and 'rel="prev"' in second


def read_csv(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_csv_export_streams_the_filtered_entries(admin_client_alpha, trail, staff_user):
    response = admin_client_alpha.get(
        "/audit/export.csv", {"user": staff_user.pk, "action": "access"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith(
        'attachment; filename="audit-alpha-'
    )
    rows = read_csv(response)
    assert len(rows) == 2
    assert {row["actor"] for row in rows} == {staff_user.email}
    assert {row["action"] for row in rows} == {"access"}
    listing = next(row for row in rows if row["query"])
    assert listing["query"] == "lovlace"
    assert listing["patient_ids"] == f"{trail['ada'].pk} {trail['bob'].pk}"
    single = next(row for row in rows if not row["query"])
    assert single["ip"] == "10.0.0.7" and single["via"] == "page"
    assert single["time"].endswith(("-05:00", "-04:00"))  # New York time


def test_csv_export_of_everything_has_a_header_and_every_entry(
    admin_client_alpha, clinic, trail
):
    rows = read_csv(admin_client_alpha.get("/audit/export.csv"))
    with within(clinic):
        assert len(rows) == AuditEntry.objects.count() == 5
    assert list(rows[0]) == [
        "time",
        "actor",
        "action",
        "object_type",
        "object_id",
        "what",
        "query",
        "patient_ids",
        "via",
        "ip",
        "user_agent",
        "changes",
    ]
    update = next(row for row in rows if row["action"] == "update")
    assert "Archer-Smith" in update["changes"]


def test_audit_page_links_the_export_with_the_same_filters(
    admin_client_alpha, trail, staff_user
):
    html = admin_client_alpha.get(
        "/audit/", {"user": staff_user.pk, "action": "access", "page": 1}
    ).content.decode()
    assert f'href="/audit/export.csv?user={staff_user.pk}&amp;action=access"' in html


def test_patient_ids_in_the_trail_are_this_clinics_only(
    admin_client_alpha, other_clinic, trail
):
    with within(other_clinic):
        patient_create(
            first_name="Zed",
            last_name="Betaperson",
            date_of_birth=date(1980, 1, 1),
            actor=SYSTEM,
        )
    html = admin_client_alpha.get("/audit/").content.decode()
    assert "Betaperson" not in html
