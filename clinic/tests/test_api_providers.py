"""Partner API for the schedule: providers and appointment types."""

from __future__ import annotations

from clinic.tests.api_support import (
    PROVIDERS,
    TYPES,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
)


def test_providers_are_listed_in_name_order_with_the_types_they_offer(api, sched):
    response = api.get(PROVIDERS)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    doc, nurse = body["results"]
    assert doc == {
        "id": sched.doc.pk,
        "name": "Dr. Ann Able",
        "credentials": "MD",
        "specialty": "Family medicine",
        "colour": "#4f46e5",
        "is_active": True,
        "appointment_types": [sched.visit.pk],
    }
    assert nurse["id"] == sched.nurse.pk and nurse["credentials"] == "NP"
    assert api.get(f"{PROVIDERS}{sched.nurse.pk}/").json() == nurse
    assert api.get(f"{PROVIDERS}999999/").status_code == 404


def test_appointment_types_are_listed_with_their_grid_and_providers(api, sched):
    response = api.get(TYPES)

    assert response.status_code == 200
    (visit,) = response.json()["results"]
    assert visit == {
        "id": sched.visit.pk,
        "name": "Follow-up",
        "duration_minutes": 30,
        "slot_interval_minutes": 15,
        "buffer_after_minutes": 0,
        "colour": "#0ea5e9",
        "requires_confirmation": False,
        "is_active": True,
        "providers": sorted([sched.doc.pk, sched.nurse.pk]),
    }
    assert api.get(f"{TYPES}{sched.visit.pk}/").json() == visit


def test_providers_and_types_are_read_only_for_partners(api, sched):
    assert api.post(PROVIDERS, {"name": "Dr. New"}, format="json").status_code == 405
    assert api.delete(f"{TYPES}{sched.visit.pk}/").status_code == 405
