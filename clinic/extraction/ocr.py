"""OCR through Tesseract (Debian's tesseract-ocr, English and Spanish) and pytesseract.

`image_to_data` gives each word with Tesseract's own confidence; words are
grouped back into the lines Tesseract found, so field parsers read lines and
know how sure Tesseract was of each word they use.
"""

from __future__ import annotations

import os

from django.conf import settings
from PIL import Image, ImageOps

from clinic.extraction.lines import Line, Word

# One Tesseract thread per worker process: a host runs one process per core,
# and OpenMP threads fighting over the same cores make every page slower.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

# Below this many pixels on the short side small print reads poorly (a card
# photographed at about 1000x640 reads best at twice that):
# small images are scaled up first.
MIN_SHORT_SIDE = 1300
MAX_LONG_SIDE = 4000
OCR_TIMEOUT_SECONDS = 180


def ocr_languages() -> str:
    return getattr(settings, "DOCUMENT_OCR_LANGUAGES", "eng+spa")


def prepare(image: Image.Image) -> Image.Image:
    """Greyscale, upright (EXIF), and at a size Tesseract reads well."""
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("L", "1"):
        image = image.convert("L")
    short, long = sorted(image.size)
    if short < MIN_SHORT_SIDE:
        scale = min(MIN_SHORT_SIDE / short, MAX_LONG_SIDE / long)
        if scale > 1:
            image = image.resize(
                (round(image.width * scale), round(image.height * scale)),
                Image.Resampling.LANCZOS,
            )
    return image


def ocr_lines(image: Image.Image, *, languages: str | None = None) -> list[Line]:
    """The words Tesseract reads in the image, as lines, with their confidences."""
    import pytesseract

    data = pytesseract.image_to_data(
        prepare(image),
        lang=languages or ocr_languages(),
        config="--psm 3",
        output_type=pytesseract.Output.DICT,
        # A page that takes this long is not a page Tesseract will read well;
        # the document fails (and can be retried) instead of holding a worker.
        timeout=OCR_TIMEOUT_SECONDS,
    )
    grouped: dict[tuple[int, int, int, int], list[Word]] = {}
    for i, text in enumerate(data["text"]):
        text = (text or "").strip()
        confidence = float(data["conf"][i])
        if not text or confidence < 0:
            continue
        key = (
            data["page_num"][i],
            data["block_num"][i],
            data["par_num"][i],
            data["line_num"][i],
        )
        grouped.setdefault(key, []).append(Word(text, round(confidence, 1)))
    return [Line(tuple(words)) for _, words in sorted(grouped.items())]


def tesseract_version() -> str:
    import pytesseract

    return str(pytesseract.get_tesseract_version())
