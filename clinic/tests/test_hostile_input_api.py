"""Hostile input to the partner API: a clear 4xx every time, and nothing written.

Each case here answered 500 before: RecursionError in the JSON parser,
OverflowError at the ends of the calendar or on `1e400`, and PostgreSQL
refusing offsets beyond 15:59, ids beyond bigint and NUL in jsonb.
"""

from __future__ import annotations

import base64
import json

import pytest
from rest_framework.test import APIClient

from clinic.tests.api_support import (
    APPOINTMENTS,
    PATIENTS,
    SLOTS,
    at,
    book,
    count_patients,
    counts,
    intake_fixture,  # noqa: F401  (the `intake` fixture)
    make_patient,
    payload,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
)
from portal.limits import DATE_RANGE_MESSAGE, NUL_MESSAGE, UTC_OFFSET_MESSAGE

DEEP_ARRAY = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
FAR_DATES = ["9999-12-31", "0001-01-01"]
FAR_INSTANTS = [
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T10:00:00-05:00",
    "9999-12-31T23:59:59",
]
BAD_OFFSETS = ["2030-01-07T10:00:00+16:00", "2030-01-07T10:00:00-16:00"]
BAD_IDS = ["1e400", "-1", "99999999999999999999", "NaN", "abc", "1.5", "²"]


def _json_endpoints(sched) -> list[tuple[str, str]]:
    appointment = book(sched, at(10))
    patient = sched.patient.pk
    return [
        ("post", "/api/v1/auth/token/"),
        ("post", "/api/v1/auth/token/refresh/"),
        ("post", "/api/v1/auth/logout/"),
        ("post", PATIENTS),
        ("post", f"{PATIENTS}bulk/"),
        ("put", f"{PATIENTS}{patient}/"),
        ("patch", f"{PATIENTS}{patient}/"),
        ("post", APPOINTMENTS),
        ("post", f"{APPOINTMENTS}{appointment.pk}/cancel/"),
        ("post", f"{APPOINTMENTS}{appointment.pk}/reschedule/"),
    ]


def _send(client: APIClient, method: str, path: str, body: str | bytes):
    return getattr(client, method)(path, data=body, content_type="application/json")


# --- JSON bodies ----------------------------------------------------------------------


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
def test_deeply_nested_json_is_refused_on_every_json_endpoint(api, sched, body):
    endpoints = _json_endpoints(sched)
    before = counts(sched.clinic), count_patients(sched.clinic)

    for method, path in endpoints:
        response = _send(api, method, path, body)
        assert response.status_code == 400, path
        assert "deeper than 32 levels" in response.json()["detail"], path

    assert (counts(sched.clinic), count_patients(sched.clinic)) == before


def test_the_token_endpoint_refuses_deep_json_without_a_token(clinic):
    anonymous = APIClient(HTTP_HOST="alpha.localhost")

    response = _send(anonymous, "post", "/api/v1/auth/token/", DEEP_ARRAY)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity"])
def test_numbers_json_cannot_hold_are_refused_before_any_query(api, sched, number):
    body = json.dumps(payload(sched, at(10))).replace(
        f'"patient": {sched.patient.pk}', f'"patient": {number}'
    )

    response = _send(api, "post", APPOINTMENTS, body)

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert counts(sched.clinic) == (0, 0)


# --- Dates and offsets ----------------------------------------------------------------


@pytest.mark.parametrize("value", FAR_DATES)
@pytest.mark.parametrize(
    "path, name",
    [
        (APPOINTMENTS, "start"),
        (APPOINTMENTS, "end"),
    ],
)
def test_calendar_end_dates_in_appointment_filters_are_field_errors(
    api, sched, path, name, value
):
    response = api.get(path, {name: value})

    assert response.status_code == 400
    assert response.json() == {name: [DATE_RANGE_MESSAGE]}


@pytest.mark.parametrize("value", FAR_INSTANTS + BAD_OFFSETS)
@pytest.mark.parametrize(
    "path, name",
    [
        (PATIENTS, "updated_since"),
        (APPOINTMENTS, "start_after"),
        (APPOINTMENTS, "start_before"),
    ],
)
def test_far_instants_and_offsets_in_filters_are_field_errors(
    api, sched, path, name, value
):
    response = api.get(path, {name: value})

    assert response.status_code == 400
    assert response.json()[name][0] in (DATE_RANGE_MESSAGE, UTC_OFFSET_MESSAGE)


@pytest.mark.parametrize("value", FAR_DATES)
def test_slot_searches_refuse_dates_at_the_ends_of_the_calendar(api, sched, value):
    query = {"start": value, "end": value, "appointment_type": sched.visit.pk}

    for path in (SLOTS, f"/api/v1/providers/{sched.doc.pk}/slots/"):
        response = api.get(path, query)
        assert response.status_code == 400, path
        assert response.json() == {
            "start": [DATE_RANGE_MESSAGE],
            "end": [DATE_RANGE_MESSAGE],
        }


@pytest.mark.parametrize("start", FAR_INSTANTS[:3] + BAD_OFFSETS)
def test_booking_and_rescheduling_refuse_far_times_and_offsets(api, sched, start):
    appointment = book(sched, at(10))
    before = counts(sched.clinic)

    booked = api.post(
        APPOINTMENTS, {**payload(sched, at(11)), "start": start}, format="json"
    )
    moved = api.post(
        f"{APPOINTMENTS}{appointment.pk}/reschedule/", {"start": start}, format="json"
    )

    for response in (booked, moved):
        assert response.status_code == 400
        assert response.json()["start"][0] in (DATE_RANGE_MESSAGE, UTC_OFFSET_MESSAGE)
    assert counts(sched.clinic) == before


def test_offsets_no_clock_has_are_field_errors_too(api, sched):
    value = "2030-01-07T10:00:00+99:99"

    listed = api.get(APPOINTMENTS, {"start_after": value})
    booked = api.post(
        APPOINTMENTS, {**payload(sched, at(11)), "start": value}, format="json"
    )

    assert listed.status_code == 400 and list(listed.json()) == ["start_after"]
    assert booked.status_code == 400 and list(booked.json()) == ["start"]
    assert counts(sched.clinic) == (0, 0)


def test_a_date_of_birth_in_year_one_is_a_field_error(api, clinic):
    response = api.post(
        PATIENTS,
        {"first_name": "Ada", "last_name": "Old", "date_of_birth": "0001-01-01"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"date_of_birth": [DATE_RANGE_MESSAGE]}
    assert count_patients(clinic) == 0


# --- Ids ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", BAD_IDS)
def test_bad_ids_in_filters_are_field_errors(api, sched, value):
    for name in ("provider", "patient"):
        response = api.get(APPOINTMENTS, {name: value})
        assert response.status_code == 400, name
        assert name in response.json()

    slots = api.get(
        SLOTS, {"start": "2030-01-07", "end": "2030-01-08", "appointment_type": value}
    )
    assert slots.status_code == 400
    assert "appointment_type" in slots.json()


@pytest.mark.parametrize(
    "value", [-1, 0, 99999999999999999999, 1.5, True, "abc", "1e400", [1], {"id": 1}]
)
def test_bad_ids_in_bodies_are_field_errors(api, sched, value):
    appointment = book(sched, at(10))
    before = counts(sched.clinic)

    booked = api.post(
        APPOINTMENTS, {**payload(sched, at(11)), "patient": value}, format="json"
    )
    moved = api.post(
        f"{APPOINTMENTS}{appointment.pk}/reschedule/",
        {"start": at(12).isoformat(), "provider": value},
        format="json",
    )

    assert booked.status_code == 400 and "patient" in booked.json()
    assert moved.status_code == 400 and "provider" in moved.json()
    assert counts(sched.clinic) == before


@pytest.mark.parametrize("value", ["99999999999999999999", "9223372036854775808"])
def test_ids_beyond_bigint_in_paths_are_not_found(api, sched, value):
    for path in (
        f"{PATIENTS}{value}/",
        f"{APPOINTMENTS}{value}/",
        f"/api/v1/providers/{value}/",
        f"/api/v1/appointment-types/{value}/",
    ):
        assert api.get(path).status_code == 404, path
    assert api.post(f"{APPOINTMENTS}{value}/confirm/").status_code == 404


# --- Cursors --------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


TAMPERED_PATIENT_CURSORS = [
    "!!!!",
    _b64(b"not json"),
    _b64(b"[" * 2000),
    _b64(json.dumps({"o": 10**30}).encode()),
    _b64(json.dumps({"o": 10**18}).encode()),
    _b64(b'{"k": ["a", "b", 1e400], "d": "n"}'),
    _b64(json.dumps({"k": ["a", "b", 10**30], "d": "n"}).encode()),
    _b64(json.dumps({"k": ["a\x00", "b", 1], "d": "n"}).encode()),
]


@pytest.mark.parametrize("cursor", TAMPERED_PATIENT_CURSORS)
@pytest.mark.parametrize("q", ["", "smith"], ids=["list", "search"])
def test_tampered_patient_cursors_are_invalid_cursors(api, clinic, cursor, q):
    response = api.get(PATIENTS, {"cursor": cursor, "q": q})

    assert response.status_code == 400
    assert response.json() == {"cursor": ["Invalid cursor."]}


@pytest.mark.parametrize(
    "position",
    [
        "2030-01-07 10:00:00+16:00",
        "9999-12-31 23:59:59-12:00",
        "0001-01-01 00:00:00+00:00",
        "x\x00",
    ],
)
def test_tampered_appointment_cursors_are_invalid_cursors(api, sched, position):
    from urllib.parse import quote

    cursor = _b64(f"o=0&r=0&p={quote(position, safe='')}".encode())

    response = api.get(APPOINTMENTS, {"cursor": cursor})

    assert response.status_code == 400
    assert response.json() == {"cursor": ["Invalid cursor."]}


@pytest.mark.parametrize("size", ["1e400", "99999999999999999999", "-1", "NaN"])
def test_odd_page_sizes_fall_back_to_the_default(api, sched, size):
    assert api.get(PATIENTS, {"page_size": size}).status_code == 200
    assert api.get(APPOINTMENTS, {"page_size": size}).status_code == 200


# --- NUL characters -------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"referral": "Dr. X\x00"},
        {"referral": "Dr. X", "visits\x00": 1},
        {"referral": ["nested", {"deeper": "\x00"}]},
    ],
    ids=["value", "key", "nested"],
)
def test_nul_in_workflow_fields_is_a_field_error_and_nothing_is_written(
    api, clinic, intake, fields
):
    row = {
        "first_name": "Ada",
        "last_name": "Nul",
        "date_of_birth": "1990-01-01",
        "workflow": intake.slug,
        "fields": fields,
    }
    patient = make_patient(clinic, workflow=intake, fields={"referral": "Dr. Y"})

    created = api.post(PATIENTS, row, format="json")
    bulk = api.post(f"{PATIENTS}bulk/", [row], format="json")
    changed = api.patch(f"{PATIENTS}{patient.pk}/", {"fields": fields}, format="json")

    assert created.status_code == 400
    assert NUL_MESSAGE in json.dumps(created.json()["fields"])
    assert bulk.status_code == 400 and NUL_MESSAGE in json.dumps(bulk.json()["rows"])
    assert changed.status_code == 400
    assert count_patients(clinic) == 1


def test_nul_in_text_fields_and_slugs_is_a_field_error(api, sched):
    row = {"first_name": "Ada", "last_name": "Nul", "date_of_birth": "1990-01-01"}
    for name, value in [
        ("first_name", "A\x00"),
        ("address", "x\x00"),
        ("workflow", "general\x00"),
        ("email", "a\x00@b.example"),
    ]:
        response = api.post(PATIENTS, {**row, name: value}, format="json")
        assert response.status_code == 400, name
        assert name in response.json()

    nul_text = payload(sched, at(10), reason="x\x00", notes="y\x00")
    booked = api.post(APPOINTMENTS, nul_text, format="json")
    assert booked.status_code == 400
    assert set(booked.json()) == {"reason", "notes"}
    assert count_patients(sched.clinic) == 1  # the schedule's own patient
