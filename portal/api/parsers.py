"""JSON bodies (and cursors) read without ever crashing the server.

Python's json module recurses once per `[` or `{`: a thousand of them raise
RecursionError, which DRF's JSONParser does not catch (a 500). `1e400` reads
as infinity, which no id, jsonb value or number column can take. Both are
refused here, before anything looks at the data.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from itertools import accumulate
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in JSON text, without parsing it."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"Number {text[:40]} is out of range.")
    return value


def _constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number.")


def loads_limited(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads for untrusted text; ValueError when too deep or not finite."""
    if nesting_depth(text) > max_depth:
        raise ValueError(f"Nested deeper than {max_depth} levels.")
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_constant)
    except RecursionError as exc:  # the depth check above should make this unreachable
        raise ValueError("Nested too deeply.") from exc


class ClinicJSONParser(JSONParser):
    """DRF's JSON parser with a depth limit and finite numbers only (400 otherwise)."""

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: dict | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            return loads_limited(text)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
