"""Where the stamp goes (emeterai._place): page geometry, the placeholder pattern, the choice."""

from __future__ import annotations

import importlib.util
import io
import itertools
from pathlib import Path
from typing import Any

import pypdf
import pytest
from pypdf.generic import NameObject, NumberObject, RectangleObject

from emeterai import _place as place
from emeterai._place import MM, PLACEHOLDER, Box, PageGeometry
from emeterai.errors import Hint, PdfError, PlacementOutOfPage, UsageError
from tests.support import pdfmakers
from tests.support.common import require_tool
from tests.support.pdfmakers import (
    A4,
    PLACEHOLDER_LETTERS,
    cropped_pdf,
    letter_pdf,
    libreoffice_letters,
    multi_page_pdf,
    plain_pdf,
    rotated_pdf,
    shifted_mediabox_pdf,
    signed_by_other_pdf,
)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "lamaran.pdf"

BOXES = {
    "origin": Box(0.0, 0.0, 595.28, 841.89),
    "shifted": Box(200.0, 300.0, 795.28, 1141.89),
    "negative": Box(-300.0, -400.0, 295.28, 441.89),
    "crop": Box(60.0, 90.0, 500.0, 760.0),
}
ROTATIONS = [0, 90, 180, 270]


def _sample_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_lamaran", ROOT / "samples" / "make_lamaran.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pages(data: bytes) -> list[Any]:
    return list(pypdf.PdfReader(io.BytesIO(data)).pages)


def _pages_of(path: Path) -> list[Any]:
    return _pages(path.read_bytes())


# -- PageGeometry -------------------------------------------------------------------------------


@pytest.mark.parametrize("rotation", ROTATIONS)
@pytest.mark.parametrize("box_name", list(BOXES))
def test_to_user_and_to_reader_are_inverse(box_name, rotation):
    geom = PageGeometry(BOXES[box_name], rotation)
    width, height = geom.reader_size
    for fu, fv in itertools.product([0.0, 0.1, 0.5, 0.77, 1.0], repeat=2):
        u, v = fu * width, fv * height
        x, y = geom.to_user(u, v)
        b = geom.visible
        assert b.x0 - 1e-6 <= x <= b.x1 + 1e-6 and b.y0 - 1e-6 <= y <= b.y1 + 1e-6
        assert geom.to_reader(x, y) == pytest.approx((u, v), abs=1e-9)
    for fx, fy in itertools.product([0.0, 0.3, 1.0], repeat=2):
        x = b.x0 + fx * b.width
        y = b.y0 + fy * b.height
        assert geom.to_user(*geom.to_reader(x, y)) == pytest.approx((x, y), abs=1e-9)


def _corners(b: Box, rotation: int) -> dict[str, tuple[float, float]]:
    """The user-space point a reader sees at each corner of a page shown with /Rotate
    ``rotation`` (clockwise): worked out from the PDF definition, not from the code."""
    return {
        0: {"tl": (b.x0, b.y1), "tr": (b.x1, b.y1), "bl": (b.x0, b.y0)},
        90: {"tl": (b.x0, b.y0), "tr": (b.x0, b.y1), "bl": (b.x1, b.y0)},
        180: {"tl": (b.x1, b.y0), "tr": (b.x0, b.y0), "bl": (b.x1, b.y1)},
        270: {"tl": (b.x1, b.y1), "tr": (b.x1, b.y0), "bl": (b.x0, b.y1)},
    }[rotation]


@pytest.mark.parametrize("rotation", ROTATIONS)
@pytest.mark.parametrize("box_name", list(BOXES))
def test_reader_corners_map_to_the_user_corners_a_viewer_shows_there(box_name, rotation):
    b = BOXES[box_name]
    geom = PageGeometry(b, rotation)
    width, height = geom.reader_size
    expected = _corners(b, rotation)
    assert geom.to_user(0, 0) == pytest.approx(expected["tl"])
    assert geom.to_user(width, 0) == pytest.approx(expected["tr"])
    assert geom.to_user(0, height) == pytest.approx(expected["bl"])


@pytest.mark.parametrize("rotation", ROTATIONS)
def test_reader_size_swaps_width_and_height_on_quarter_turns(rotation):
    b = BOXES["crop"]
    size = PageGeometry(b, rotation).reader_size
    if rotation in (90, 270):
        assert size == pytest.approx((b.height, b.width))
    else:
        assert size == pytest.approx((b.width, b.height))


# -- page_geometry from real pages --------------------------------------------------------------


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_page_geometry_reads_rotate(tmp_path, rotation):
    page = _pages_of(rotated_pdf(tmp_path / "r.pdf", rotation))[0]
    geom = place.page_geometry(page)
    assert geom.rotation == rotation
    assert (geom.visible.width, geom.visible.height) == pytest.approx(A4, abs=0.01)


@pytest.mark.parametrize(("value", "expected"), [(-90, 270), (450, 90), (360, 0), (45, 0)])
def test_page_geometry_normalises_odd_rotate_values(value, expected):
    data = letter_pdf(1)
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.pages[0][NameObject("/Rotate")] = NumberObject(value)
    assert place.page_geometry(writer.pages[0]).rotation == expected


def test_page_geometry_of_a_shifted_mediabox(tmp_path):
    page = _pages_of(shifted_mediabox_pdf(tmp_path / "s.pdf", offset=(200.0, 300.0)))[0]
    geom = place.page_geometry(page)
    assert (geom.visible.x0, geom.visible.y0) == pytest.approx((200.0, 300.0))
    assert (geom.visible.x1, geom.visible.y1) == pytest.approx((200.0 + A4[0], 300.0 + A4[1]))


def test_page_geometry_uses_the_cropbox(tmp_path):
    page = _pages_of(cropped_pdf(tmp_path / "c.pdf", cropbox=(60.0, 90.0, 500.0, 760.0)))[0]
    geom = place.page_geometry(page)
    assert geom.visible == Box(60.0, 90.0, 500.0, 760.0)


def test_page_geometry_clips_a_cropbox_larger_than_the_mediabox():
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(letter_pdf(1))))
    writer.pages[0].cropbox = RectangleObject([-50, 100, 700, 900])
    geom = place.page_geometry(writer.pages[0])
    v = geom.visible
    assert (v.x0, v.y0, v.x1, v.y1) == pytest.approx((0.0, 100.0, A4[0], A4[1]), abs=0.001)


# -- the placeholder pattern --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Meterai 10.000",
        "MATERAI",
        "e-Meterai Rp10.000",
        "materai tempel Rp 10.000,-",
        "E-METERAI",
        "(meterai)",
    ],
)
def test_placeholder_pattern_matches_stamp_placeholders(text):
    match = PLACEHOLDER.search(text)
    assert match is not None
    assert "ATERAI" in match.group(0).upper() or "ETERAI" in match.group(0).upper()


@pytest.mark.parametrize(
    "text",
    [
        "bermeterai",
        "Surat pernyataan bermeterai (5 poin)",
        "dimeteraikan",
        "pemeteraian",
        "meteran",
    ],
)
def test_placeholder_pattern_ignores_words_that_only_contain_meterai(text):
    assert PLACEHOLDER.search(text) is None


def test_placeholder_pattern_takes_the_value_with_the_word():
    assert PLACEHOLDER.search("Meterai 10.000").group(0) == "Meterai 10.000"
    assert PLACEHOLDER.search("e-Meterai Rp10.000").group(0) == "e-Meterai Rp10.000"


# -- placeholders on real pages -----------------------------------------------------------------


def test_sample_letter_has_exactly_one_placeholder_at_its_documented_centre():
    """samples/lamaran.pdf also says 'bermeterai' in its list of attachments: not a placeholder."""
    page = _pages_of(SAMPLE)[0]
    found = place.find_placeholders(page)
    assert [f.text for f in found] == ["Meterai 10.000"]
    geom = place.page_geometry(page)
    u, v = geom.to_reader(*found[0].centre)
    cx, cy = _sample_module().PLACEHOLDER_CENTER_MM
    assert abs(u / MM - cx) < 5 and abs(v / MM - cy) < 5


def test_choose_puts_the_stamp_on_the_sample_placeholder():
    p = place.choose(_pages_of(SAMPLE), 25.0)
    assert p.method == "placeholder"
    assert p.page_index == 0
    cx, cy = _sample_module().PLACEHOLDER_CENTER_MM
    assert abs(p.center_mm[0] - cx) < 5 and abs(p.center_mm[1] - cy) < 5
    assert p.rect.width == pytest.approx(25 * MM) and p.rect.height == pytest.approx(25 * MM)


def test_choose_finds_a_placeholder_on_an_earlier_page(tmp_path):
    pages = _pages_of(multi_page_pdf(tmp_path / "m.pdf", pages=3, placeholder_page=2))
    p = place.choose(pages, 25.0)
    assert (p.method, p.page_index) == ("placeholder", 1)
    assert p.center_mm == pytest.approx((150.0, 240.0), abs=5)


def test_choose_prefers_the_placeholder_lowest_on_the_page_whatever_the_drawing_order():
    """Two placeholders: the one near the signature block (bottom) is drawn first."""
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4)
    c.setFont("Helvetica", 10)
    c.drawString(120 * MM, A4[1] - 250 * MM, "Meterai 10.000")  # bottom, drawn first
    c.drawString(120 * MM, A4[1] - 60 * MM, "Meterai 10.000")  # top, drawn last
    c.showPage()
    c.save()
    p = place.choose(_pages(buf.getvalue()), 25.0)
    assert p.method == "placeholder"
    assert p.center_mm[1] == pytest.approx(250, abs=8), p.center_mm


def test_two_placeholders_on_one_line_give_the_rightmost():
    """Baselines a fraction of a point apart are one line: the rightmost is the last as read."""
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4)
    c.setFont("Helvetica", 10)
    c.drawString(150 * MM, A4[1] - 240 * MM + 0.3, "Meterai")  # right, a hair higher
    c.drawString(40 * MM, A4[1] - 240 * MM, "Meterai")  # left
    c.showPage()
    c.save()
    p = place.choose(_pages(buf.getvalue()), 25.0)
    assert p.method == "placeholder"
    assert p.center_mm[0] > 140, p.center_mm


def test_choose_with_page_searches_only_that_page(tmp_path):
    pages = _pages_of(multi_page_pdf(tmp_path / "m.pdf", pages=3, placeholder_page=2))
    p = place.choose(pages, 25.0, page=3)
    assert (p.method, p.page_index) == ("fallback", 2)


def test_choose_skips_a_placeholder_already_covered_by_a_signature(tmp_path):
    # A visible signature field right over the placeholder (150, 240) mm from the top-left.
    cx, cy = 150 * MM, A4[1] - 240 * MM
    box = (cx - 40, cy - 40, cx + 40, cy + 40)
    path, _ = signed_by_other_pdf(tmp_path / "s.pdf", box=box)
    p = place.choose(_pages_of(path), 25.0)
    assert p.method != "placeholder"
    assert not p.rect.overlaps(Box(*box))


# -- explicit and fallback positions ------------------------------------------------------------


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_choose_at_puts_the_centre_at_the_reader_position(tmp_path, rotation):
    pages = _pages_of(rotated_pdf(tmp_path / "r.pdf", rotation))
    p = place.choose(pages, 25.0, at_mm=(45.0, 70.0))
    assert p.method == "explicit"
    assert p.rotation == rotation
    assert p.center_mm == pytest.approx((45.0, 70.0), abs=0.01)
    geom = place.page_geometry(pages[0])
    u, v = geom.to_reader((p.rect.x0 + p.rect.x1) / 2, (p.rect.y0 + p.rect.y1) / 2)
    assert (u / MM, v / MM) == pytest.approx((45.0, 70.0), abs=0.01)


def test_choose_at_on_a_shifted_and_a_cropped_page(tmp_path):
    shifted = _pages_of(shifted_mediabox_pdf(tmp_path / "s.pdf", offset=(200.0, 300.0)))
    p = place.choose(shifted, 25.0, at_mm=(45.0, 70.0))
    assert ((p.rect.x0 + p.rect.x1) / 2, (p.rect.y0 + p.rect.y1) / 2) == pytest.approx(
        (200.0 + 45 * MM, 300.0 + A4[1] - 70 * MM)
    )
    cropped = _pages_of(cropped_pdf(tmp_path / "c.pdf", cropbox=(60.0, 90.0, 500.0, 760.0)))
    p = place.choose(cropped, 25.0, at_mm=(45.0, 70.0))
    assert ((p.rect.x0 + p.rect.x1) / 2, (p.rect.y0 + p.rect.y1) / 2) == pytest.approx(
        (60.0 + 45 * MM, 760.0 - 70 * MM)
    )


def test_choose_at_near_the_edge_keeps_the_stamp_on_the_page(tmp_path):
    pages = _pages_of(cropped_pdf(tmp_path / "c.pdf", cropbox=(60.0, 90.0, 500.0, 760.0)))
    p = place.choose(pages, 25.0, at_mm=(0.0, 0.0))
    assert p.center_mm == pytest.approx((12.5, 12.5), abs=0.01)
    assert p.rect.x0 == pytest.approx(60.0) and p.rect.y1 == pytest.approx(760.0)


@pytest.mark.parametrize("rotation", [0, 90])
def test_fallback_is_the_bottom_right_of_the_last_page_as_read(tmp_path, rotation):
    path = rotated_pdf(tmp_path / "r.pdf", rotation) if rotation else plain_pdf(tmp_path / "p.pdf")
    p = place.choose(_pages_of(path), 25.0)
    assert p.method == "fallback"
    width, height = (297.0, 210.0) if rotation == 90 else (210.0, 297.0)
    margin = place.FALLBACK_MARGIN_MM + 12.5
    assert p.center_mm == pytest.approx((width - margin, height - margin), abs=0.01)


def test_page_out_of_range_is_a_usage_error(tmp_path):
    pages = _pages_of(multi_page_pdf(tmp_path / "m.pdf", pages=3))
    with pytest.raises(UsageError) as info:
        place.choose(pages, 25.0, page=5)
    assert info.value.message == "page 5 is out of range: the document has 3 page(s)"
    assert info.value.hint is Hint.PAGE  # the command line words it: --page
    assert info.value.exit_code == 2


def test_a_stamp_larger_than_the_page_is_refused():
    tiny = letter_pdf(1, size=(100.0, 100.0))
    with pytest.raises(PdfError) as info:
        place.choose(_pages(tiny), 40.0)
    assert "does not fit on the page" in info.value.message
    assert info.value.hint is Hint.SIZE  # the command line words it: use a smaller --size


# -- the stamp covers its placeholder: letters written with LibreOffice ----------------------


@pytest.fixture(scope="module")
def letters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    soffice = require_tool("soffice")
    return libreoffice_letters(tmp_path_factory.mktemp("letters"), PLACEHOLDER_LETTERS, soffice)


def word_boxes(pdf: Path, words: list[str]) -> list[Box]:
    """User-space boxes of the words ``words`` as poppler's pdftotext measures them (not
    emeterai's code), in order, from the first page's lines that hold exactly those words."""
    import re
    import subprocess

    out = subprocess.run(
        [require_tool("pdftotext"), "-bbox-layout", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    height = float(re.search(r'<page width="[\d.]+" height="([\d.]+)"', out).group(1))
    for line in re.findall(r"<line[^>]*>(.*?)</line>", out, re.S):
        found = re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            line,
        )
        if [w[4] for w in found] == words:
            return [
                Box(float(a), height - float(d), float(c), height - float(b))
                for a, b, c, d, _ in found
            ]
    raise AssertionError(f"pdftotext finds no line {words!r} in {pdf}")


def inside(inner: Box, outer: Box) -> bool:
    return (
        outer.x0 <= inner.x0 and inner.x1 <= outer.x1 and outer.y0 <= inner.y0
        and inner.y1 <= outer.y1
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("centred", "Meterai Rp10.000"),
        ("right", "(materai 10.000)"),
        ("sentence-and-placeholder", "MATERAI Rp 10.000,-"),
    ],
)
def test_the_stamp_covers_every_word_of_a_libreoffice_placeholder(letters, name, text):
    """Was: "Me" and "0" of a centred "Meterai Rp10.000", "(m" of a right-aligned "(materai
    10.000)" outside the stamp (a guessed half-em glyph width)."""
    pages = _pages_of(letters[name])
    p = place.choose(pages, 25.0)
    assert (p.method, p.placeholder_text) == ("placeholder", text)
    for box in word_boxes(letters[name], text.split()):
        assert inside(box, p.rect), (box, p.rect)
    run = place.find_placeholders(pages[0])[-1].box
    assert ((p.rect.x0 + p.rect.x1) / 2, (p.rect.y0 + p.rect.y1) / 2) == pytest.approx(
        ((run.x0 + run.x1) / 2, (run.y0 + run.y1) / 2), abs=0.01
    )


def test_a_placeholder_wider_than_the_stamp_grows_it_and_says_so(letters, indonesian):
    pages = _pages_of(letters["centred"])
    words = word_boxes(letters["centred"], ["Meterai", "Rp10.000"])
    width_mm = (words[-1].x1 - words[0].x0) / MM
    assert width_mm > 25  # 12 pt Liberation Serif: wider than the default stamp
    p = place.choose(pages, 25.0)
    assert width_mm < p.size_mm <= 60
    side = f"{round(p.size_mm, 1):g}"  # to a tenth of a mm, no ".0": 41 mm, 32.8 mm
    assert p.warnings == (f"the stamp is {side} mm, not 25 mm, to cover its placeholder",)
    assert p.warnings[0].translated() == (  # type: ignore[attr-defined]
        f"meterai dibuat {side} mm, bukan 25 mm, agar menutupi teks tempat meterai"
    )


def test_the_word_inside_a_sentence_is_not_a_placeholder(letters):
    pages = _pages_of(letters["sentence"])
    assert place.find_placeholders(pages[0]) == []
    p = place.choose(pages, 25.0)
    assert (p.method, p.placeholder_text) == ("fallback", None)
    for box in word_boxes(letters["sentence"], ["Tanda", "tangan", "di", "atas", "meterai"]):
        assert not p.rect.overlaps(box)


def test_a_sentence_does_not_hide_the_real_placeholder_below_it(letters):
    found = place.find_placeholders(_pages_of(letters["sentence-and-placeholder"])[0])
    assert [f.text for f in found] == ["MATERAI Rp 10.000,-"]


# -- runs, lines and widths on reportlab pages (exact geometry) -----------------------------


def _helvetica_width(text: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return float(stringWidth(text, "Helvetica", size))


@pytest.mark.parametrize("align", ["left", "center", "right"])
def test_the_run_box_is_the_width_the_font_gives(tmp_path, align):
    text = "(Meterai Rp 10.000,-)"
    path = pdfmakers.placeholder_letter_pdf(tmp_path / "p.pdf", text, (120.0, 200.0), 11, align)
    (found,) = place.find_placeholders(_pages_of(path)[0])
    assert found.text == text
    width = _helvetica_width(text, 11)
    x0 = {"left": 120 * MM, "center": 120 * MM - width / 2, "right": 120 * MM - width}[align]
    assert (found.box.x0, found.box.x1) == pytest.approx((x0, x0 + width), abs=0.01)
    baseline = A4[1] - 200 * MM
    assert found.box.y0 < baseline < found.box.y1


def test_a_placeholder_split_over_several_operators_is_one_run(tmp_path):
    """Producers show a line in pieces (kerning, a font change, a word per operator)."""
    from reportlab.pdfgen.canvas import Canvas

    path = tmp_path / "split.pdf"
    c = Canvas(str(path), pagesize=A4, invariant=1)
    t = c.beginText(100 * MM, A4[1] - 200 * MM)
    t.setFont("Helvetica-Bold", 10)
    t.textOut("Meterai")
    t.setFont("Helvetica", 10)
    t.textOut(" Rp")
    t.setCharSpace(0.5)
    t.textOut("10.000")
    c.drawText(t)
    c.showPage()
    c.save()
    (found,) = place.find_placeholders(_pages_of(path)[0])
    assert found.text == "Meterai Rp10.000"
    from reportlab.pdfbase.pdfmetrics import stringWidth

    width = stringWidth("Meterai", "Helvetica-Bold", 10) + stringWidth(" Rp10.000", "Helvetica", 10)
    width += 0.5 * len("10.000")  # Tc after each glyph, the last one's included
    assert found.box.x0 == pytest.approx(100 * MM, abs=0.01)
    assert found.box.x1 == pytest.approx(100 * MM + width - 0.5, abs=0.01)


@pytest.mark.parametrize(
    "text", ["Tanda tangan di atas meterai", "Meterai 10.000 ditempel di sini", "bermeterai"]
)
def test_a_word_in_a_sentence_is_not_a_placeholder(tmp_path, text):
    path = pdfmakers.placeholder_letter_pdf(tmp_path / "s.pdf", text, (100.0, 200.0))
    assert place.find_placeholders(_pages_of(path)[0]) == []


def test_the_amount_on_the_line_below_belongs_to_the_placeholder(tmp_path):
    path = pdfmakers.placeholder_letter_pdf(
        tmp_path / "two.pdf", "METERAI", (150.0, 220.0), lines=["Rp 10.000"]
    )
    (found,) = place.find_placeholders(_pages_of(path)[0])
    assert found.text == "METERAI Rp 10.000"
    below = A4[1] - 220 * MM - 12
    assert found.box.y0 < below - 1.5  # the second line's descent is inside


def test_a_placeholder_near_the_edge_moves_inward_10_mm_and_says_so(tmp_path, indonesian):
    path = pdfmakers.placeholder_letter_pdf(
        tmp_path / "edge.pdf", "Meterai", (208.0, 290.0), 10, "right"
    )
    p = place.choose(_pages_of(path), 25.0)
    assert p.method == "placeholder"
    assert p.rect.x1 == pytest.approx(A4[0] - 10 * MM, abs=0.01)
    assert p.rect.y0 == pytest.approx(10 * MM, abs=0.01)
    (moved,) = [w for w in p.warnings if "inward" in w]
    assert moved.startswith("the stamp moved ") and moved.endswith(
        " mm inward to stay 10 mm inside the page"
    )
    mm = moved.removeprefix("the stamp moved ").split(" ")[0]
    assert moved.translated() == (  # type: ignore[attr-defined]
        f"meterai digeser {mm} mm ke dalam agar tetap 10 mm dari tepi halaman"
    )


def test_a_placeholder_wider_than_the_largest_stamp_is_stamped_and_the_gap_said(
    tmp_path, indonesian
):
    text = "Meterai Rp 10.000"
    path = pdfmakers.placeholder_letter_pdf(tmp_path / "w.pdf", text, (105.0, 150.0), 36)
    p = place.choose(_pages_of(path), 25.0)
    assert p.method == "placeholder"
    assert p.size_mm == pytest.approx(60.0)
    width = _helvetica_width(text, 36)
    out_mm = (width / 2 - 30 * MM) / MM
    assert p.warnings[-1] == (
        f'the stamp does not cover its placeholder "{text}": '
        f"the placeholder sticks out {round(out_mm, 1):g} mm"
    )
    assert p.warnings[-1].translated() == (  # type: ignore[attr-defined]
        f'meterai tidak menutupi teks tempat meterai "{text}": '
        f"teks itu menonjol {round(out_mm, 1):g} mm"
    )


# -- --at off the page ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "page_mm"), [((250.0, 100.0), "210 x 297"), ((100.0, 300.0), "210 x 297")]
)
def test_at_off_the_page_is_a_usage_error_naming_the_page_size(tmp_path, at, page_mm):
    pages = _pages_of(plain_pdf(tmp_path / "p.pdf"))
    with pytest.raises(PlacementOutOfPage) as info:
        place.choose(pages, 25.0, at_mm=at)
    assert info.value.message == f"--at {at[0]:g},{at[1]:g} is off page 1 ({page_mm} mm)"
    assert isinstance(info.value, UsageError) and info.value.exit_code == 2


def test_at_off_a_rotated_page_names_the_size_as_read(tmp_path):
    pages = _pages_of(rotated_pdf(tmp_path / "r.pdf", 90))
    with pytest.raises(PlacementOutOfPage, match=r"is off page 1 \(297 x 210 mm\)"):
        place.choose(pages, 25.0, at_mm=(250.0, 250.0))
    assert place.choose(pages, 25.0, at_mm=(250.0, 200.0)).method == "explicit"
