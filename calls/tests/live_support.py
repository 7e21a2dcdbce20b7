"""The whole texting stack for the end-to-end tests: simulator, web server, a real Celery worker.

Each process runs as `make run` runs it (uvicorn on portal.asgi, `celery -A
portal worker --concurrency 2`) against the test database and the test run's
Redis, with PORTAL_PUBLIC_URL naming the test server, so the simulator's signed
callbacks and inbound texts reach it and pass its signature check. What those
processes must see is committed: the tests write outside any transaction and
`texting_wiped` removes everything of this app afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import pytest
from django.db import connection

from calls.simulator import CarrierSimulator
from clinic.tests.browser_support import ROOT, database_url, free_port


def wait_until(
    predicate: Callable[[], object], *, timeout: float, what: str, every: float = 0.1
):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


@dataclass
class Live:
    sim: CarrierSimulator
    env: dict[str, str]
    logs: Path
    server_url: str = ""
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    restarts: int = 0

    def start_server(self) -> str:
        port = int(self.env["PORTAL_PUBLIC_URL"].rsplit(":", 1)[1])
        self._spawn(
            "web",
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
                "--lifespan",
                "off",
            ],
        )
        deadline = time.monotonic() + 30
        while True:
            self._alive("web")
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
                raise AssertionError(
                    "the web server did not answer:\n" + self.log("web")
                )
            time.sleep(0.2)
        self.server_url = f"http://alpha.localhost:{port}"
        return self.server_url

    def start_worker(self) -> None:
        name = f"sms-test-{uuid4().hex[:6]}-{self.restarts}"
        self.restarts += 1
        self._spawn(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--concurrency",
                "2",
                "--pool",
                "prefork",
                "--loglevel",
                "INFO",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
        )
        wait_until(
            lambda: self._alive("worker") and " ready." in self.log("worker"),
            timeout=60,
            what="the Celery worker to be ready",
            every=0.2,
        )

    def kill_worker(self) -> None:
        """SIGKILL, no warning: the worker and its pool processes die where they stand."""
        process = self.processes.pop("worker")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=10)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _spawn(self, name: str, argv: list[str]) -> None:
        out = (self.logs / f"{name}.log").open("a")
        self.processes[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _alive(self, name: str) -> bool:
        process = self.processes[name]
        if process.poll() is not None:
            raise AssertionError(
                f"{name} exited ({process.returncode}):\n" + self.log(name)[-3000:]
            )
        return True


def purge_broker() -> None:
    from portal.celery import app

    app.control.purge()


@pytest.fixture
def live(committed, settings, tmp_path) -> Iterator[Live]:
    """Simulator in this process; web server and worker started by the test as it needs them.

    It stands on `committed`, so the processes are stopped before the rows they
    write to are removed.
    """
    port = free_port()
    sim = CarrierSimulator(
        account_sid=settings.TWILIO_ACCOUNT_SID,
        auth_token=settings.TWILIO_AUTH_TOKEN,
        port=0,
        step_delay=0.05,
    ).start()
    public = f"http://localhost:{port}"
    settings.PORTAL_PUBLIC_URL = public
    settings.TWILIO_API_BASE = sim.url
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PORTAL_DOMAIN": "localhost",
        "PORTAL_PUBLIC_URL": public,
        "TWILIO_API_BASE": sim.url,
        "TWILIO_ACCOUNT_SID": settings.TWILIO_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": settings.TWILIO_AUTH_TOKEN,
        "TWILIO_HTTP_TIMEOUT_SECONDS": "2",
        "SMS_RECONCILE_AFTER_SECONDS": "6",
        "DEBUG": "false",
        "CACHE_KEY_PREFIX": f"test_sms_{uuid4().hex[:6]}",
        "PASSWORD_HASHERS": ",".join(settings.PASSWORD_HASHERS),
        "CONN_MAX_AGE": "0",
        "WEB_PROCESSES": "1",
    }
    purge_broker()
    stack = Live(sim=sim, env=env, logs=tmp_path)
    try:
        yield stack
    finally:
        stack.stop()
        sim.stop()
        purge_broker()


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Autocommit access to the test database, in alpha's schema; everything of texting
    and what the test made in alpha is removed afterwards."""
    from auditlog.context import disable_auditlog

    from clinic.models import AuditEntry
    from portal.models import Clinic

    made: dict[str, list] = {
        "patients": [],
        "providers": [],
        "types": [],
        "locations": [],
    }
    with django_db_blocker.unblock():
        alpha = Clinic.objects.get(slug="alpha")
        connection.set_tenant(alpha)
        audit_from = (
            AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        )
        try:
            yield made
        finally:
            connection.set_tenant(alpha)
            with disable_auditlog():
                texting_wiped(made)
            AuditEntry.objects.filter(id__gt=audit_from).delete()
            connection.set_schema_to_public()


def texting_wiped(made: dict[str, list]) -> None:
    """Remove every row of this app in the current clinic, and the schedule the test made."""
    from calls.models import (
        ConsentEvent,
        Conversation,
        Message,
        MessageEvent,
        MessageTemplate,
        Reminder,
        ReminderPolicy,
        ReminderTypePolicy,
        SmsOptOut,
        WaitlistOffer,
        WaitlistOfferRecipient,
    )
    from clinic.models import Appointment, AppointmentEvent, Patient, WaitlistEntry

    WaitlistOfferRecipient.objects.all().delete()
    WaitlistOffer.objects.all().delete()
    MessageEvent.objects.all().delete()
    Reminder.objects.update(reply=None)
    Message.objects.all().delete()
    Reminder.objects.all().delete()
    Conversation.objects.all().delete()
    ConsentEvent.objects.all().delete()
    SmsOptOut.objects.all().delete()
    MessageTemplate.objects.all().delete()
    ReminderTypePolicy.objects.all().delete()
    ReminderPolicy.objects.all().delete()
    patients = [p.pk for p in made["patients"]]
    providers = [p.pk for p in made["providers"]]
    appointments = Appointment.objects.filter(
        patient_id__in=patients
    ) | Appointment.objects.filter(provider_id__in=providers)
    AppointmentEvent.objects.filter(appointment__in=appointments).delete()
    AppointmentEvent.objects.filter(old_provider_id__in=providers).delete()
    appointments.delete()
    WaitlistEntry.objects.filter(patient_id__in=patients).delete()
    Patient.objects.filter(pk__in=patients).delete()
    for kind in ("types", "providers", "locations"):
        for row in made[kind]:
            type(row).objects.filter(pk=row.pk).delete()
