"""Template tags of billing: what a role may do (asked of billing.permissions), money,
codes, and the small billing parts other apps' pages include."""

from __future__ import annotations

from decimal import Decimal

from django import template

from billing.codes import display_icd10
from billing.models import Claim, Encounter
from billing.money import money as to_money
from billing.permissions import Perm, allowed_perms, role_may

register = template.Library()


@register.simple_tag
def billing_perms(membership) -> set[str]:
    return allowed_perms(getattr(membership, "role", None))


@register.filter
def money(value) -> str:
    """Two decimals, always (never a float in between)."""
    if value in (None, ""):
        return "0.00"
    return f"{to_money(value if isinstance(value, Decimal) else str(value)):,.2f}"


@register.filter
def icd10(code: str) -> str:
    return display_icd10(code)


@register.filter
def status_label(value: str) -> str:
    return dict(Claim.Status.choices).get(value, value or "")


@register.inclusion_tag("billing/_nav_item.html", takes_context=True)
def billing_nav_item(context) -> dict:
    """The main menu's "Billing" item, for the roles billing.permissions lets in."""
    request = context.get("request")
    membership = context.get("membership")
    name = getattr(getattr(request, "resolver_match", None), "url_name", "") or ""
    return {
        "show": role_may(getattr(membership, "role", None), Perm.SEE_BILLING),
        "current": name.startswith("billing-"),
    }


@register.inclusion_tag("billing/_patient_balance.html", takes_context=True)
def patient_billing_card(context, patient) -> dict:
    """The patient page's billing card: balance and a link to the ledger."""
    from billing.selectors.ledger import patient_balance

    role = getattr(context.get("membership"), "role", None)
    if not role_may(role, Perm.VIEW_LEDGER):
        return {"show": False}
    return {
        "show": True,
        "patient": patient,
        "balance": patient_balance(patient_id=patient.pk),
    }


@register.inclusion_tag("billing/_visit_link.html", takes_context=True)
def visit_billing_link(context, appointment) -> dict:
    """'Code this visit' on a completed appointment, for those who code."""
    role = getattr(context.get("membership"), "role", None)
    show = appointment.status == "completed" and role_may(role, Perm.CODE_ENCOUNTERS)
    encounter = (
        Encounter.objects.filter(appointment=appointment).only("status").first()
        if show
        else None
    )
    return {"show": show, "appointment": appointment, "encounter": encounter}


LEDGER_KINDS = {
    "charge": "Charge",
    "insurance_payment": "Insurance payment",
    "insurance_adjustment": "Insurance adjustment",
    "payment": "Payment",
    "adjustment": "Adjustment",
    "refund": "Refund",
}


@register.filter
def ledger_kind(value: str) -> str:
    return LEDGER_KINDS.get(value, value)
