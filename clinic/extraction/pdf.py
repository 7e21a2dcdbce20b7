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


# Scans below this resolution are still rendered at it: small print needs it.
MIN_OCR_DPI = 150


def _scan_dpi(page) -> float | None:
    """The resolution of the largest picture on the page (a scanner's page image)."""
    import pypdfium2.raw as pdfium_c

    best: tuple[int, float] | None = None
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        meta = obj.get_metadata()
        pixels = meta.width * meta.height
        if meta.horizontal_dpi > 0 and (best is None or pixels > best[0]):
            best = (pixels, float(meta.horizontal_dpi))
    return best[1] if best else None


def render_page(
    data: bytes, index: int, *, dpi: int, max_pixels: int, native: bool = False
) -> Image.Image:
    """Page `index` as a greyscale image at `dpi`, scaled down to stay under max_pixels.

    With `native`, a page that is a scanned picture is rendered at the picture's
    own resolution when that is lower (upsampling a 200 dpi scan to 300 dpi
    adds no detail for OCR, only work).
    """
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[index]
        if native:
            scan = _scan_dpi(page)
            if scan is not None:
                dpi = round(min(dpi, max(MIN_OCR_DPI, scan)))
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
