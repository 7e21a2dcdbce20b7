"""Partner API for the schedule: the appointment list, its filters, pages and audit."""

from __future__ import annotations

import base64
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django_tenants.utils import tenant_context

from clinic.models import AuditEntry
from clinic.services import appointment_cancel
from clinic.tests.api_support import (
    APPOINTMENT_SHAPE,
    APPOINTMENTS,
    PROVIDERS,
    at,
    book,
    day,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
)
from clinic.tests.factories import PatientFactory, member

# --- The list: filters and pages ------------------------------------------------------


@pytest.fixture
def week(sched):
    """Six visits over three days; two at the same time with different providers."""
    with tenant_context(sched.clinic):
        other = PatientFactory()
    visits = {
        "d1_doc_9": book(sched, at(9)),
        "d1_nurse_9": book(sched, at(9), provider=sched.nurse, patient=other),
        "d1_doc_11": book(sched, at(11), patient=other),
        "d2_doc_10": book(sched, at(10, offset=2)),
        "d3_nurse_16": book(sched, at(16, offset=3), provider=sched.nurse),
        "d3_doc_16": book(sched, at(16, offset=3), patient=other),
    }
    with tenant_context(sched.clinic):
        appointment_cancel(
            appointment=visits["d1_doc_11"], actor=member(sched.user), reason="Flu"
        )
    return SimpleNamespace(other=other, **visits)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_the_list_is_in_start_order_with_ties_broken_by_id(api, sched, week):
    tie = sorted([week.d1_doc_9.pk, week.d1_nurse_9.pk])
    last = sorted([week.d3_nurse_16.pk, week.d3_doc_16.pk])
    assert ids(api.get(APPOINTMENTS)) == [
        *tie,
        week.d1_doc_11.pk,
        week.d2_doc_10.pk,
        *last,
    ]
    row = api.get(APPOINTMENTS).json()["results"][0]
    assert set(row) == APPOINTMENT_SHAPE  # no history on the list


def test_the_list_filters_by_provider_patient_and_status(api, sched, week):
    assert ids(api.get(APPOINTMENTS, {"provider": sched.nurse.pk})) == [
        week.d1_nurse_9.pk,
        week.d3_nurse_16.pk,
    ]
    assert set(ids(api.get(APPOINTMENTS, {"patient": week.other.pk}))) == {
        week.d1_nurse_9.pk,
        week.d1_doc_11.pk,
        week.d3_doc_16.pk,
    }
    assert ids(api.get(APPOINTMENTS, {"status": "cancelled"})) == [week.d1_doc_11.pk]
    both = api.get(
        f"{APPOINTMENTS}?status=cancelled&status=scheduled&provider={sched.doc.pk}"
    )
    assert len(ids(both)) == 4
    assert ids(api.get(APPOINTMENTS, {"provider": 999999})) == []


def test_the_list_filters_by_clinic_dates_and_instants(api, sched, week):
    second_day = ids(api.get(APPOINTMENTS, {"start": day(2), "end": day(2)}))
    assert second_day == [week.d2_doc_10.pk]
    assert len(ids(api.get(APPOINTMENTS, {"start": day(2)}))) == 3
    assert len(ids(api.get(APPOINTMENTS, {"end": day(1)}))) == 3

    after = api.get(APPOINTMENTS, {"start_after": at(11).isoformat()})
    assert ids(after)[0] == week.d1_doc_11.pk and len(ids(after)) == 4
    before = api.get(APPOINTMENTS, {"start_before": at(11).isoformat()})
    assert len(ids(before)) == 2
    # Without an offset, an instant is read on the clinic's clock.
    naive = api.get(
        APPOINTMENTS, {"start_after": at(11).replace(tzinfo=None).isoformat()}
    )
    assert ids(naive) == ids(after)


@pytest.mark.parametrize(
    "query, field",
    [
        ({"status": "lost"}, "status"),
        ({"start": "tomorrow"}, "start"),
        ({"start_after": "soon"}, "start_after"),
        ({"provider": "doc"}, "provider"),
    ],
)
def test_a_bad_list_filter_is_a_400_naming_it(api, sched, query, field):
    response = api.get(APPOINTMENTS, query)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("size, pages", [(1, 6), (2, 3), (3, 2), (4, 2)])
def test_cursor_pages_walk_every_appointment_once_in_order(
    api, sched, week, size, pages
):
    everything = ids(api.get(APPOINTMENTS))
    seen, url, walked = [], f"{APPOINTMENTS}?page_size={size}", 0
    while url:
        response = api.get(url)
        seen += ids(response)
        url = response.json()["next"]
        walked += 1
    # Same-time visits straddle page ends at some sizes: none repeats or drops.
    assert seen == everything and walked == pages


def test_a_previous_link_leads_back(api, sched, week):
    everything = ids(api.get(APPOINTMENTS))

    second = api.get(api.get(APPOINTMENTS + "?page_size=2").json()["next"])
    back = api.get(second.json()["previous"])
    assert ids(back) == everything[:2]


def test_page_size_defaults_to_fifty_and_stops_at_two_hundred(api, sched):
    with tenant_context(sched.clinic):
        for n in range(210):
            start = at(9, offset=1 + n // 16) + timedelta(minutes=30 * (n % 16))
            book(sched, start)
    assert len(ids(api.get(APPOINTMENTS))) == 50
    assert len(ids(api.get(APPOINTMENTS, {"page_size": 500}))) == 200


def forged_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(f"p={position}".encode()).decode()


def test_an_invalid_cursor_is_a_400(api, sched):
    cases = [
        (url, cursor)
        for url in (APPOINTMENTS, PROVIDERS)
        for cursor in ("not-a-cursor", "é", forged_cursor("Ann\x00"))
    ]
    cases.append((APPOINTMENTS, forged_cursor("not-a-time")))
    for url, cursor in cases:
        response = api.get(url, {"cursor": cursor})
        assert response.status_code == 400, (url, cursor)
        assert response.json() == {"cursor": ["Invalid cursor."]}


# --- Audit ----------------------------------------------------------------------------


def test_reading_an_appointment_writes_an_access_entry_for_its_patient(
    api, sched, staff_user
):
    appointment = book(sched, at(10))

    assert api.get(f"{APPOINTMENTS}{appointment.pk}/").status_code == 200

    with tenant_context(sched.clinic):
        entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).get()
    assert (
        entry.patient_ids == [sched.patient.pk] and entry.object_id == sched.patient.pk
    )
    assert entry.additional_data == {"via": "api"}
    assert entry.actor == staff_user


def test_one_list_request_writes_one_compact_access_entry(api, sched, week, staff_user):
    assert api.get(APPOINTMENTS, {"provider": sched.doc.pk}).status_code == 200

    with tenant_context(sched.clinic):
        entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).get()
    assert sorted(entry.patient_ids) == sorted([sched.patient.pk, week.other.pk])
    assert entry.additional_data == {
        "via": "api",
        "filters": {"provider": str(sched.doc.pk)},
    }
    assert entry.actor == staff_user
