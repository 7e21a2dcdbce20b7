"""Partner API for the schedule: free slots of a provider or of a visit type."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from clinic.models import AuditEntry
from clinic.tests.api_support import (
    PROVIDERS,
    SLOTS,
    at,
    book,
    day,
    sched_fixture,  # noqa: F401  (the `sched` fixture)
)
from clinic.tests.factories import (
    AppointmentTypeFactory,
    ProviderFactory,
    weekday_hours,
)


def test_a_providers_slots_carry_the_clinic_offset_and_skip_booked_time(api, sched):
    book(sched, at(10))

    response = api.get(
        f"{PROVIDERS}{sched.doc.pk}/slots/",
        {"start": day(1), "end": day(1), "appointment_type": sched.visit.pk},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["timezone"] == "America/New_York"
    first = body["slots"][0]
    assert first == {
        "start": at(9).isoformat(),
        "end": at(9, 30).isoformat(),
        "provider": sched.doc.pk,
        "location": sched.location.pk,
    }
    assert first["start"][-6:] in ("-05:00", "-04:00")
    starts = [slot["start"] for slot in body["slots"]]
    # 9:00 to 16:30 every 15 minutes, minus what overlaps the 10:00-10:30 visit.
    assert at(10).isoformat() not in starts and at(9, 45).isoformat() not in starts
    assert at(10, 30).isoformat() in starts and starts[-1] == at(16, 30).isoformat()
    assert len(starts) == 31 - 3


def test_slots_of_a_type_cover_every_active_provider_offering_it(api, sched):
    with tenant_context(sched.clinic):
        outsider = ProviderFactory()
        weekday_hours(outsider, sched.location)
        retired = ProviderFactory(is_active=False)
        weekday_hours(retired, sched.location)
        sched.visit.providers.add(retired)

    response = api.get(
        SLOTS, {"start": day(1), "end": day(2), "appointment_type": sched.visit.pk}
    )

    assert response.status_code == 200
    slots = response.json()["slots"]
    assert {slot["provider"] for slot in slots} == {sched.doc.pk, sched.nurse.pk}
    assert len(slots) == 2 * 2 * 31
    assert slots[0]["start"] == slots[1]["start"] == at(9).isoformat()
    assert slots[-1]["start"] == at(16, 30, offset=2).isoformat()


def test_a_provider_who_does_not_offer_the_type_has_no_slots(api, sched):
    with tenant_context(sched.clinic):
        other = AppointmentTypeFactory(offered_by=[sched.nurse])

    response = api.get(
        f"{PROVIDERS}{sched.doc.pk}/slots/",
        {"start": day(1), "end": day(1), "appointment_type": other.pk},
    )

    assert response.status_code == 200
    assert response.json()["slots"] == []


@pytest.mark.parametrize(
    "query, field",
    [
        ({"end": 1}, "start"),
        ({"start": 1}, "end"),
        ({"start": 3, "end": 1}, "end"),
        ({"start": 1, "end": 32}, "end"),
        ({"start": "tomorrow", "end": 1}, "start"),
    ],
)
def test_a_bad_slot_range_is_a_400_naming_the_field(api, sched, query, field):
    params = {k: day(v) if isinstance(v, int) else v for k, v in query.items()}
    params["appointment_type"] = sched.visit.pk

    for url in (SLOTS, f"{PROVIDERS}{sched.doc.pk}/slots/"):
        response = api.get(url, params)
        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        assert field in response.json()


def test_thirty_one_days_of_slots_may_be_asked_for_at_once(api, sched):
    response = api.get(
        SLOTS, {"start": day(1), "end": day(31), "appointment_type": sched.visit.pk}
    )
    assert response.status_code == 200
    assert response.json()["slots"][-1]["start"] == at(16, 30, offset=31).isoformat()


def test_an_unknown_appointment_type_is_a_field_error(api, sched):
    for url in (SLOTS, f"{PROVIDERS}{sched.doc.pk}/slots/"):
        response = api.get(
            url, {"start": day(1), "end": day(1), "appointment_type": 999999}
        )
        assert response.status_code == 400
        assert "appointment_type" in response.json()
        assert (
            "appointment_type" in api.get(url, {"start": day(1), "end": day(1)}).json()
        )


def test_slots_of_an_unknown_provider_are_a_404(api, sched):
    response = api.get(
        f"{PROVIDERS}999999/slots/",
        {"start": day(1), "end": day(1), "appointment_type": sched.visit.pk},
    )
    assert response.status_code == 404


def test_provider_and_slot_reads_are_not_patient_reads(api, sched):
    api.get(PROVIDERS)
    api.get(SLOTS, {"start": day(1), "end": day(1), "appointment_type": sched.visit.pk})
    with tenant_context(sched.clinic):
        assert not AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).exists()
