"""What the portal says on a call, in English and Spanish, and how it reads an answer.

Prompts name the clinic, the visit's day, time and provider only to a person
who answered (a voicemail gets no details of the visit). Answers come as
keypad digits or recognised speech: 1 or "yes" confirms, 2 or "no" cancels,
3 or "staff" reaches a person.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

SPEECH_LANGUAGE = {"en": "en-US", "es": "es-US"}

_WEEKDAYS = {
    "en": [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
}
_MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
}

TEXTS = {
    "en": {
        "visit": "Hello, this is {clinic}. You have a visit on {date} at {time} "
        "with {provider}.",
        "recall": "Hello, this is {clinic}. Our records show you are due for a visit.",
        "ask_visit": "To confirm, press 1 or say yes. To cancel, press 2 or say no. "
        "To speak with our staff, press 3 or say staff.",
        "ask_recall": "If you would like us to book it, press 1 or say yes. "
        "If not, press 2 or say no. To speak with our staff, press 3 or say staff.",
        "again": "Sorry, I did not get that.",
        "confirmed": "Thank you. Your visit is confirmed. Goodbye.",
        "cancelled": "Your visit is cancelled. Thank you for letting us know. Goodbye.",
        "recall_yes": "Thank you. Our staff will call you to book. Goodbye.",
        "recall_no": "Thank you. We will not call you about it again. Goodbye.",
        "transfer": "Please hold while we connect you to our staff.",
        "no_staff": "Sorry, nobody can take your call now. Please call us during "
        "office hours. Goodbye.",
        "goodbye": "We did not hear an answer. Please call us if you have questions. "
        "Goodbye.",
        "voicemail": "Hello, this is a message from {clinic}. Please call us back at "
        "{phone}. Thank you.",
        "dob": "Hello, this is {clinic}. To find your visit, please enter your month "
        "and day of birth as four digits.",
        "no_visit": "Hello, this is {clinic}. We have no upcoming visit for you.",
        "unknown_caller": "Hello, this is {clinic}.",
        "message": "Hello, this is {clinic}. {message}",
        "unavailable": "Sorry, this visit can no longer be changed by phone. "
        "Please hold for our staff.",
    },
    "es": {
        "visit": "Hola, le llama {clinic}. Tiene una cita el {date} a las {time} "
        "con {provider}.",
        "recall": "Hola, le llama {clinic}. Según nuestros registros le toca una "
        "visita.",
        "ask_visit": "Para confirmar, marque 1 o diga sí. Para cancelar, marque 2 o "
        "diga no. Para hablar con nuestro personal, marque 3 o diga personal.",
        "ask_recall": "Si desea que le demos una cita, marque 1 o diga sí. Si no, "
        "marque 2 o diga no. Para hablar con nuestro personal, marque 3 o diga "
        "personal.",
        "again": "Perdón, no le entendí.",
        "confirmed": "Gracias. Su cita está confirmada. Adiós.",
        "cancelled": "Su cita está cancelada. Gracias por avisarnos. Adiós.",
        "recall_yes": "Gracias. Nuestro personal le llamará para darle una cita. "
        "Adiós.",
        "recall_no": "Gracias. No le volveremos a llamar por esto. Adiós.",
        "transfer": "Espere mientras le comunicamos con nuestro personal.",
        "no_staff": "Lo sentimos, nadie puede atender su llamada ahora. Llámenos en "
        "horario de oficina. Adiós.",
        "goodbye": "No escuchamos su respuesta. Llámenos si tiene preguntas. Adiós.",
        "voicemail": "Hola, este es un mensaje de {clinic}. Por favor llámenos al "
        "{phone}. Gracias.",
        "dob": "Hola, le llama {clinic}. Para encontrar su cita, marque el mes y el "
        "día de su nacimiento, cuatro dígitos.",
        "no_visit": "Hola, le llama {clinic}. No tiene citas próximas.",
        "unknown_caller": "Hola, le llama {clinic}.",
        "message": "Hola, le llama {clinic}. {message}",
        "unavailable": "Lo sentimos, esta cita ya no se puede cambiar por teléfono. "
        "Espere a nuestro personal.",
    },
}

HINTS = {
    "en": "yes, no, staff, confirm, cancel, person, operator",
    "es": "sí, no, personal, confirmar, cancelar, persona, operadora",
}

_CONFIRM = {"yes", "yeah", "yep", "confirm", "si", "sí", "confirmar", "one", "uno"}
_CANCEL = {"no", "nope", "cancel", "cancelar", "two", "dos"}
_STAFF = {
    "staff",
    "person",
    "operator",
    "representative",
    "agent",
    "personal",
    "persona",
    "operadora",
    "three",
    "tres",
}


def say(key: str, language: str, **values: str) -> str:
    return TEXTS[language][key].format(**values)


def spoken_date(moment: datetime, tz: ZoneInfo, language: str) -> str:
    local = moment.astimezone(tz)
    weekday = _WEEKDAYS[language][local.weekday()]
    month = _MONTHS[language][local.month - 1]
    if language == "es":
        return f"{weekday} {local.day} de {month}"
    return f"{weekday}, {month} {local.day}"


def spoken_time(moment: datetime, tz: ZoneInfo, language: str) -> str:
    local = moment.astimezone(tz)
    if language == "es":
        return f"{local:%H:%M}"
    hour = local.hour % 12 or 12
    return f"{hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"


def _words(speech: str) -> set[str]:
    text = unicodedata.normalize("NFC", speech.lower())
    cleaned = "".join(c if c.isalnum() or c.isspace() else " " for c in text)
    return set(cleaned.split())


def choice(*, digits: str, speech: str) -> str:
    """ "confirm", "cancel", "staff", or "" when the answer says none of them."""
    digits = (digits or "").strip()
    if digits:
        return {"1": "confirm", "2": "cancel", "3": "staff"}.get(digits[:1], "")
    words = _words(speech or "")
    for name, vocabulary in (
        ("staff", _STAFF),
        ("cancel", _CANCEL),
        ("confirm", _CONFIRM),
    ):
        if words & vocabulary:
            return name
    return ""
