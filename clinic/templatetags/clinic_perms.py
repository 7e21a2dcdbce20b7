"""`{{ membership|may:"change_schedule" }}`: templates ask clinic.permissions too."""

from __future__ import annotations

from django import template

from clinic.permissions import Perm
from clinic.permissions import may as _may
from portal.models import Membership

register = template.Library()


@register.filter
def may(membership: Membership | None, perm: str) -> bool:
    return _may(membership, Perm(perm))
