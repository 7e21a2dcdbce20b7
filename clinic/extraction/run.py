"""One document's extraction: text layer or OCR, page by page, then its fields."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

from PIL import Image, ImageSequence

from clinic.extraction import fields as field_parsers
from clinic.extraction import ocr, pdf
from clinic.extraction.detect import PDF
from clinic.extraction.lines import Line, lines_from_text, mean_confidence, text_of

TEXT_LAYER = "text_layer"
OCR = "ocr"
MIXED = "text_layer+ocr"


@dataclass
class Extraction:
    text: str
    method: str
    pages: int
    ocr_pages: int
    fields: dict[str, dict] = field(default_factory=dict)
    # Tesseract's mean word confidence over the OCR'd pages (100 for a text layer).
    text_confidence: float | None = None

    @property
    def confidence(self) -> float | None:
        """The document's confidence: its least sure field, or its text's mean."""
        if self.fields:
            return min(f["confidence"] for f in self.fields.values())
        return self.text_confidence

    def problems(self, threshold: float) -> list[str]:
        """Why a person should look at this extraction (empty: nothing to review)."""
        out = []
        for name, result in self.fields.items():
            label = field_parsers.LABELS.get(name, name)
            if not result["valid"]:
                out.append(f"{label}: {result['problem']}")
            elif result["confidence"] < threshold:
                out.append(f"{label}: read with {result['confidence']:g}% confidence.")
        if not self.fields:
            if self.text_confidence is None:
                out.append("No text was found.")
            elif self.text_confidence < threshold:
                out.append(f"Text read with {self.text_confidence:g}% confidence.")
        return out


def extract(
    data: bytes,
    *,
    content_type: str,
    kind: str,
    today: date,
    payer_names: tuple[str, ...] | list[str] = (),
    dpi: int = 300,
    max_pixels: int = 40_000_000,
) -> Extraction:
    """The text of a PDF or image, and the fields of its kind."""
    all_lines: list[Line] = []
    ocr_lines: list[Line] = []
    pages = ocr_pages = 0
    if content_type == PDF:
        for index, text in enumerate(pdf.page_texts(data)):
            pages += 1
            if pdf.has_text(text):
                all_lines.extend(lines_from_text(text))
                continue
            image = pdf.render_page(data, index, dpi=dpi, max_pixels=max_pixels)
            page_lines = ocr.ocr_lines(image)
            ocr_pages += 1
            ocr_lines.extend(page_lines)
            all_lines.extend(page_lines)
    else:
        with Image.open(io.BytesIO(data)) as image:
            for frame in ImageSequence.Iterator(image):
                pages += 1
                page_lines = ocr.ocr_lines(frame.copy())
                ocr_pages += 1
                ocr_lines.extend(page_lines)
                all_lines.extend(page_lines)
    if ocr_pages == 0:
        method, confidence = TEXT_LAYER, mean_confidence(all_lines)
    else:
        method = OCR if ocr_pages == pages else MIXED
        confidence = mean_confidence(ocr_lines)
    return Extraction(
        text=text_of(all_lines),
        method=method,
        pages=pages,
        ocr_pages=ocr_pages,
        fields=field_parsers.fields_for(
            kind, all_lines, today=today, payer_names=payer_names
        ),
        text_confidence=confidence,
    )


def preview_png(
    data: bytes, *, content_type: str, page: int, max_pixels: int, dpi: int = 110
) -> bytes:
    """Page `page` (0-based) of the document as a PNG a browser shows."""
    if content_type == PDF:
        image = pdf.render_page(data, page, dpi=dpi, max_pixels=max_pixels)
    else:
        with Image.open(io.BytesIO(data)) as source:
            source.seek(page)
            image = source.copy()
        image.thumbnail((1600, 1600))
        if image.mode not in ("L", "RGB", "RGBA"):
            image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
