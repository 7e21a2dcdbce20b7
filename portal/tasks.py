"""Celery tasks of the public schema's services (each runs in its clinic's schema)."""

from __future__ import annotations

from django.db import connection

from portal.celery import app
from portal.password_reset import password_reset_email_send


@app.task
def password_reset_email(email: str) -> int:
    """Send the reset link of the clinic the task was enqueued in."""
    return password_reset_email_send(email=email, clinic=connection.tenant)
