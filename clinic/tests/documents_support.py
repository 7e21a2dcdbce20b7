"""Files the document tests make themselves: cards drawn with Pillow, PDFs, bombs."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from clinic.models import Document, Patient
from clinic.tests.factories import PatientFactory
from portal.models import Membership, Role, User
from portal.services import membership_grant, user_create

MEMBER_ID = "XQJ482913307"
GROUP = "88231"
PAYER = "Acme Health Plan"


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def card_image(
    *, member_id: str = MEMBER_ID, group: str = GROUP, payer: str = PAYER, poor=False
) -> Image.Image:
    """An insurance card, as a phone would photograph it (or a bad photo of one)."""
    image = Image.new("RGB", (1012, 638), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1011, 110), fill=(230, 238, 250))
    draw.text((40, 30), payer, fill="black", font=font(48))
    draw.text((40, 190), f"Member ID: {member_id}", fill="black", font=font(40))
    draw.text((40, 270), f"Group: {group}", fill="black", font=font(40))
    draw.text((40, 350), "Subscriber: JANE Q PUBLIC", fill="black", font=font(36))
    draw.text((40, 520), "Rx BIN 610014  PCN MEDDPRIME", fill="black", font=font(30))
    if poor:
        # Thumbnail-sized, blurred and washed out: what a shaky, dim photo gives.
        image = image.resize((150, 95)).filter(ImageFilter.GaussianBlur(1.6))
        image = Image.blend(image, Image.new("RGB", image.size, "white"), 0.55)
    return image


def image_bytes(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=92)
    else:
        image.save(out, fmt)
    return out.getvalue()


def text_pdf(lines: list[str]) -> bytes:
    """A PDF with a real text layer (as a lab's system or an EHR prints one)."""
    from fpdf import FPDF

    pdf = FPDF(format="letter")
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    for line in lines:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


LAB_LINES = [
    "Riverside Reference Laboratory",
    "Patient: Jane Q Public   DOB: 01/02/1980",
    "Collection date: 03/14/2026",
    "Test  Result  Units  Range",
    "Hemoglobin A1c 6.1 % 4.0-5.6",
    "Glucose 104 mg/dL 70-99",
    "LDL Cholesterol 131 mg/dL 0-99",
]


def scanned_pdf(image: Image.Image) -> bytes:
    """A PDF holding only a picture of a page (what a scanner makes)."""
    out = io.BytesIO()
    image.convert("RGB").save(out, "PDF", resolution=150)
    return out.getvalue()


def lab_page_image() -> Image.Image:
    image = Image.new("L", (1275, 1650), 255)
    draw = ImageDraw.Draw(image)
    y = 100
    for line in LAB_LINES:
        draw.text((100, y), line, fill=0, font=font(34))
        y += 70
    return image


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG that declares a huge picture: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width // 8 + 1) * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", rows)
        + chunk(b"IEND", b"")
    )


# A Windows executable's first bytes ("MZ", the DOS stub), however it is named.
EXECUTABLE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
)


def upload(name: str, data: bytes, content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def member(clinic, role: str, tag: str = "") -> Membership:
    """A member of `clinic` with `role` (inside the test's transaction)."""
    email = f"{role}{tag}@{clinic.slug}.docs.test"
    user = User.objects.filter(email=email).first() or user_create(
        email=email,
        password="a-long-test-password-1",
        full_name=f"{role} {tag}".strip(),
    )
    membership = Membership.objects.filter(user=user, clinic=clinic).first()
    return membership or membership_grant(user=user, clinic=clinic, role=role)


ALL_ROLES = (Role.ADMIN, Role.CLINICIAN, Role.FRONT_DESK, Role.BILLING)


@pytest.fixture
def media(settings, tmp_path):
    """Documents are stored under a folder of this test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(name="patient")
def patient_fixture(in_clinic) -> Patient:
    return PatientFactory(
        first_name="Jane", last_name="Public", date_of_birth=date(1980, 1, 2)
    )


def stored_files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def make_document(
    actor, patient, kind=Document.Kind.INSURANCE_CARD, data=None, name="card.png"
):
    from clinic.services.documents import document_upload

    return document_upload(
        actor=actor,
        patient=patient,
        kind=kind,
        file=upload(
            name, data if data is not None else image_bytes(card_image(), "PNG")
        ),
    )
