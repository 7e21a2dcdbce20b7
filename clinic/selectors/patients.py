"""Reads of patients and the audit trail."""

from __future__ import annotations

import re
from datetime import date, datetime

from django.contrib.postgres.search import TrigramDistance
from django.db.models import Q, QuerySet, Value

from clinic.models import AuditEntry, Patient, Workflow

DIGITS = re.compile(r"\D")
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y")


def _as_date(text: str) -> date | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def patient_list(
    *,
    q: str = "",
    workflow: str = "",
    status: str = "",
    updated_since: datetime | None = None,
) -> QuerySet[Patient]:
    """Patients matching a search and filters; best name matches first when searching.

    `q` is a date of birth (YYYY-MM-DD or MM/DD/YYYY), part of a phone number,
    or a name; names match partially and despite misspellings (pg_trgm).
    """
    qs = Patient.objects.select_related("workflow")
    if workflow:
        qs = qs.filter(workflow__slug=workflow)
    if status:
        qs = qs.filter(status=status)
    if updated_since:
        qs = qs.filter(updated_at__gte=updated_since)
    q = (q or "").strip()
    if not q:
        return qs.order_by("last_name", "first_name", "id")
    dob = _as_date(q)
    if dob:
        return qs.filter(date_of_birth=dob).order_by("last_name", "first_name", "id")
    digits = DIGITS.sub("", q)
    if digits and not re.search(r"[A-Za-z]", q):
        return qs.filter(phone__contains=digits).order_by(
            "last_name", "first_name", "id"
        )
    text = q.lower()
    if len(text) < 3:
        return qs.filter(full_name__startswith=text).order_by(
            "last_name", "first_name", "id"
        )
    # Every word of the query must match some word of the name, fuzzily (`%>`,
    # word similarity, served by the trigram index; threshold set per
    # connection in portal.db): a typo in the first or the last name still
    # finds the patient, and a second word narrows the list rather than widens it.
    words = Q()
    for word in [w for w in text.split() if len(w) >= 3][:4]:
        words &= Q(full_name__trigram_word_similar=word)
    matches = (
        Q(full_name__contains=text) | words if words else Q(full_name__contains=text)
    )
    # Nearest whole names first (`<->`, walked in order by the GiST index).
    return (
        qs.filter(matches)
        .annotate(distance=TrigramDistance("full_name", Value(text)))
        .order_by("distance", "id")
    )


def workflows_active() -> QuerySet[Workflow]:
    return Workflow.objects.filter(is_active=True).order_by("name")


def audit_entries(
    *,
    actor_id: int | None = None,
    patient_id: int | None = None,
    action: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[AuditEntry]:
    """The clinic's audit trail, newest first, filtered for the audit page and export."""
    qs = AuditEntry.objects.select_related("actor", "content_type")
    if actor_id:
        qs = qs.filter(actor_id=actor_id)
    if patient_id:
        qs = qs.filter(
            Q(patient_ids__contains=[patient_id])
            | Q(content_type__model="patient", object_id=patient_id)
        )
    if action is not None:
        qs = qs.filter(action=action)
    if start:
        qs = qs.filter(timestamp__gte=start)
    if end:
        qs = qs.filter(timestamp__lt=end)
    return qs.order_by("-timestamp", "-id")
