"""Workflow field definitions and their JSON Schema.

Clinic admins describe extra patient fields as a list of
{name, label, type, required, choices}; we keep them as a JSON Schema and
validate each patient's `fields` against it.
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import lru_cache

from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator, FormatChecker

from portal.limits import DATE_RANGE_MESSAGE, NUL_MESSAGE, contains_nul, date_in_range

FIELD_TYPES = {
    "text": {"type": "string", "maxLength": 500},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "choice": {"type": "string"},
}
FIELD_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


def schema_from_fields(fields: list[dict]) -> dict:
    """Build the JSON Schema for a list of field definitions, refusing bad ones."""
    properties: dict[str, dict] = {}
    required: list[str] = []
    errors: list[str] = []
    for index, field in enumerate(fields):
        name = str(field.get("name", ""))
        kind = field.get("type", "text")
        if not FIELD_NAME_RE.match(name):
            errors.append(
                f"Field {index + 1}: names use lowercase letters, digits and _."
            )
            continue
        if name in properties:
            errors.append(f"Field '{name}' is defined twice.")
            continue
        if kind not in FIELD_TYPES:
            errors.append(f"Field '{name}': unknown type '{kind}'.")
            continue
        prop = {
            **FIELD_TYPES[kind],
            "title": field.get("label") or name.replace("_", " ").capitalize(),
        }
        if kind == "choice":
            choices = [str(c) for c in field.get("choices") or [] if str(c).strip()]
            if not choices:
                errors.append(f"Field '{name}': a choice field needs choices.")
                continue
            prop["enum"] = choices
        properties[name] = prop
        if field.get("required"):
            required.append(name)
    if errors:
        raise ValidationError({"fields_schema": errors})
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
        # jsonb does not keep key order; the order staff chose is kept here.
        "x-order": list(properties),
    }


def fields_from_schema(schema: dict) -> list[dict]:
    """The field definitions behind a schema, for forms and display."""
    required = set(schema.get("required", []))
    properties = schema.get("properties") or {}
    order = [n for n in schema.get("x-order", []) if n in properties]
    order += [n for n in properties if n not in order]
    out = []
    for name in order:
        prop = properties[name]
        if "enum" in prop:
            kind = "choice"
        elif prop.get("format") == "date":
            kind = "date"
        else:
            kind = {"string": "text"}.get(prop.get("type"), prop.get("type", "text"))
        out.append(
            {
                "name": name,
                "label": prop.get("title", name),
                "type": kind,
                "required": name in required,
                "choices": prop.get("enum", []),
            }
        )
    return out


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), format_checker=FormatChecker())


def validate_fields(schema: dict, values: object) -> dict[str, list[str]]:
    """Errors keyed by workflow field name (empty when the values fit the schema)."""
    if not schema:
        return {} if not values else {"fields": ["This workflow has no extra fields."]}
    if not isinstance(values, dict):
        return {"fields": ["Expected an object of workflow field values."]}
    # jsonb cannot hold NUL, in a key or in any string inside a value.
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if contains_nul(name) or contains_nul(value):
            key = name.replace("\x00", "") or "fields"
            errors.setdefault(key, []).append(NUL_MESSAGE)
    if errors:
        return errors
    validator = _validator(json.dumps(schema, sort_keys=True))
    for error in validator.iter_errors(values):
        if error.validator == "required":
            missing = error.message.split("'")[1]
            errors.setdefault(missing, []).append(
                "This field is required by the workflow."
            )
        elif error.validator == "additionalProperties":
            for extra in sorted(set(values) - set(schema.get("properties", {}))):
                errors.setdefault(extra, []).append("Not a field of this workflow.")
        elif error.path:
            name = str(error.path[0])
            errors.setdefault(name, []).append(_friendly(error))
        else:
            errors.setdefault("fields", []).append(error.message)
    for name, prop in (schema.get("properties") or {}).items():
        if prop.get("format") == "date" and name not in errors:
            if not _supported_date_text(values.get(name)):
                errors[name] = [DATE_RANGE_MESSAGE]
    return errors


def _supported_date_text(value: object) -> bool:
    """False only for a well-formed date outside the supported range."""
    if not isinstance(value, str):
        return True
    try:
        return date_in_range(date.fromisoformat(value))
    except ValueError:
        return True  # the schema's format check has its own message for these


def _friendly(error) -> str:
    if error.validator == "enum":
        return "Choose one of: " + ", ".join(map(str, error.validator_value)) + "."
    if error.validator == "format" and error.validator_value == "date":
        return "Enter a date as YYYY-MM-DD."
    if error.validator == "type":
        return f"Expected a {error.validator_value}."
    return error.message
