"""Headers and small leaks: CSP, no-store, HSTS behind TLS, reset links, sockets, sessions."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

from channels.testing import WebsocketCommunicator
from django.core import mail
from django.test import Client, override_settings

from conftest import PASSWORD
from portal.models import SecurityEvent


def test_every_page_carries_a_content_security_policy_without_inline_script(
    staff_client,
):
    policy = staff_client.get("/patients/")["Content-Security-Policy"]

    directives = dict(
        part.strip().split(" ", 1) for part in policy.split(";") if part.strip()
    )
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-eval" not in policy


def test_no_page_of_the_portal_has_an_inline_script_or_style_element(
    staff_client, admin_client_alpha
):
    pages = [
        staff_client.get(path)
        for path in (
            "/",
            "/patients/",
            "/schedule/day/",
            "/schedule/week/",
            "/today/",
            "/waitlist/",
        )
    ] + [
        admin_client_alpha.get("/account/security/"),
        Client(HTTP_HOST="alpha.localhost").get("/account/sign-in/"),
        Client(HTTP_HOST="alpha.localhost").get("/api/docs/"),
    ]

    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), page.request[
            "PATH_INFO"
        ]
        assert "<style" not in html, page.request["PATH_INFO"]


def test_pages_and_api_answers_with_phi_are_never_stored(staff_client, clinic):
    api = Client(HTTP_HOST="alpha.localhost")
    for response in (
        staff_client.get("/patients/"),
        staff_client.get("/schedule/week/"),
        api.get("/api/v1/patients/"),  # a 401 is not stored either
    ):
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]


def test_static_files_stay_cacheable(staff_client):
    response = staff_client.get("/static/css/portal.css")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def _settings_behind(env: dict[str, str]) -> str:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings';"
        "from django.conf import settings;"
        "print(settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS,"
        " settings.SESSION_COOKIE_SECURE, settings.SECURE_PROXY_SSL_HEADER)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_behind_a_tls_proxy_the_portal_redirects_to_https_and_sends_hsts():
    assert _settings_behind({"BEHIND_TLS_PROXY": "true"}) == (
        "True 31536000 True ('HTTP_X_FORWARDED_PROTO', 'https')"
    )
    assert _settings_behind({"BEHIND_TLS_PROXY": "false"}).startswith("False 0 False")


@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=31536000,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)
def test_the_redirect_and_hsts_apply_to_clinic_pages(clinic):
    client = Client(HTTP_HOST="alpha.localhost")

    plain = client.get("/account/sign-in/")
    secure = client.get("/account/sign-in/", HTTP_X_FORWARDED_PROTO="https")

    assert plain.status_code == 301
    assert plain["Location"] == "https://alpha.localhost/account/sign-in/"
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")


@override_settings(PORTAL_PUBLIC_URL="https://portal.example.org:8443")
def test_reset_links_use_the_configured_public_url_not_the_requests_host_or_port(
    clinic, staff_user, eager_celery, django_capture_on_commit_callbacks
):
    client = Client(HTTP_HOST="alpha.localhost:1234")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/account/password/reset/", {"email": staff_user.email})

    assert len(mail.outbox) == 1
    assert re.search(
        r"^https://alpha\.portal\.example\.org:8443/account/password/reset/\S+/$",
        mail.outbox[0].body,
        re.M,
    )
    assert ":1234" not in mail.outbox[0].body


def test_opening_another_clinics_host_does_not_sign_the_user_out_at_home(
    clinic, staff_user
):
    home = Client(HTTP_HOST="alpha.localhost")
    home.post("/account/sign-in/", {"email": staff_user.email, "password": PASSWORD})
    elsewhere = Client(HTTP_HOST="beta.localhost")
    elsewhere.cookies = home.cookies  # a shared cookie domain would do this

    assert elsewhere.get("/patients/").status_code == 403
    assert home.get("/patients/").status_code == 200
    refusal = SecurityEvent.objects.get(kind=SecurityEvent.Kind.ACCESS_REFUSED)
    assert (refusal.clinic, refusal.user) == (
        None,
        staff_user,
    )  # for operators, not beta


def _socket_closed_with(origin: bytes | None) -> int | None:
    from portal.asgi import application

    headers = [(b"host", b"alpha.localhost")]
    if origin is not None:
        headers.append((b"origin", origin))

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/events/", headers=headers)
        connected, code = await socket.connect(timeout=5)
        if connected:  # refused sockets are accepted, then closed with their code
            closing = await socket.receive_output(timeout=5)
            return closing.get("code") if closing["type"] == "websocket.close" else None
        return code

    return asyncio.run(scenario())


def test_a_socket_is_refused_unless_it_comes_from_the_clinics_own_origin():
    for origin in (
        b"http://beta.localhost",
        b"http://alpha.localhost.evil.test",
        b"https://evil.test",
        b"null",
        None,
    ):
        assert _socket_closed_with(origin) == 4403, origin
