"""Live updates of calls to the clinic's staff pages (the call board, campaigns).

Every event has a "kind" ("call", "call.turn", "campaign") and an "id". Calls
and campaigns carry ids, statuses and times only: pages fetch what they show
with their own access checks. A transcript turn carries its text, because the
board shows the conversation as it happens. Events go out once the change is
committed; a failed publish is logged and counted, never raised.
"""

from __future__ import annotations

from calls.models import CallCampaign, CallSession, TranscriptTurn
from portal import live


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def publish(payload: dict) -> None:
    """Send `payload` to the clinic's open pages once the transaction commits."""
    body = dict(payload)
    live.publish(body.pop("kind"), body)


def call_payload(session: CallSession, change: str) -> dict:
    return {
        "kind": "call",
        "id": session.pk,
        "change": change,
        "status": session.status,
        "outcome": session.outcome,
        "direction": session.direction,
        "purpose": session.purpose,
        "campaign": session.campaign_id,
        "patient": session.patient_id,
        "created_at": _iso(session.created_at),
        "placed_at": _iso(session.placed_at),
        "answered_at": _iso(session.answered_at),
        "ended_at": _iso(session.ended_at),
        "duration": session.duration_seconds,
    }


def publish_call(session: CallSession, change: str) -> None:
    publish(call_payload(session, change))


def publish_turn(turn: TranscriptTurn) -> None:
    publish(
        {
            "kind": "call.turn",
            "id": turn.pk,
            "call": turn.session_id,
            "step": turn.step,
            "speaker": turn.speaker,
            "turn_kind": turn.kind,
            "text": turn.text,
            "confidence": str(turn.confidence) if turn.confidence is not None else None,
            "at": _iso(turn.at),
        }
    )


def publish_campaign(campaign: CallCampaign) -> None:
    publish(
        {
            "kind": "campaign",
            "id": campaign.pk,
            "status": campaign.status,
            "finished_at": _iso(campaign.finished_at),
        }
    )
