"""What the texts say: shipped wording in English and Spanish, placeholders, segments.

Templates are `str.format` strings with named placeholders only; a clinic's own
wording is checked against PLACEHOLDERS when saved. Dates and times are written
in the clinic's timezone at the visit's own offset, so a visit after a clock
change shows the time the patient will see on the clinic's wall.
"""

from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from calls.models import TemplateKind

LANGUAGES = ("en", "es")

PLACEHOLDERS = {
    "first_name": "The patient's first name",
    "clinic": "The clinic's name",
    "clinic_phone": "The clinic's phone number",
    "provider": "The provider's name",
    "date": "The visit's date",
    "time": "The visit's time",
    "location": "Where the visit is",
    "reply_instructions": "How to confirm or cancel by reply",
    "hold_until": "Until when a waitlist offer holds (offers only)",
}

DEFAULTS: dict[str, dict[str, str]] = {
    TemplateKind.REMINDER: {
        "en": "Hi {first_name}, a reminder of your visit with {provider} at {clinic} "
        "on {date} at {time}, {location}. {reply_instructions}",
        "es": "Hola {first_name}: le recordamos su cita con {provider} en {clinic} "
        "el {date} a las {time}, {location}. {reply_instructions}",
    },
    TemplateKind.BOOKING_CONFIRMATION: {
        "en": "Hi {first_name}, your visit with {provider} at {clinic} is booked for "
        "{date} at {time}, {location}. {reply_instructions}",
        "es": "Hola {first_name}: su cita con {provider} en {clinic} es el {date} "
        "a las {time}, {location}. {reply_instructions}",
    },
    TemplateKind.CONFIRM_ACK: {
        "en": "Thank you, {first_name}. Your visit on {date} at {time} is confirmed.",
        "es": "Gracias, {first_name}. Su cita del {date} a las {time} queda confirmada.",
    },
    TemplateKind.CANCEL_ACK: {
        "en": "Your visit with {provider} on {date} at {time} is cancelled. "
        "Call {clinic_phone} to book again.",
        "es": "Su cita con {provider} del {date} a las {time} queda cancelada. "
        "Llame al {clinic_phone} para pedir otra.",
    },
    TemplateKind.HELP: {
        "en": "{clinic}: visit reminders and messages. Call {clinic_phone} for help. "
        "Reply STOP to opt out. Msg&data rates may apply.",
        "es": "{clinic}: recordatorios de citas y mensajes. Llame al {clinic_phone} "
        "para ayuda. Responda STOP para no recibir mensajes.",
    },
    TemplateKind.AUTO_CANCEL: {
        "en": "Your visit with {provider} on {date} at {time} was cancelled because "
        "it was not confirmed. Call {clinic_phone} to book again.",
        "es": "Su cita con {provider} del {date} a las {time} se cancelo porque no "
        "fue confirmada. Llame al {clinic_phone} para pedir otra.",
    },
    TemplateKind.WAITLIST_OFFER: {
        "en": "{clinic}: a visit with {provider} on {date} at {time} is free. "
        "Reply YES by {hold_until} to take it.",
        "es": "{clinic}: hay una cita libre con {provider} el {date} a las {time}. "
        "Responda SI antes de las {hold_until} para tomarla.",
    },
    TemplateKind.WAITLIST_WON: {
        "en": "You are booked: {provider} on {date} at {time}, {location}.",
        "es": "Su cita quedo reservada: {provider} el {date} a las {time}, {location}.",
    },
    TemplateKind.WAITLIST_TAKEN: {
        "en": "Sorry, the visit on {date} at {time} has been taken. You stay on our waitlist.",
        "es": "Lo sentimos, la cita del {date} a las {time} ya fue tomada. "
        "Sigue en nuestra lista de espera.",
    },
}

REPLY_INSTRUCTIONS = {
    "en": ("Reply C to confirm or N to cancel.", "Reply N to cancel."),
    "es": ("Responda C para confirmar o N para cancelar.", "Responda N para cancelar."),
}

_WEEKDAYS = {
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    "es": ["lun", "mar", "mie", "jue", "vie", "sab", "dom"],
}
_MONTHS = {
    "en": [
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "May",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Oct",
        "Nov",
        "Dec",
    ],
    "es": [
        "ene",
        "feb",
        "mar",
        "abr",
        "may",
        "jun",
        "jul",
        "ago",
        "sep",
        "oct",
        "nov",
        "dic",
    ],
}


def language_of(preferred: str) -> str:
    """The shipped language closest to a patient's preference (English otherwise)."""
    return preferred if preferred in LANGUAGES else "en"


def format_date(moment: datetime, tz: ZoneInfo, language: str) -> str:
    local = moment.astimezone(tz)
    weekday = _WEEKDAYS[language][local.weekday()]
    month = _MONTHS[language][local.month - 1]
    if language == "es":
        return f"{weekday} {local.day} {month}"
    return f"{weekday}, {month} {local.day}"


def format_time(moment: datetime, tz: ZoneInfo, language: str) -> str:
    local = moment.astimezone(tz)
    if language == "es":
        return f"{local:%H:%M}"
    hour = local.hour % 12 or 12
    return f"{hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"


def template_problems(body: str) -> list[str]:
    """Why a clinic's template cannot be used (unknown placeholders, bad braces)."""
    problems = []
    if not body.strip():
        return ["A text cannot be empty."]
    try:
        fields = [
            name
            for _, name, spec, conv in string.Formatter().parse(body)
            if name is not None
        ]
    except ValueError as exc:
        return [f"Braces do not match: {exc}. Write placeholders like {{first_name}}."]
    unknown = sorted({f for f in fields if f not in PLACEHOLDERS})
    if unknown:
        problems.append(
            "Unknown placeholders: "
            + ", ".join("{" + f + "}" for f in unknown)
            + ". Use "
            + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            + "."
        )
    if len(body) > 1600:
        problems.append("A text can be at most 1,600 characters.")
    return problems


def render(body: str, values: dict[str, str]) -> str:
    """Fill a template; a missing value renders empty rather than failing a send."""
    text = string.Formatter().vformat(body, (), _Blank(values))
    return " ".join(text.split())


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


# --- Segments -----------------------------------------------------------------------

_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Segments:
    count: int
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int

    @property
    def over_one(self) -> bool:
        return self.count > 1


def segments(text: str) -> Segments:
    """How many SMS segments a text takes, as carriers count them."""
    if all(c in _GSM7 or c in _GSM7_EXTENDED for c in text):
        units = sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, multi, encoding = 70, 67, "UCS-2"
    count = 1 if units <= single else -(-units // multi)
    return Segments(count, encoding, len(text))


# --- Keywords -----------------------------------------------------------------------

OPT_OUT_WORDS = frozenset(
    {
        "STOP",
        "STOPALL",
        "STOP ALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
        "OPT OUT",
    }
)
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
CONFIRM_WORDS = frozenset({"C", "YES", "Y", "1", "SI", "SÍ", "CONFIRM"})
DECLINE_WORDS = frozenset({"N", "NO", "2"})


def keyword(body: str) -> str:
    """A reply as one upper-case word: "  sí! " reads as "SÍ", "Stop." as "STOP"."""
    text = unicodedata.normalize("NFC", body or "").strip().upper()
    text = text.strip(" .!?,;:¡¿\"'()")
    return " ".join(text.split())
