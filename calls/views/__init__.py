"""Staff pages of texting: the inbox, the message log, the reminder policy, slot offers."""

from calls.views.inbox import (
    conversation_list,
    inbox,
    opt_out,
    reply,
    settle,
    thread,
    unread_badge,
)
from calls.views.log import consent_export, message_log
from calls.views.offers import offer_slot
from calls.views.policy import policy_page, preview, template_save, type_policy_save

__all__ = [
    "consent_export",
    "conversation_list",
    "inbox",
    "message_log",
    "offer_slot",
    "opt_out",
    "policy_page",
    "preview",
    "reply",
    "settle",
    "template_save",
    "thread",
    "type_policy_save",
    "unread_badge",
]
