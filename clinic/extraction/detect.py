"""What an uploaded file is, decided by its bytes, never by its name.

Only PDF, PNG, JPEG and TIFF are kept. Images are opened header-first, and one
whose pixel count is past the limit (a decompression bomb: a few kilobytes that
would decode to gigabytes) is refused before a single pixel is decoded.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import IO

from PIL import Image, UnidentifiedImageError

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
ALLOWED_TYPES = (PDF, PNG, JPEG, TIFF)
EXTENSIONS = {PDF: "pdf", PNG: "png", JPEG: "jpg", TIFF: "tif"}

_MAGIC = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
)
_PIL_FORMATS = {PNG: "PNG", JPEG: "JPEG", TIFF: "TIFF"}


class RefusedFile(Exception):
    """The file is not one the clinic keeps; `message` says why, for the uploader."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Inspection:
    content_type: str
    pages: int
    width: int = 0
    height: int = 0


def sniff_type(head: bytes) -> str | None:
    """The allowed type these first bytes start, or None."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    # PDF allows a little junk before the header; readers look in the first 1 KB.
    if b"%PDF-" in head[:1024]:
        return PDF
    return None


def inspect_file(stream: IO[bytes], *, max_pixels: int, max_pages: int) -> Inspection:
    """Check that the file is a sound PDF or image within the limits; raise RefusedFile."""
    stream.seek(0)
    head = stream.read(1024)
    stream.seek(0)
    content_type = sniff_type(head)
    if content_type is None:
        raise RefusedFile(
            "Only PDF, PNG, JPEG and TIFF files can be uploaded; this file is none"
            " of them, whatever its name says.",
            code="type",
        )
    if content_type == PDF:
        return _inspect_pdf(stream, max_pages=max_pages)
    return _inspect_image(
        stream, content_type, max_pixels=max_pixels, max_pages=max_pages
    )


def _inspect_image(
    stream: IO[bytes], content_type: str, *, max_pixels: int, max_pages: int
) -> Inspection:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(stream, formats=[_PIL_FORMATS[content_type]])
            width, height = image.size
            if width * height > max_pixels:
                raise RefusedFile(
                    f"The image is {width}x{height} pixels; at most {max_pixels:,}"
                    " pixels are accepted.",
                    code="too_many_pixels",
                )
            frames = getattr(image, "n_frames", 1)
            if frames > max_pages:
                raise RefusedFile(
                    f"The image has {frames} pages; at most {max_pages} are accepted.",
                    code="too_many_pages",
                )
            image.verify()
    except RefusedFile:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise RefusedFile(
            "The image would decode to more pixels than are accepted.",
            code="too_many_pixels",
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise RefusedFile(
            "The image is damaged or incomplete.", code="damaged"
        ) from exc
    finally:
        stream.seek(0)
    return Inspection(content_type, pages=frames, width=width, height=height)


def _inspect_pdf(stream: IO[bytes], *, max_pages: int) -> Inspection:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(stream, strict=False)
        if reader.is_encrypted:
            raise RefusedFile(
                "The PDF is encrypted; upload it without a password.", code="encrypted"
            )
        pages = len(reader.pages)
    except RefusedFile:
        raise
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as exc:
        raise RefusedFile("The PDF is damaged or incomplete.", code="damaged") from exc
    finally:
        stream.seek(0)
    if pages < 1:
        raise RefusedFile("The PDF has no pages.", code="damaged")
    if pages > max_pages:
        raise RefusedFile(
            f"The PDF has {pages} pages; at most {max_pages} are accepted.",
            code="too_many_pages",
        )
    return Inspection(PDF, pages=pages)


def open_bytes(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
