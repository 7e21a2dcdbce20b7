"""Helpers of the voice tests: scripted callees, a committed schedule, waiting on sessions."""

from __future__ import annotations

import json
from datetime import time
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from django.db import connection

from calls.tests.live_support import wait_until
from clinic.tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    weekday_hours,
)

STAFF_NUMBER = "+12125550199"


def sim_post(sim, path: str, **form: str) -> dict:
    request = Request(sim.url + path, data=urlencode(form).encode(), method="POST")
    with urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def sim_get(sim, path: str) -> dict:
    with urlopen(sim.url + path, timeout=10) as response:
        return json.loads(response.read())


def callee(sim, number: str, **script) -> None:
    """What the person (or machine) at `number` does when called."""
    sim_post(sim, "/_sim/callee", Number=number, Script=json.dumps(script))


def voice_wiped() -> None:
    """Every voice row of the current clinic (before the texting wipe removes patients)."""
    from calls.models import (
        CallCampaign,
        CallEvent,
        CallSession,
        PatientCallState,
        TranscriptTurn,
        VoicePolicy,
    )

    PatientCallState.objects.all().delete()
    TranscriptTurn.objects.all().delete()
    CallEvent.objects.all().delete()
    CallSession.objects.update(retry_of=None)
    CallSession.objects.all().delete()
    CallCampaign.objects.all().delete()
    VoicePolicy.objects.all().delete()


@pytest.fixture
def voice_committed(committed):
    """`committed`, with the voice rows removed first and alpha's staff phone set."""
    from portal.models import Clinic

    alpha = connection.tenant
    connection.set_schema_to_public()
    before = Clinic.objects.get(slug="alpha").staff_phone
    Clinic.objects.filter(slug="alpha").update(staff_phone=STAFF_NUMBER)
    connection.set_tenant(Clinic.objects.get(slug="alpha"))
    try:
        yield committed
    finally:
        connection.set_tenant(alpha)
        voice_wiped()
        connection.set_schema_to_public()
        Clinic.objects.filter(slug="alpha").update(staff_phone=before)
        connection.set_tenant(alpha)


def voice_schedule(made: dict, *, patients: int = 1, **patient_fields):
    """A provider on call around the clock, a visit type, patients who take calls."""
    location = LocationFactory(name="Voice office")
    doc = ProviderFactory(name="Dr. Vera Voice")
    weekday_hours(doc, location, start=time(0), end=time(23, 45))
    visit = AppointmentTypeFactory(
        name="Voice check-up", duration_minutes=30, offered_by=[doc]
    )
    made["locations"].append(location)
    made["providers"].append(doc)
    made["types"].append(visit)
    patient_fields.setdefault("voice_consent", True)
    people = [
        PatientFactory(
            first_name=f"Caller{n}",
            last_name="Voice",
            phone=f"+1617555{n + 3000:04d}",
            **patient_fields,
        )
        for n in range(patients)
    ]
    made["patients"].extend(people)
    return doc, visit, people


def session_ended(pk: int, *, timeout: float = 30):
    from calls.models import CallSession

    return wait_until(
        lambda: (
            CallSession.objects.filter(pk=pk, ended_at__isnull=False)
            .exclude(carrier_status="")
            .first()
        ),
        timeout=timeout,
        what=f"call {pk} to end with its final callback",
    )


def session_ended_sid(sid: str, *, timeout: float = 30):
    from calls.models import CallSession

    return wait_until(
        lambda: CallSession.objects.filter(sid=sid, ended_at__isnull=False).first(),
        timeout=timeout,
        what=f"call {sid} to end",
    )
