"""The stamp picture (README, The QR code): its text, its QR code, its words."""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image, ImageOps

from emeterai import serial as serials
from emeterai._render import (
    DEFAULT_SIZE_MM,
    MM,
    parse_qr_payload,
    qr_payload,
    render,
    rupiah_words,
)

DIGEST = "0d9e0f0739b1a489be7a1053ba1ee18fdf266362b199788d3b995afeb37c168b"


@pytest.fixture(scope="module")
def serial() -> str:
    return serials.generate("T1X")


def _text(pdf: bytes) -> str:
    """The picture's extractable text, whitespace collapsed (wrapped words joined by a space)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return " ".join(reader.pages[0].extract_text().split())


def _render_png(pdf: bytes, dpi: int = 150, rotation: int = 0) -> Image.Image:
    """A ``dpi`` render of the picture (PDFium), on a white surround of 10 mm.

    The picture is always shown on a page; zxing's local binariser needs some of that page
    around the stamp (the bare 148 px render of a specimen stamp does not decode)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=dpi / 72, rotation=rotation).to_pil().convert("RGB")
    finally:
        doc.close()
    return ImageOps.expand(image, border=round(10 / 25.4 * dpi), fill="white")


def _qr_codes(image: Image.Image) -> list[Any]:
    return [r for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


# -- text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("specimen", [True, False], ids=["specimen", "real"])
def test_picture_text_names_title_value_words_serial_and_issuer(serial, specimen):
    picture = render(serial, 10000, "Test Issuer", DIGEST, specimen=specimen)
    text = _text(picture.pdf)
    assert "METERAI ELEKTRONIK" in text
    assert "10000" in text.split()
    assert "SEPULUH RIBU RUPIAH" in text
    assert serial in text.split(), "the serial must be one extractable word, verbatim"
    assert "Test Issuer" in text
    assert picture.serial == serial


def test_spesimen_overprint_only_on_specimen_stamps(serial):
    specimen = _text(render(serial, 10000, "Test Issuer", DIGEST, specimen=True).pdf)
    real = _text(render(serial, 10000, "Test Issuer", DIGEST, specimen=False).pdf)
    assert "SPESIMEN" in specimen
    assert "SPESIMEN" not in real


def test_picture_shows_its_own_value_in_digits_and_words(serial):
    text = _text(render(serial, 6000, "Test Issuer", DIGEST).pdf)
    assert "6000" in text.split()
    assert "ENAM RIBU RUPIAH" in text
    assert "10000" not in text
    assert "SEPULUH" not in text


def test_picture_text_stays_upright_text_when_counter_rotated(serial):
    picture = render(serial, 10000, "Test Issuer", DIGEST, specimen=True, rotation=90)
    text = _text(picture.pdf)
    assert serial in text.split()
    assert "METERAI ELEKTRONIK" in text


@pytest.mark.parametrize("size_mm", [18.0, DEFAULT_SIZE_MM, 40.0])
def test_picture_is_a_square_of_the_requested_size(serial, size_mm):
    picture = render(serial, 10000, "Test Issuer", DIGEST, size_mm=size_mm)
    box = pypdf.PdfReader(io.BytesIO(picture.pdf)).pages[0].mediabox
    assert float(box.width) == pytest.approx(size_mm * MM, abs=0.01)
    assert float(box.height) == pytest.approx(size_mm * MM, abs=0.01)
    assert picture.size_pt == pytest.approx(size_mm * MM, abs=0.01)


# -- QR code ------------------------------------------------------------------------------------


def test_qr_payload_holds_the_serial_and_a_digest_prefix(serial):
    payload = qr_payload(serial, DIGEST)
    assert serial in payload
    assert DIGEST[:16].upper() in payload
    assert parse_qr_payload(payload) == (serial, DIGEST[:16])
    assert parse_qr_payload("https://example.com/" + serial) is None


@pytest.mark.parametrize("specimen", [True, False], ids=["specimen", "real"])
def test_qr_decodes_from_a_150_dpi_render_of_the_picture(serial, specimen):
    picture = render(serial, 10000, "Test Issuer", DIGEST, specimen=specimen)
    codes = _qr_codes(_render_png(picture.pdf, 150))
    assert [c.text for c in codes] == [qr_payload(serial, DIGEST)]
    assert picture.qr_payload == qr_payload(serial, DIGEST)


def test_qr_of_another_document_differs(serial):
    other = "f" * 64
    picture = render(serial, 10000, "Test Issuer", other)
    codes = _qr_codes(_render_png(picture.pdf, 150))
    assert [c.text for c in codes] == [qr_payload(serial, other)]
    assert codes[0].text != qr_payload(serial, DIGEST)


@pytest.mark.parametrize("specimen", [True, False], ids=["specimen", "real"])
@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_counter_rotated_picture_is_upright_on_a_rotated_page(serial, rotation, specimen):
    """A picture drawn for a page with /Rotate r, shown turned r degrees clockwise the way a
    reader shows such a page, has an upright QR code (zxing reports orientation 0)."""
    picture = render(serial, 10000, "Test Issuer", DIGEST, specimen=specimen, rotation=rotation)
    shown = _qr_codes(_render_png(picture.pdf, 150, rotation=rotation))
    assert [c.text for c in shown] == [qr_payload(serial, DIGEST)]
    assert shown[0].orientation == 0


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_counter_rotated_picture_is_turned_when_shown_without_the_page_rotation(serial, rotation):
    """The counter-rotation is real: the same picture shown unturned has a turned QR code.
    (A real stamp: the SPESIMEN overprint makes turned QR codes hard for zxing to read.)"""
    picture = render(serial, 10000, "Test Issuer", DIGEST, specimen=False, rotation=rotation)
    unturned = _qr_codes(_render_png(picture.pdf, 150))
    assert [c.text for c in unturned] == [qr_payload(serial, DIGEST)]
    # The picture is drawn turned counter-clockwise by r degrees; zxing reads that as -r.
    assert unturned[0].orientation % 360 == (-rotation) % 360


# -- rupiah in words ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (10000, "SEPULUH RIBU RUPIAH"),
        (6000, "ENAM RIBU RUPIAH"),
        (3000, "TIGA RIBU RUPIAH"),
        (1000, "SERIBU RUPIAH"),
        (11, "SEBELAS RUPIAH"),
        (15, "LIMA BELAS RUPIAH"),
        (100, "SERATUS RUPIAH"),
        (250, "DUA RATUS LIMA PULUH RUPIAH"),
        (21000, "DUA PULUH SATU RIBU RUPIAH"),
        (110000, "SERATUS SEPULUH RIBU RUPIAH"),
        (1000000, "SATU JUTA RUPIAH"),
        (1500000, "SATU JUTA LIMA RATUS RIBU RUPIAH"),
        (2001000, "DUA JUTA SERIBU RUPIAH"),
    ],
)
def test_rupiah_words(value, words):
    assert rupiah_words(value) == words


# -- QR robustness where the stamp lands ----------------------------------------------------------


def _fixed_cases(n: int = 24) -> list[tuple[str, str, tuple[float, float]]]:
    """n (serial, document digest, position on the page) cases, the same on every run."""
    import hashlib

    cases = []
    for i in range(n):
        body = "T1X" + "".join(serials.ALPHABET[(i * 7 + j * 13 + j * j) % 32] for j in range(18))
        serial = body + serials.check_char(body)
        digest = hashlib.sha256(f"document {i}".encode()).hexdigest()
        position = (60.0 + (i * 37.3) % 400, 80.0 + (i * 61.7) % 600)
        cases.append((serial, digest, position))
    return cases


def _on_a_page(picture: bytes, x: float, y: float) -> bytes:
    """An A4 page with the picture drawn at (x, y), as a page with the stamp looks."""
    from pypdf import Transformation

    writer = pypdf.PdfWriter()
    page = writer.add_blank_page(595.28, 841.89)
    page.merge_transformed_page(
        pypdf.PdfReader(io.BytesIO(picture)).pages[0], Transformation().translate(x, y)
    )
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _undecoded(specimen: bool) -> list[str]:
    missed = []
    for serial, digest, (x, y) in _fixed_cases():
        picture = render(serial, 10000, "Test Issuer", digest, specimen=specimen)
        doc = pdfium.PdfDocument(_on_a_page(picture.pdf, x, y))
        try:
            image = doc[0].render(scale=150 / 72).to_pil().convert("RGB")
        finally:
            doc.close()
        if [c.text for c in _qr_codes(image)] != [qr_payload(serial, digest)]:
            missed.append(serial)
    return missed


def test_real_stamp_qr_decodes_at_150_dpi_wherever_it_lands():
    assert _undecoded(specimen=False) == []


def test_specimen_stamp_qr_decodes_at_150_dpi_wherever_it_lands():
    assert _undecoded(specimen=True) == []


# -- the cached template ------------------------------------------------------------------------


def _page_content(pdf: bytes) -> bytes:
    return pypdf.PdfReader(io.BytesIO(pdf)).pages[0].get_contents().get_data()


@pytest.mark.parametrize("specimen", [True, False], ids=["specimen", "real"])
@pytest.mark.parametrize("rotation", [0, 90, 270])
@pytest.mark.parametrize("size_mm", [DEFAULT_SIZE_MM, 40.0])
def test_appearance_from_the_cached_template_draws_exactly_what_render_draws(
    specimen, rotation, size_mm
):
    from emeterai._render import appearance

    for n in range(3):
        serial = serials.generate("T1X")
        digest = f"{n:064x}"
        picture = render(serial, 10000, "Test Issuer", digest, specimen, size_mm, rotation)
        drawing = appearance(serial, 10000, "Test Issuer", digest, specimen, size_mm, rotation)
        assert drawing.content == _page_content(picture.pdf)
        assert drawing.qr_payload == picture.qr_payload
        assert drawing.size_pt == pytest.approx(picture.size_pt)


def test_each_stamp_from_the_cached_template_carries_its_own_serial_and_qr_code():
    from emeterai._render import appearance, qr_matrix, qr_runs

    a, b = serials.generate("T1X"), serials.generate("T1X")
    first = appearance(a, 10000, "Test Issuer", DIGEST)
    second = appearance(b, 10000, "Test Issuer", DIGEST[::-1])
    for drawing, serial, other in ((first, a, b), (second, b, a)):
        assert f"({serial}) Tj".encode() in drawing.content
        assert other.encode() not in drawing.content
    assert qr_runs(qr_matrix(qr_payload(a, DIGEST))) != qr_runs(qr_matrix(qr_payload(b, DIGEST)))
    assert first.content != appearance(a, 10000, "Test Issuer", DIGEST[::-1]).content


def test_stamps_drawn_with_the_best_mask_are_an_earlier_picture_version():
    """Stamps made before the mask was fixed carry qrcode's best mask; both encode the payload,
    and verify regenerates either (``picture_check``)."""
    from emeterai._render import QR_MASK, appearance, qr_matrix

    serial = serials.generate("T1X")
    payload = qr_payload(serial, DIGEST)
    assert qr_matrix(payload) == qr_matrix(payload, QR_MASK)
    best = appearance(serial, 10000, "Test Issuer", DIGEST, mask=None)
    fixed = appearance(serial, 10000, "Test Issuer", DIGEST)
    if qr_matrix(payload, None) != qr_matrix(payload):
        assert best.content != fixed.content
    assert best.content == _page_content(
        render(serial, 10000, "Test Issuer", DIGEST, mask=None).pdf
    )


def test_the_fixed_mask_qr_code_decodes_from_a_150_dpi_render(serial):
    picture = render(serial, 10000, "Test Issuer", DIGEST, specimen=True)
    codes = _qr_codes(_render_png(picture.pdf))
    assert [c.text for c in codes] == [qr_payload(serial, DIGEST)]


def test_an_issuer_name_holding_the_template_placeholder_still_renders_each_serial():
    """The template marks the serial with 22 zeros; an issuer's name may hold them too."""
    from emeterai._render import appearance

    name = "Penerbit 0000000000000000000000"
    first = appearance("0" * 21 + "1", 10000, name, "a" * 64, specimen=True)
    second = appearance("1" * 22, 10000, name, "a" * 64, specimen=True)
    assert b"(0000000000000000000001)" in first.content
    assert b"(1111111111111111111111)" in second.content
    assert b"(0000000000000000000001)" not in second.content


@pytest.mark.parametrize("specimen", [False, True])
def test_the_page_drawing_is_what_pypdf_reads_of_the_picture(serial, specimen):
    """The template's parts are read with pyHanko's reader: the same content stream, fonts and
    graphics states as pypdf (an independent reader) finds on the picture's page."""
    from emeterai._render import _page_drawing

    pdf = render(serial, 10000, "Test Issuer", DIGEST, specimen).pdf
    content, fonts, states = _page_drawing(pdf)
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    assert content == page.get_contents().get_data()
    resources: Any = page["/Resources"].get_object()
    assert fonts == tuple(
        sorted(
            (str(n), str(r.get_object()["/BaseFont"])[1:]) for n, r in resources["/Font"].items()
        )
    )
    gstates = resources.get("/ExtGState", {})
    assert states == tuple(
        sorted(
            (str(n), tuple(sorted((str(k), float(v)) for k, v in g.get_object().items())))
            for n, g in gstates.items()
        )
    )
    assert (len(states) > 0) == specimen
