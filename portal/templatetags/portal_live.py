"""The clinic's latest live-event seq, for pages to catch up from (live.js)."""

from __future__ import annotations

import redis
from django import template
from django.db import connection

from portal import live

register = template.Library()


@register.simple_tag
def live_seq() -> str:
    """The seq as the page renders; empty (the page then starts from its socket's
    hello) when there is no clinic or Redis does not answer."""
    schema = connection.schema_name
    if not schema or schema == "public":
        return ""
    try:
        return str(live.last_seq(schema))
    except redis.RedisError:
        return ""
