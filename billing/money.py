"""Money columns: Decimal with two places, and the checks every amount gets."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import models

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Any one amount; well above a real claim, well below numeric(12, 2)'s ceiling.
MAX_AMOUNT = Decimal("9999999.99")


def money(value: object) -> Decimal:
    """A Decimal rounded to the cent (half up); never a float in between."""
    if isinstance(value, float):
        raise TypeError("Money is never a float; pass a Decimal or a string.")
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def MoneyField(**kwargs) -> models.DecimalField:  # noqa: N802  (reads like a field class)
    kwargs.setdefault("max_digits", 12)
    kwargs.setdefault("decimal_places", 2)
    return models.DecimalField(**kwargs)


def amount_check(
    field: str, *, rule: str, allow_zero: bool = False, signed: bool = False
) -> models.CheckConstraint:
    """Amounts stay within ±MAX_AMOUNT; positive unless `signed` (then non-zero)."""
    q = models.Q(**{f"{field}__lte": MAX_AMOUNT})
    if signed:
        q &= models.Q(**{f"{field}__gte": -MAX_AMOUNT})
        if not allow_zero:
            q &= ~models.Q(**{field: 0})
    elif allow_zero:
        q &= models.Q(**{f"{field}__gte": 0})
    else:
        q &= models.Q(**{f"{field}__gt": 0})
    label = field.replace("_", " ").capitalize()
    if signed:
        rule_text = f"from -{MAX_AMOUNT} to {MAX_AMOUNT}" + (
            "" if allow_zero else ", not zero"
        )
    else:
        rule_text = f"from {'0.00' if allow_zero else '0.01'} to {MAX_AMOUNT}"
    return models.CheckConstraint(
        condition=q,
        name=f"%(app_label)s_%(class)s_{rule}",
        violation_error_message=f"{label} must be {rule_text}.",
    )
