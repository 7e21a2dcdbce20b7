"""Every scripted outcome end to end: a real Celery worker places the calls through the
simulator, which walks our TwiML and posts signed callbacks to the web server.

Nine patients are called at once under the default limit of five: the rest wait
in the queue. Each call ends in the right status, with the right transcript,
and the visit updated (confirmed, cancelled, or left alone).
"""

from __future__ import annotations

import os

from calls.models import CallSession, PatientCallState
from calls.services.voice_dial import call_request
from calls.tests.conftest import ALPHA_NUMBER
from calls.tests.live_support import wait_until
from calls.tests.support import at, days_ahead, policy
from calls.tests.voice_support import (
    STAFF_NUMBER,
    callee,
    session_ended,
    session_ended_sid,
    sim_get,
    sim_post,
    voice_schedule,
)
from clinic.models import Appointment
from clinic.services import appointment_book
from clinic.tests.factories import member
from portal.models import Membership

SCRIPTS = {
    "confirm": {"inputs": ["1"]},
    "cancel": {"inputs": [{"speech": "no", "confidence": 0.87}]},
    "staff": {"inputs": [{"speech": "I want to talk to staff", "confidence": 0.8}]},
    "machine": {"answer": "machine"},
    "busy": {"answer": "busy"},
    "no-answer": {"answer": "no-answer"},
    "failed": {"answer": "failed"},
    "hangup": {"hangup_after_says": 1},
    "silent": {"inputs": []},
    "spanish": {"inputs": [{"speech": "sí", "confidence": 0.93}]},
}
if os.environ.get("VOICE_ONLY"):
    SCRIPTS = {k: SCRIPTS[k] for k in os.environ["VOICE_ONLY"].split(",")}
EXPECTED = {
    "confirm": ("completed", "confirmed", "confirmed"),
    "cancel": ("completed", "cancelled", "cancelled"),
    "staff": ("supervisor_dialed", "transferred", "scheduled"),
    "machine": ("voicemail", "voicemail", "scheduled"),
    "busy": ("failed", "busy", "scheduled"),
    "no-answer": ("failed", "no_answer", "scheduled"),
    "failed": ("failed", "failed", "scheduled"),
    "hangup": ("completed", "hung_up", "scheduled"),
    "silent": ("completed", "no_response", "scheduled"),
    "spanish": ("completed", "confirmed", "confirmed"),
}


def test_every_scripted_outcome_ends_right_through_the_worker_and_simulator(
    live, voice_committed
):
    policy(quiet_hours=False)
    doc, visit_type, people = voice_schedule(voice_committed, patients=len(SCRIPTS))
    people[-1].preferred_language = "es"
    people[-1].save(update_fields=["preferred_language"])
    live.start_server()
    live.start_worker()
    desk = Membership.objects.select_related("user").get(user__email="desk@alpha.test")

    sessions = {}
    for n, (name, script) in enumerate(SCRIPTS.items()):
        patient = people[n]
        callee(live.sim, patient.phone, **script)
        visit = appointment_book(
            patient=patient,
            provider=doc,
            appointment_type=visit_type,
            start=at(days_ahead(3), 9 + n // 2, 30 * (n % 2)),
            actor=member(None),
        )
        sessions[name] = call_request(
            actor=desk,
            patient=patient,
            appointment=visit,
            purpose=CallSession.Purpose.CONFIRMATION,
        )

    try:
        ended = {name: session_ended(s.pk, timeout=60) for name, s in sessions.items()}
    except AssertionError:
        print(live.log("worker")[-4000:], live.log("web")[-4000:], sep="\n----\n")
        raise
    heard = sim_get(live.sim, "/_sim/voice")["calls"]
    for name, session in ended.items():
        status, outcome, visit_status = EXPECTED[name]
        assert (name, session.status, session.outcome) == (name, status, outcome)
        assert session.appointment.status == visit_status, name
        assert session.from_number == ALPHA_NUMBER
        state = PatientCallState.objects.get(patient=session.patient)
        assert (state.last_session_id, state.last_status) == (session.pk, status)
        turns = [
            (t.speaker, t.kind, t.text) for t in session.turns.order_by("at", "id")
        ]
        if name in ("busy", "no-answer", "failed"):
            assert turns == [] and session.answered_at is None
            continue
        assert session.answered_at is not None and session.sid in heard
        callee_heard = [h["say"] for h in heard[session.sid]["heard"] if "say" in h]
        assert callee_heard, name
        if name == "machine":
            (vm,) = [t for t in turns if "message from" in t[2]]
            assert "Alpha Family Practice" in vm[2] and "Dr. Vera Voice" not in vm[2]
            assert session.answered_by == "machine"
            assert any("message from Alpha Family Practice" in s for s in callee_heard)
            continue
        assert turns[0][:2] == ("portal", "prompt")
        if name == "hangup":
            assert len(callee_heard) == 1 and len(turns) == 1
            continue
        if name == "silent":
            kinds = [t[1] for t in turns]
            assert kinds == ["prompt", "silence", "prompt", "silence", "prompt"]
            assert turns[2][2].startswith("Sorry, I did not get that.")
            assert "We did not hear an answer" in turns[4][2]
            continue
        assert turns[1][0] == "caller"
        if name == "confirm":
            assert turns[1][1:] == ("digits", "1")
            assert "Your visit is confirmed" in turns[2][2]
            event = session.appointment.events.get(kind="confirmed")
            assert event.note == f"Confirmed by patient, call {session.sid}"
        if name == "cancel":
            assert turns[1][1:] == ("speech", "no")
            assert session.turns.get(speaker="caller").confidence is not None
            assert "is cancelled" in turns[2][2]
        if name == "staff":
            assert [h["dial"] for h in heard[session.sid]["heard"] if "dial" in h] == [
                STAFF_NUMBER
            ]
        if name == "spanish":
            assert turns[0][2].startswith("Hola, le llama Alpha Family Practice")
            assert "Su cita está confirmada" in turns[2][2]

    # The limit held: never more than five outbound calls live at once.
    placed = sorted((s.placed_at, 1) for s in ended.values() if s.placed_at) + sorted(
        (s.ended_at, -1) for s in ended.values() if s.placed_at
    )
    live_now = peak = 0
    for _, step in sorted(placed, key=lambda p: (p[0], p[1])):
        live_now += step
        peak = max(peak, live_now)
    assert peak <= 5
    assert (
        Appointment.objects.filter(
            pk__in=[s.appointment_id for s in ended.values()], status="confirmed"
        ).count()
        == 2
    )
    wait_until(lambda: True, timeout=1, what="nothing")


def test_dial_in_and_duplicated_out_of_order_and_late_call_callbacks(
    live, voice_committed
):
    """A known caller confirms by phone; an unknown one reaches staff; placed calls'
    callbacks posted twice, last first, or again late are applied once, forward only."""
    policy(quiet_hours=False)
    doc, visit_type, (patient, other, third, fourth) = voice_schedule(
        voice_committed, patients=4
    )
    server = live.start_server()
    live.start_worker()
    visit = appointment_book(
        patient=patient,
        provider=doc,
        appointment_type=visit_type,
        start=at(days_ahead(2), 15),
        actor=member(None),
    )
    callee(live.sim, patient.phone, inputs=["1"])
    known = sim_post(
        live.sim,
        "/_sim/call-in",
        From=patient.phone,
        To=ALPHA_NUMBER,
        Url=server + "/twilio/voice/incoming/",
        StatusCallback=server + "/twilio/voice/status/",
    )
    unknown = sim_post(
        live.sim,
        "/_sim/call-in",
        From="+16175550888",
        To=ALPHA_NUMBER,
        Url=server + "/twilio/voice/incoming/",
        StatusCallback=server + "/twilio/voice/status/",
    )
    mine = session_ended_sid(known["sid"])
    assert (mine.direction, mine.patient_id, mine.status, mine.outcome) == (
        "inbound",
        patient.pk,
        "completed",
        "confirmed",
    )
    visit.refresh_from_db()
    assert visit.status == "confirmed"
    stranger = session_ended_sid(unknown["sid"])
    assert (stranger.patient, stranger.status, stranger.outcome) == (
        None,
        "supervisor_dialed",
        "transferred",
    )
    heard = sim_get(live.sim, "/_sim/voice")["calls"][unknown["sid"]]["heard"]
    assert {"dial": STAFF_NUMBER} in heard

    # Placed calls whose status callbacks arrive twice, last first, or late again.
    desk = Membership.objects.select_related("user").get(user__email="desk@alpha.test")
    modes = {"duplicate": other, "out_of_order": third, "late": fourth}
    calls = {}
    for n, (mode, person) in enumerate(modes.items()):
        sim_post(live.sim, "/_sim/callbacks", Number=person.phone, Mode=mode, Delay="1")
        callee(live.sim, person.phone, inputs=["2"])
        later = appointment_book(
            patient=person,
            provider=doc,
            appointment_type=visit_type,
            start=at(days_ahead(2), 16 + n),
            actor=member(None),
        )
        calls[mode] = call_request(
            actor=desk, patient=person, appointment=later, purpose="confirmation"
        )
    for mode, call in calls.items():
        call = session_ended(call.pk)
        assert (mode, call.status, call.outcome) == (mode, "completed", "cancelled")
        assert call.appointment.status == "cancelled"
        assert call.answered_at is not None and call.duration_seconds
        # Out of order, the final callback comes first: the rest follow it.
        events = wait_until(
            lambda c=call: (
                rows
                if len(rows := list(c.events.filter(source="status"))) == 4
                else None
            ),
            timeout=15,
            what=f"the {mode} callbacks",
        )
        assert sorted(e.sequence for e in events) == [0, 1, 2, 3], mode
    late = session_ended(calls["late"].pk)

    def posted(call) -> int:
        with live.sim.lock:
            return sum(
                1
                for d in live.sim.deliveries
                if d.params.get("CallSid") == call.sid and "SequenceNumber" in d.params
            )

    # The three earlier callbacks come again a second after the last: nothing moves.
    wait_until(
        lambda: posted(late) == 7,
        timeout=15,
        what=f"the late callbacks ({posted(late)} posted)",
    )
    late.refresh_from_db()
    assert (late.status, late.outcome) == ("completed", "cancelled")
    assert late.events.filter(source="status").count() == 4
    reordered = list(calls["out_of_order"].events.filter(source="status"))
    assert [e.sequence for e in sorted(reordered, key=lambda e: e.id)] == [3, 2, 1, 0]
    assert [e.applied for e in sorted(reordered, key=lambda e: e.id)] == [
        True,
        False,
        False,
        False,
    ]
