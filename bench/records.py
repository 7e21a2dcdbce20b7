"""Records benchmark: documents extracted per minute by one worker host.

Run from the repository root with the services up (``make services``):

    .venv/bin/python bench/records.py [--text-pdfs 400] [--scanned-pages 40]
                                      [--concurrency 2] [--sections extraction,dashboard]

It works in the development database (DATABASE_URL) inside a clinic of its own
(slug ``bench-records``), with files under var/bench-records-media and Celery on
a Redis database of its own (BENCH_RECORDS_REDIS_URL, default db 12 of
REDIS_URL's server), so a running `make run` worker takes none of its tasks.

Extraction section: one worker host is a real `celery worker` with
`--concurrency` processes (one per core, as `make run` starts it). Each phase
uploads its documents through the upload service in one transaction, so every
extraction task is queued at its commit; the clock runs from that commit until
the last document has settled (processed, needs review or failed), polled in
the database. Text PDFs (one page with a text layer, pypdf) and scanned pages
(a one-page PDF holding only a 200 dpi picture of a lab report, OCR'd by
Tesseract at DOCUMENT_OCR_DPI) are measured apart. Budgets on 2 cores: 200 text
PDFs and 20 scanned pages a minute. The bench's documents are removed at the end.

Dashboard section (bench/_records_dashboard.py, clinic ``bench-dashboard``):
the clinic home's figures on 100,000 patients, 150,000 appointments and 50,000
tasks, p95 beside the floor (the same queries through psycopg); budgets p95 at
most 150 ms and at most 4x the floor. ``--sections`` picks sections (default:
both).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# The repository root, not bench/ (whose modules' names may shadow the standard library's).
sys.path = [str(ROOT)] + [
    p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"
]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def _own_redis() -> str:
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, "/12", "", ""))


BENCH_REDIS = os.environ.get("BENCH_RECORDS_REDIS_URL") or _own_redis()
MEDIA = ROOT / "var" / "bench-records-media"
# Before Django reads its settings: this process and the worker share these.
os.environ["REDIS_URL"] = BENCH_REDIS
os.environ["CELERY_BROKER_URL"] = BENCH_REDIS
os.environ["MEDIA_ROOT"] = str(MEDIA)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from portal.models import Clinic, Membership, User  # noqa: E402

SLUG = "bench-records"
ADMIN_EMAIL = "admin@bench-records.test"
PASSWORD = "bench-records-password-1"


# --- The bench clinic ---------------------------------------------------------------


def ensure_clinic() -> tuple[Clinic, Membership]:
    from portal.services import (
        clinic_ensure_public,
        clinic_ensure_template,
        clinic_provision,
    )

    clinic_ensure_public()
    clinic_ensure_template()
    clinic = Clinic.objects.filter(slug=SLUG).first()
    if clinic is None:
        clinic = clinic_provision(
            slug=SLUG,
            name="Records Benchmark Clinic",
            admin_email=ADMIN_EMAIL,
            admin_password=PASSWORD,
            timezone_name="America/New_York",
            password_expiry_days=0,
        )
    user = User.objects.get(email=ADMIN_EMAIL)
    membership = Membership.objects.get(user=user, clinic=clinic)
    membership.user = user
    return clinic, membership


# --- Files ---------------------------------------------------------------------------

TESTS = [
    ("Hemoglobin A1c", "%", "4.0-5.6"),
    ("Glucose", "mg/dL", "70-99"),
    ("LDL Cholesterol", "mg/dL", "0-99"),
    ("HDL Cholesterol", "mg/dL", "40-60"),
    ("Triglycerides", "mg/dL", "0-149"),
    ("Creatinine", "mg/dL", "0.6-1.3"),
    ("Sodium", "mmol/L", "135-145"),
    ("Potassium", "mmol/L", "3.5-5.1"),
    ("TSH", "mIU/L", "0.4-4.0"),
    ("Hemoglobin", "g/dL", "12.0-16.0"),
]


def lab_lines(n: int) -> list[str]:
    lines = [
        "Riverside Reference Laboratory - Final Report",
        f"Patient: Bench Patient {n}   DOB: 01/02/1980   Account: {100000 + n}",
        "Ordering provider: Dr. Ann Able, MD   NPI 1234567893",
        f"Collection date: {(n % 12) + 1:02d}/{(n % 27) + 1:02d}/2025",
        "Received: same day   Reported: next day",
        "Test  Result  Units  Reference range",
    ]
    for i, (name, unit, ref) in enumerate(TESTS):
        lines.append(f"{name} {((n + i) % 90) + 10}.{i} {unit} {ref}")
    lines += [
        "Comments: specimen received in good condition. Fasting 10 hours.",
        "Results flagged H or L are outside the reference range.",
        "This report was generated electronically and is valid without a signature.",
    ]
    return lines


def text_pdf(lines: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="letter")
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    for line in lines:
        pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def scanned_page_pdf(lines: list[str]) -> bytes:
    """A letter page at 200 dpi holding only a picture of the text (a scanner's PDF)."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=30)
    y = 150
    for line in lines:
        draw.text((120, y), line, fill=0, font=font)
        y += 52
    out = io.BytesIO()
    image.save(out, "PDF", resolution=200)
    return out.getvalue()


# --- Worker ---------------------------------------------------------------------------


class Worker:
    """`celery -A portal worker` as `make run` starts it, on the bench's Redis db."""

    def __init__(self, concurrency: int) -> None:
        self.log = ROOT / "var" / "bench-records-worker.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable, "-m", "celery", "-A", "portal", "worker",
            "--concurrency", str(concurrency), "--loglevel", "WARNING",
            "-n", f"bench-records-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        self.handle = self.log.open("w")
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env={**os.environ}, stdout=self.handle,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def cpu_seconds(self) -> float:
        """CPU time of the worker's processes and the Tesseract runs they waited for."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == self.process.pid:  # session id: the worker's own
                total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        return total / tick

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.handle.close()


def warm_up(membership: Membership, patient, timeout: float = 120) -> None:
    """One document through the worker, so its processes are up and imported."""
    ids = upload_batch(membership, patient, [("warm.pdf", text_pdf(lab_lines(0)))])
    wait_settled(ids, timeout=timeout)


def upload_batch(
    membership: Membership, patient, files: list[tuple[str, bytes]]
) -> list[int]:
    """Upload in one transaction: every extraction task is queued at its commit."""
    import io

    from clinic.models import Document
    from clinic.services.documents import document_upload

    with transaction.atomic():
        return [
            document_upload(
                actor=membership,
                patient=patient,
                kind=Document.Kind.LAB_RESULT,
                file=io.BytesIO(data),
                original_name=name,
            ).pk
            for name, data in files
        ]


def wait_settled(ids: list[int], *, timeout: float) -> dict[str, int]:
    from django.db.models import Count

    from clinic.models import Document

    deadline = time.monotonic() + timeout
    while True:
        rows = Document.objects.filter(pk__in=ids)
        pending = rows.filter(status__in=["uploaded", "processing"]).count()
        if pending == 0:
            return dict(rows.values_list("status").annotate(n=Count("id")).order_by())
        if time.monotonic() > deadline:
            raise SystemExit(
                f"timed out: {pending} of {len(ids)} documents not settled"
            )
        time.sleep(0.05)


def phase(
    name: str, worker: Worker, membership, patient, files: list[tuple[str, bytes]],
    budget: float, cores: int,
) -> dict:  # fmt: skip
    started = time.perf_counter()
    ids = upload_batch(membership, patient, files)
    queued = time.perf_counter()
    cpu_before = worker.cpu_seconds()
    statuses = wait_settled(ids, timeout=max(600.0, len(files) * 10.0))
    elapsed = time.perf_counter() - queued
    cpu = worker.cpu_seconds() - cpu_before
    per_minute = len(files) / elapsed * 60
    # What the same work needs of the CPU: on `cores` cores of its own, a host
    # extracts this many a minute (the wall figure also holds whatever else the
    # machine was running).
    capacity = cores * 60 / (cpu / len(files)) if cpu else float("inf")
    verdict = "ok" if per_minute >= budget else "OVER BUDGET"
    print(
        f"{name:<24} {len(files):4d} docs in {elapsed:7.2f} s  {per_minute:7.1f}/min wall"
        f"  [budget >= {budget:g}/min: {verdict}]   worker CPU {cpu / len(files) * 1000:7.1f} ms"
        f"/doc = {capacity:7.1f}/min on {cores} idle cores   upload {queued - started:4.2f} s"
        f" (not counted)   {statuses}",
        flush=True,
    )
    return {"name": name, "documents": len(files), "seconds": elapsed, "per_minute": per_minute,
            "cpu_ms_per_doc": cpu / len(files) * 1000, "capacity_per_minute": capacity,
            "statuses": statuses, "budget": budget, "ok": per_minute >= budget}  # fmt: skip


def clean_up(patient) -> None:
    from auditlog.context import disable_auditlog

    from clinic.models import Document, Task, TaskEvent

    with disable_auditlog():
        documents = Document.objects.filter(patient=patient)
        keys = [f"document:{pk}" for pk in documents.values_list("pk", flat=True)]
        TaskEvent.objects.filter(task__source_key__in=keys).delete()
        Task.objects.filter(source_key__in=keys).delete()
        documents.delete()
    shutil.rmtree(MEDIA, ignore_errors=True)


# --- Sections -----------------------------------------------------------------------------


def extraction_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("extraction")
    group.add_argument("--text-pdfs", type=int, default=400)
    group.add_argument("--scanned-pages", type=int, default=40)
    group.add_argument("--concurrency", type=int, default=os.cpu_count() or 2,
                       help="Worker processes (one per core, as make run does).")  # fmt: skip


def extraction_section(args: argparse.Namespace) -> dict:
    from datetime import date

    from clinic.models import Patient
    from portal.celery import app

    load = os.getloadavg()[0]
    print(
        f"== Extraction (load average {load:.1f} at start): one worker host, {args.concurrency} processes, "
        f"{os.cpu_count()} cores, OCR {settings.DOCUMENT_OCR_LANGUAGES} at "
        f"{settings.DOCUMENT_OCR_DPI} dpi, broker {BENCH_REDIS}",
        flush=True,
    )
    clinic, membership = ensure_clinic()
    connection.set_tenant(clinic)
    app.control.purge()
    patient = Patient.objects.create(
        first_name="Bench", last_name="Records", date_of_birth=date(1980, 1, 2)
    )
    text_files = [
        (f"lab-{n}.pdf", text_pdf(lab_lines(n))) for n in range(args.text_pdfs)
    ]
    scanned = [
        (f"scan-{n}.pdf", scanned_page_pdf(lab_lines(n)))
        for n in range(args.scanned_pages)
    ]
    worker = Worker(args.concurrency)
    try:
        warm_up(membership, patient)
        cores = args.concurrency
        results = [
            phase(
                "text PDFs (text layer)",
                worker,
                membership,
                patient,
                text_files,
                200,
                cores,
            ),
            phase(
                "scanned pages (OCR)", worker, membership, patient, scanned, 20, cores
            ),
        ]
    finally:
        worker.stop()
        app.control.purge()
        clean_up(patient)
        Patient.objects.filter(pk=patient.pk).delete()
        connection.set_schema_to_public()
    return {"phases": results}


def dashboard_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("dashboard")
    group.add_argument("--requests", type=int, default=300)
    group.add_argument("--patients", type=int, default=100_000)
    group.add_argument("--appointments", type=int, default=150_000)
    group.add_argument("--tasks", type=int, default=50_000)


def dashboard_section(args: argparse.Namespace) -> dict:
    """The dashboard's p95 beside its floor (bench/_records_dashboard.py)."""
    from bench import _records_dashboard

    rows = _records_dashboard.run(
        requests=args.requests,
        patients=args.patients,
        appointments=args.appointments,
        tasks=args.tasks,
    )
    return {"phases": [{**row, "ok": row["within_budget"]} for row in rows]}


# (name, add its arguments, run it)
SECTIONS: list[tuple[str, Callable[[argparse.ArgumentParser], None], Callable]] = [
    ("extraction", extraction_arguments, extraction_section),
    ("dashboard", dashboard_arguments, dashboard_section),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sections",
        default=",".join(name for name, _, _ in SECTIONS),
        help="Comma-separated sections to run (default: all).",
    )
    for _, add_arguments, _ in SECTIONS:
        add_arguments(parser)
    args = parser.parse_args()
    wanted = {s.strip() for s in args.sections.split(",") if s.strip()}
    unknown = wanted - {name for name, _, _ in SECTIONS}
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    results = {}
    for name, _, run in SECTIONS:
        if name in wanted:
            results[name] = run(args)
    failed = [
        p["name"]
        for section in results.values()
        for p in section.get("phases", [])
        if not p["ok"]
    ]
    if failed:
        print(f"over budget: {', '.join(failed)}")


if __name__ == "__main__":
    main()
