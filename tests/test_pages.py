"""Pages as pictures for choosing the stamp's place: sizes as read, renders with forms drawn."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from emeterai.errors import PdfError
from emeterai.pages import page_sizes, render_page
from tests.support.common import PROJECT_ROOT
from tests.support.pdfmakers import rotated_pdf

LETTER = PROJECT_ROOT / "samples" / "lamaran.pdf"


def test_a4_letter_size_and_render_at_the_asked_dpi():
    (size,) = page_sizes(LETTER.read_bytes(), "lamaran.pdf")
    assert (size.width_mm, size.height_mm) == pytest.approx((210, 297), abs=0.5)
    image = Image.open(io.BytesIO(render_page(LETTER.read_bytes(), 0, "lamaran.pdf", dpi=50)))
    assert image.size == pytest.approx((413, 585), abs=2)
    assert len(set(image.convert("L").tobytes())) > 10  # text drawn, not a blank page


def test_a_rotated_page_is_measured_as_read(tmp_path):
    data = rotated_pdf(tmp_path / "r.pdf", 90).read_bytes()
    (size,) = page_sizes(data, "r.pdf")
    assert size.width_mm > size.height_mm
    image = Image.open(io.BytesIO(render_page(data, 0, "r.pdf", dpi=30)))
    assert image.width > image.height


def test_a_page_that_is_not_there_names_the_file():
    with pytest.raises(PdfError, match="lamaran.pdf: has no page 3"):
        render_page(LETTER.read_bytes(), 2, "lamaran.pdf")
    with pytest.raises(PdfError, match="x.pdf: cannot show its pages"):
        page_sizes(b"%PDF-1.7 nothing", "x.pdf")
