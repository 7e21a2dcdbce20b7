"""Models of texting: conversations, messages, reminders, consent, waitlist offers."""

from calls.models.consent import ConsentEvent, SmsOptOut
from calls.models.messaging import Conversation, Message, MessageEvent
from calls.models.offers import WaitlistOffer, WaitlistOfferRecipient
from calls.models.reminders import (
    MessageTemplate,
    Reminder,
    ReminderPolicy,
    ReminderTypePolicy,
    TemplateKind,
)

__all__ = [
    "ConsentEvent",
    "Conversation",
    "Message",
    "MessageEvent",
    "MessageTemplate",
    "Reminder",
    "ReminderPolicy",
    "ReminderTypePolicy",
    "SmsOptOut",
    "TemplateKind",
    "WaitlistOffer",
    "WaitlistOfferRecipient",
]
