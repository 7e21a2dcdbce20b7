"""Template tags of the records pages: the navigation's unread notification count."""

from __future__ import annotations

from django import template

from clinic.selectors.notifications import unread_notification_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context: template.Context) -> int:
    member = context.get("membership")
    return unread_notification_count(member=member) if member else 0
