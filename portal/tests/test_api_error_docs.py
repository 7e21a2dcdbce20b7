"""The API schema documents the error answers the endpoints give."""

from __future__ import annotations

import pytest
from django.test import Client

JSON = "application/json"


@pytest.fixture
def schema(clinic) -> dict:
    return Client(HTTP_HOST="alpha.localhost").get("/api/schema/?format=json").json()


def _codes(schema: dict, path: str, method: str) -> set[str]:
    return set(schema["paths"][path][method]["responses"])


def test_every_error_answer_of_every_operation_has_a_json_body(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, answer in operation["responses"].items():
                if code >= "400":
                    assert JSON in answer.get("content", {}), (method, path, code)


def test_operations_document_token_refusals_rate_limits_and_body_errors(schema):
    for path in schema["paths"]:
        for method, operation in schema["paths"][path].items():
            codes = set(operation["responses"])
            if operation.get("security"):
                assert {"401", "403"} <= codes, (method, path)
            else:
                assert "429" in codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= codes, (method, path)


def test_rows_named_in_the_path_document_404_and_lists_an_invalid_cursor(schema):
    assert "404" in _codes(schema, "/api/v1/patients/{id}/", "get")
    assert "404" in _codes(schema, "/api/v1/providers/{id}/slots/", "get")
    for path in ("/api/v1/patients/", "/api/v1/appointments/", "/api/v1/providers/"):
        answer = schema["paths"][path]["get"]["responses"]["400"]
        assert "Invalid cursor." in answer["description"], path


def test_appointment_writes_document_their_conflicts(schema):
    assert "409" in _codes(schema, "/api/v1/appointments/", "post")
    assert "409" in _codes(schema, "/api/v1/appointments/{id}/reschedule/", "post")
