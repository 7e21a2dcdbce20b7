"""A PDF's text layer (pypdf) and, for pages without one, the page as an image (PDFium)."""

from __future__ import annotations

import io

from PIL import Image

# A page whose text layer holds fewer characters than this is a scan (or a
# photo in a PDF): it goes to OCR instead.
MIN_TEXT_CHARS = 20


def page_texts(data: bytes) -> list[str]:
    """The text layer of every page, in order ("" for a page without one)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    texts = []
    for page in reader.pages:
        try:
            texts.append(page.extract_text() or "")
        except Exception:  # noqa: BLE001  a broken content stream is a page without text
            texts.append("")
    return texts


def has_text(text: str) -> bool:
    return sum(1 for c in text if not c.isspace()) >= MIN_TEXT_CHARS


def render_page(data: bytes, index: int, *, dpi: int, max_pixels: int) -> Image.Image:
    """Page `index` as a greyscale image at `dpi`, scaled down to stay under max_pixels."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[index]
        width_pt, height_pt = page.get_size()
        scale = dpi / 72
        pixels = width_pt * scale * height_pt * scale
        if pixels > max_pixels:
            scale *= (max_pixels / pixels) ** 0.5
        bitmap = page.render(scale=scale, grayscale=True)
        image = bitmap.to_pil()
        image.load()
        page.close()
        return image
    finally:
        pdf.close()
