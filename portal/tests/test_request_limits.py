"""Request bodies over API_MAX_JSON_BYTES: 413, read no further, never stored."""

from __future__ import annotations

import asyncio
import json
import tempfile

import pytest
from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from rest_framework.test import APIClient

from clinic.tests.api_support import PATIENTS, client_for, count_patients
from portal.limits import RequestBodyLimitMiddleware

ROW = {"first_name": "Ada", "last_name": "Big", "date_of_birth": "1990-01-01"}
TOO_LARGE = "The request body is too large: at most 1048576 bytes."


@pytest.fixture
def api(clinic, staff_user) -> APIClient:
    return client_for(staff_user, clinic)


def test_a_json_body_over_the_limit_is_refused_with_413_and_never_stored(api, clinic):
    response = api.post(PATIENTS, {**ROW, "address": "x" * 10_000_000}, format="json")

    assert response.status_code == 413
    assert response.json() == {"detail": TOO_LARGE}
    assert count_patients(clinic) == 0


@override_settings(API_MAX_JSON_BYTES=200)
def test_the_limit_comes_from_the_setting_and_covers_the_token_endpoint(clinic):
    anonymous = APIClient(HTTP_HOST="alpha.localhost")
    body = {"email": "a@b.example", "password": "p" * 300}

    response = anonymous.post("/api/v1/auth/token/", body, format="json")

    assert response.status_code == 413
    assert "at most 200 bytes" in response.json()["detail"]


def test_a_staff_form_over_the_limit_is_refused_with_413(staff_client, clinic):
    response = staff_client.post("/patients/new/", {**ROW, "address": "x" * 2_000_000})

    assert response.status_code == 413
    assert response.content.decode() == TOO_LARGE
    assert count_patients(clinic) == 0


def test_multipart_fields_over_djangos_limit_answer_413_not_400(staff_user, clinic):
    # CSRF checks on, as in production: the middleware parses before CSRF does.
    client = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    client.force_login(staff_user)

    response = client.post("/patients/new/", {**ROW, "address": "x" * 2_000_000})

    assert response.status_code == 413
    assert count_patients(clinic) == 0


# --- Bodies without Content-Length (chunked, under ASGI) ------------------------------


def _chunked_scope(path: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"alpha.localhost"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("alpha.localhost", 80),
    }


async def _asgi_post(path: str, chunks: list[bytes]) -> tuple[int, bytes]:
    """Send `chunks` as one chunked body through Django's ASGI handler."""
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # the client stays connected
        return {}

    async def send(message: dict) -> None:
        sent.append(message)

    # As Django's test clients do: the test's connection (its transaction) stays open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        await ASGIHandler()(_chunked_scope(path), receive, send)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    parts = [m for m in sent if m["type"] == "http.response.body"]
    body = b"".join(m.get("body", b"") for m in parts)
    return sent[0]["status"], body


def test_a_chunked_body_over_the_limit_is_refused_with_413(clinic):
    address = "x" * 700_000
    body = json.dumps({**ROW, "address": address + address}).encode()
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]

    status, answer = async_to_sync(_asgi_post)(PATIENTS, chunks)

    assert status == 413
    assert json.loads(answer) == {"detail": TOO_LARGE}
    assert count_patients(clinic) == 0


@pytest.mark.parametrize("size, refused", [(100, False), (1_048_577, True)])
def test_the_middleware_measures_a_chunked_body_itself(size, refused):
    spooled = tempfile.SpooledTemporaryFile()
    spooled.write(b"x" * size)
    spooled.seek(0)
    request = ASGIRequest(_chunked_scope(PATIENTS), spooled)
    seen: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        return HttpResponse(request.body[:1])

    response = RequestBodyLimitMiddleware(view)(request)

    assert (response.status_code == 413) is refused
    assert bool(seen) is not refused
