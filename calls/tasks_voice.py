"""Celery tasks of voice calls: thin wrappers around the services, each in its clinic's schema."""

from __future__ import annotations

from portal.celery import app
from portal.fanout import fan_out


@app.task
def voice_beat_all() -> int:
    """Beat, every minute: escalations and the dispatcher in every clinic."""
    return fan_out(voice_beat)


@app.task
def voice_beat() -> dict:
    from calls.services.voice_dial import voice_dispatch_run
    from calls.services.voice_escalation import escalate_unconfirmed

    queued = escalate_unconfirmed()
    report = voice_dispatch_run()
    return {"escalated": queued, "placed": report.placed}


@app.task
def voice_dispatch() -> dict:
    """Place the clinic's waiting calls that fit under its concurrency limit."""
    from calls.services.voice_dial import voice_dispatch_run

    report = voice_dispatch_run()
    return {
        "claimed": report.claimed,
        "placed": report.placed,
        "refused": report.refused,
        "stale": report.stale,
        "skipped": report.skipped,
    }
