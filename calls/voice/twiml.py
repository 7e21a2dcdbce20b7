"""TwiML documents, built with the `twilio` library's VoiceResponse.

Every Gather takes keypad or speech, ends speech on its own (automatic
timeout), pins the speech model (recognition models change under us
otherwise, settings.VOICE_SPEECH_MODEL), passes hints and the caller's
language, and falls through to a Redirect when nothing was heard.
"""

from __future__ import annotations

from django.conf import settings
from twilio.twiml.voice_response import Gather, VoiceResponse

from calls.voice.prompts import HINTS, SPEECH_LANGUAGE


def _say(response, text: str, language: str) -> None:
    response.say(text, language=SPEECH_LANGUAGE[language])


def ask(
    *, lines: list[str], language: str, action: str, no_input: str, digits: int = 1
) -> str:
    """Say the lines inside a Gather; when nothing is heard, go to `no_input`."""
    response = VoiceResponse()
    speech = digits == 1
    extra = (
        {
            "speech_timeout": "auto",
            "speech_model": settings.VOICE_SPEECH_MODEL,
            "hints": HINTS[language],
        }
        if speech
        else {}
    )
    gather = Gather(
        input="dtmf speech" if speech else "dtmf",
        action=action,
        method="POST",
        num_digits=digits,
        timeout=6,
        action_on_empty_result=False,
        language=SPEECH_LANGUAGE[language],
        **extra,
    )
    for line in lines:
        gather.say(line, language=SPEECH_LANGUAGE[language])
    response.append(gather)
    response.redirect(no_input, method="POST")
    return str(response)


def tell(*, lines: list[str], language: str) -> str:
    """Say the lines, then hang up."""
    response = VoiceResponse()
    for line in lines:
        _say(response, line, language)
    response.hangup()
    return str(response)


def transfer(*, lines: list[str], language: str, number: str, action: str) -> str:
    """Say the lines, then connect the caller to `number` (the clinic's staff)."""
    response = VoiceResponse()
    for line in lines:
        _say(response, line, language)
    response.dial(number, action=action, method="POST", timeout=30)
    return str(response)


def hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)
