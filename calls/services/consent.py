"""Consent to texts: opt-outs and opt-ins, per number, with their ledger.

The patient's `sms_consent` is what the clinic recorded when it took their
details; a number that texted STOP (or CANCEL, END, ...) gets nothing more
from this clinic until it texts START, UNSTOP or YES, whoever it belongs to.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from calls.actors import Actor, actor_label
from calls.models import ConsentEvent, SmsOptOut
from calls.permissions import require_sender
from clinic.models import Patient

Kind = ConsentEvent.Kind
Source = ConsentEvent.Source


def number_opted_out(number: str) -> bool:
    return bool(number) and SmsOptOut.objects.filter(number=number).exists()


def number_opt_out(
    *,
    number: str,
    keyword: str,
    source: str,
    at: datetime,
    sid: str = "",
    patient: Patient | None = None,
    recorded_by: str = "",
) -> bool:
    """Record an opt-out; False when the number was already opted out (ledger still grows)."""
    _, created = SmsOptOut.objects.get_or_create(
        number=number,
        defaults={"keyword": keyword[:20], "message_sid": sid, "opted_out_at": at},
    )
    ConsentEvent.objects.create(
        number=number,
        patient=patient,
        kind=Kind.OPT_OUT,
        source=source,
        keyword=keyword[:40],
        message_sid=sid,
        recorded_by=recorded_by,
        at=at,
    )
    return created


def number_opt_in(
    *,
    number: str,
    keyword: str,
    at: datetime,
    sid: str = "",
    patient: Patient | None = None,
) -> bool:
    """A START (UNSTOP, YES) from an opted-out number; False when it was not opted out."""
    deleted, _ = SmsOptOut.objects.filter(number=number).delete()
    if not deleted:
        return False
    ConsentEvent.objects.create(
        number=number,
        patient=patient,
        kind=Kind.OPT_IN,
        source=Source.PATIENT_TEXT,
        keyword=keyword[:40],
        message_sid=sid,
        at=at,
    )
    return True


@transaction.atomic
def patient_opt_out_record(*, actor: Actor, patient: Patient) -> bool:
    """Staff record a patient's spoken request to get no more texts at their number.

    Staff never opt a number back in: only the number's own START does, as the
    carriers require.
    """
    require_sender(actor)
    if not patient.phone:
        return False
    return number_opt_out(
        number=patient.phone,
        keyword="(staff)",
        source=Source.STAFF,
        at=timezone.now(),
        patient=patient,
        recorded_by=actor_label(actor),
    )
