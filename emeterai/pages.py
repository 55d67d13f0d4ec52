"""Pages of a PDF as pictures, as a reader shows them (signature appearances included): what
the browser shows to choose where a stamp goes."""

from __future__ import annotations

import io
from dataclasses import dataclass

from emeterai.errors import PdfError
from emeterai.i18n import N_

__all__ = ["PageSize", "page_sizes", "render_page"]

MM_PER_PT = 25.4 / 72


@dataclass(frozen=True)
class PageSize:
    """A page as read (rotation applied), in millimetres."""

    width_mm: float
    height_mm: float

    def to_json(self) -> dict[str, float]:
        return {"width_mm": round(self.width_mm, 2), "height_mm": round(self.height_mm, 2)}


def _open(data: bytes, source: str, password: str | None) -> object:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError as exc:
        raise PdfError(N_("cannot show its pages ({reason})"), path=source, reason=exc) from None


def page_sizes(data: bytes, source: str, password: str | None = None) -> tuple[PageSize, ...]:
    import pypdfium2 as pdfium

    pdf = _open(data, source, password)
    assert isinstance(pdf, pdfium.PdfDocument)
    try:
        sizes = []
        for i in range(len(pdf)):
            w, h = pdf[i].get_size()  # pdfium's size is the page as shown, rotation applied
            sizes.append(PageSize(w * MM_PER_PT, h * MM_PER_PT))
        return tuple(sizes)
    finally:
        pdf.close()


def render_page(
    data: bytes, index: int, source: str, dpi: float = 72.0, password: str | None = None
) -> bytes:
    """PNG of page ``index`` (0-based) at ``dpi``, its form fields and signatures drawn."""
    import pypdfium2 as pdfium

    pdf = _open(data, source, password)
    assert isinstance(pdf, pdfium.PdfDocument)
    try:
        if not 0 <= index < len(pdf):
            raise PdfError(N_("has no page {page}"), path=source, page=index + 1)
        pdf.init_forms()
        image = pdf[index].render(scale=dpi / 72, may_draw_forms=True).to_pil()
    finally:
        pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
