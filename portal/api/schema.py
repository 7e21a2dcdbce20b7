"""The error answers of the partner API, documented once for every endpoint.

`ClinicAutoSchema` (REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS) adds to each
operation the errors it can give, read off the operation itself:

- 400 with field errors when it takes a body or query parameters (a list's
  `cursor` included: `{"cursor": ["Invalid cursor."]}`);
- 401 and 403 when it needs a token: none or a bad one, or a role or rule
  that refuses the action;
- 404 when its path names a row (missing, or another clinic's);
- 413 and 415 when it takes a body: over `API_MAX_JSON_BYTES`, or not JSON;
- 429 when it is open to anyone: the sign-in endpoints share a budget of
  attempts per client address.

What a view documents itself stays (a 409 with the conflicts, a bulk import's
rows); an error it documents without a body gets the shared body here.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from portal.limits import DATE_RANGE_MESSAGE


class ApiErrorSerializer(serializers.Serializer):
    """An error that is no field's fault."""

    detail = serializers.CharField(help_text="What went wrong, for a person to read.")
    code = serializers.CharField(
        required=False, help_text="A machine-readable reason (bad tokens)."
    )
    messages = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="The token checks that failed (bad tokens).",
    )


class FieldErrorsSerializer(serializers.Serializer):
    """Field errors; documented by FieldErrorsExtension (its keys are the fields)."""


class FieldErrorsExtension(OpenApiSerializerExtension):
    target_class = FieldErrorsSerializer

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict:
        return {
            "type": "object",
            "description": (
                "Each invalid input's name with its messages. A patient's workflow "
                "fields nest under `fields`; errors of no one field come under "
                "`non_field_errors`, and a body that is not valid JSON (too deep, "
                "a number out of range) under `detail`."
            ),
            "additionalProperties": {
                "anyOf": [
                    {"type": "array", "items": {}},
                    {"type": "object"},
                    {"type": "string"},
                ]
            },
            "example": {
                "date_of_birth": [DATE_RANGE_MESSAGE],
                "fields": {"referral": ["This field is required by the workflow."]},
            },
        }


FIELD_ERRORS = OpenApiResponse(
    FieldErrorsSerializer, description="Invalid input: field errors, nothing written."
)
INVALID_QUERY = OpenApiResponse(
    FieldErrorsSerializer,
    description="Invalid query parameters: field errors. A `cursor` not taken from "
    'a `next` or `previous` link is `{"cursor": ["Invalid cursor."]}`.',
)
UNAUTHENTICATED = OpenApiResponse(
    ApiErrorSerializer,
    description="No token, or one that is invalid, expired or another clinic's.",
)
FORBIDDEN = OpenApiResponse(
    ApiErrorSerializer,
    description="The token is valid, but the user's role or the clinic's rules do "
    "not allow this.",
)
NOT_FOUND = OpenApiResponse(
    ApiErrorSerializer, description="No such row in this clinic."
)
TOO_LARGE = OpenApiResponse(
    ApiErrorSerializer,
    description="The body is larger than the server accepts (API_MAX_JSON_BYTES, "
    "1 MB by default); nothing was read or written.",
)
NOT_JSON = OpenApiResponse(
    ApiErrorSerializer, description="The body is not `application/json`."
)
TOO_MANY = OpenApiResponse(
    ApiErrorSerializer,
    description="Too many attempts from this address; see `Retry-After`.",
)


class ClinicAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus the shared error answers (see above)."""

    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: ComponentRegistry,
    ) -> dict[str, Any] | None:
        operation = super().get_operation(
            path, path_regex, path_prefix, method, registry
        )
        if operation is None:
            return None
        responses = operation["responses"]
        for code, answer in _common_errors(operation).items():
            if code not in responses:
                responses[code] = self._get_response_for_code(answer, code)
        for code, response in responses.items():
            if code >= "400" and "content" not in response:
                body = FieldErrorsSerializer if code == "400" else ApiErrorSerializer
                documented = OpenApiResponse(
                    body, description=response.get("description", "")
                )
                responses[code] = self._get_response_for_code(documented, code)
        operation["responses"] = dict(sorted(responses.items()))
        return operation


def _common_errors(operation: dict[str, Any]) -> dict[str, OpenApiResponse]:
    """The shared error answers an operation can give, by status code."""
    places = {parameter.get("in") for parameter in operation.get("parameters", [])}
    takes_body = "requestBody" in operation
    answers: dict[str, OpenApiResponse] = {}
    if takes_body:
        answers["400"] = FIELD_ERRORS
    elif "query" in places:
        answers["400"] = INVALID_QUERY
    if operation.get("security"):
        answers["401"] = UNAUTHENTICATED
        answers["403"] = FORBIDDEN
    else:
        answers["429"] = TOO_MANY
    if "path" in places:
        answers["404"] = NOT_FOUND
    if takes_body:
        answers["413"] = TOO_LARGE
        answers["415"] = NOT_JSON
    return answers
