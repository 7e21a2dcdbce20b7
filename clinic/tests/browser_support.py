"""What the browser tests share: a uvicorn server on the test database, Chromium.

The server runs in another process, so what it must see is committed: each
browser test makes its own rows (outside any test transaction) and deletes
exactly what it made at the end. Set BROWSER_SCREENSHOTS=<dir> to keep
screenshots of the pages.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]

browser_marks = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{quote(db['NAME'])}"


@pytest.fixture
def server(django_db_setup, tmp_path):
    """uvicorn serving the project on a free port, against the test database.

    Yields the base URL of clinic "alpha" (alpha.localhost:<port>).
    """
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "PORTAL_DOMAIN": "localhost",
        "DEBUG": "false",
        "CACHE_KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "test_pages")
        + "_browser",
        # The test's users are hashed with the fast test hasher.
        "PASSWORD_HASHERS": ",".join(settings.PASSWORD_HASHERS),
        "CONN_MAX_AGE": "0",
    }
    log = (tmp_path / "uvicorn.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "portal.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"uvicorn exited: {(tmp_path / 'uvicorn.log').read_text()}")
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/account/sign-in/",
                    headers={"Host": f"alpha.localhost:{port}"},
                )
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"uvicorn did not answer: {(tmp_path / 'uvicorn.log').read_text()}"
                )
            time.sleep(0.2)
        yield f"http://alpha.localhost:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def launch(playwright):
    """Debian's Chromium, headless (never a downloaded browser)."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
        ],
    )


def csp_violations(page) -> list[str]:
    """Collect what the Content-Security-Policy blocks on `page`, for every page it visits.

    Chromium reports each blocked script, style, connection or frame on the
    console; the list fills as the test goes and should stay empty.
    """
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return violations


def shot(page, name: str, *, full_page: bool = True) -> None:
    """A screenshot in $BROWSER_SCREENSHOTS, when it is set."""
    folder = os.environ.get("BROWSER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


def sign_in(page, base_url: str, email: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto(base_url + "/account/sign-in/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base_url + "/")
