"""Models of texting and calls: conversations, messages, reminders, consent, offers, calls."""

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
from calls.models.voice import (
    CallCampaign,
    CallEvent,
    CallSession,
    PatientCallState,
    TranscriptTurn,
    VoicePolicy,
)

__all__ = [
    "CallCampaign",
    "CallEvent",
    "CallSession",
    "ConsentEvent",
    "Conversation",
    "Message",
    "MessageEvent",
    "MessageTemplate",
    "PatientCallState",
    "Reminder",
    "ReminderPolicy",
    "ReminderTypePolicy",
    "SmsOptOut",
    "TemplateKind",
    "TranscriptTurn",
    "VoicePolicy",
    "WaitlistOffer",
    "WaitlistOfferRecipient",
]
