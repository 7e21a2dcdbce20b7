"""The patient page's documents section, shown by what the member's role may see."""

from __future__ import annotations

from typing import Any

from django import template

from clinic import permissions as rules
from clinic.models import Patient
from clinic.selectors.documents import document_list

register = template.Library()


@register.inclusion_tag("clinic/_document_section.html", takes_context=True)
def patient_documents_card(
    context: template.Context, patient: Patient
) -> dict[str, Any]:
    membership = context.get("membership")
    kinds = rules.document_kind_choices(membership)
    if not kinds:
        return {"show": False}
    return {
        "show": True,
        "patient": patient,
        "kinds": kinds,
        "documents": list(document_list(who=membership, patient=patient)[:100]),
        "appointments": patient.appointments.order_by("-start")[:20],
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def may_see_document_kind(membership, kind: str) -> bool:
    return rules.may_view_document(membership, kind)
