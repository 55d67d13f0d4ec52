"""Where the stamp goes (docs/architecture.md): ``--at`` on odd page geometry (rotated pages, a shifted
MediaBox, a smaller CropBox), read back from the PDF and seen upright in four renderers; and
``--page``, ``--at`` and the fallback placement as the command reports them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdf
import pytest
from PIL import Image, ImageChops

from emeterai._render import qr_payload
from tests.support import pdfmakers
from tests.support.common import require_tool
from tests.support.pdfmakers import PLACEHOLDER_LETTERS
from tests.support.stamping import (
    RENDERERS,
    STAMP_MM,
    Kit,
    _reader_centre_mm,
    _states,
    assert_stamp_shown,
    assert_upright_qr,
    magenta_mask,
    render_pdfium,
)

AT_MM = (45.0, 70.0)  # not symmetric: a wrong axis or turn puts the stamp elsewhere


# == odd page geometry: rotated pages, shifted MediaBox, smaller CropBox ========================


GEOMETRY_CASES = ["upright", "rotate90", "rotate180", "rotate270", "shifted-mediabox", "cropbox"]


@dataclass(frozen=True)
class GeometryRun:
    outputs: dict[str, Path]
    records: dict[str, dict[str, Any]]
    renders: dict[tuple[str, str], Image.Image]


@pytest.fixture(scope="module")
def geometry_run(kit: Kit) -> GeometryRun:
    folder = kit.folder("geometry")
    makers: dict[str, Callable[[Path], Path]] = {
        "upright": lambda p: pdfmakers.plain_pdf(p),
        "rotate90": lambda p: pdfmakers.rotated_pdf(p, 90),
        "rotate180": lambda p: pdfmakers.rotated_pdf(p, 180),
        "rotate270": lambda p: pdfmakers.rotated_pdf(p, 270),
        "shifted-mediabox": lambda p: pdfmakers.shifted_mediabox_pdf(p, offset=(200.0, 300.0)),
        "cropbox": lambda p: pdfmakers.cropped_pdf(p, cropbox=(60.0, 90.0, 500.0, 760.0)),
    }
    sources = [makers[name](folder / f"{name}.pdf") for name in GEOMETRY_CASES]
    out_dir = folder / "out"
    result, records = kit.stamp(*sources, "--at", f"{AT_MM[0]},{AT_MM[1]}", "--out-dir", out_dir)
    assert result.exit_code == 0, (result.stderr, result.exception)
    by_name = {Path(r["file"]).stem: r for r in records}
    assert sorted(by_name) == sorted(GEOMETRY_CASES)
    outputs = {name: out_dir / f"{name}.emeterai.pdf" for name in GEOMETRY_CASES}
    renders = {}
    images = folder / "renders"
    images.mkdir()
    for name in GEOMETRY_CASES:
        for renderer, fn in RENDERERS.items():
            renders[(name, renderer)] = fn(outputs[name], 150, images / f"{name}-{renderer}.png")
    return GeometryRun(outputs, by_name, renders)


@pytest.mark.parametrize("case", GEOMETRY_CASES)
def test_at_places_the_stamp_centre_at_the_reader_position(geometry_run, case):
    record = geometry_run.records[case]
    assert record["placement"] == "explicit"
    centre = _reader_centre_mm(geometry_run.outputs[case], 0, record["rect_pt"])
    assert centre == pytest.approx(AT_MM, abs=0.1)


@pytest.mark.parametrize("renderer", list(RENDERERS))
@pytest.mark.parametrize("case", GEOMETRY_CASES)
def test_renders_show_the_stamp_at_the_requested_position(geometry_run, case, renderer):
    image = geometry_run.renders[(case, renderer)]
    assert_stamp_shown(image, 150, AT_MM)


@pytest.mark.parametrize("renderer", list(RENDERERS))
@pytest.mark.parametrize("case", GEOMETRY_CASES)
def test_stamp_is_upright_as_displayed(geometry_run, case, renderer):
    record = geometry_run.records[case]
    payload = qr_payload(record["serial"], record["document_sha256"])
    assert_upright_qr(geometry_run.renders[(case, renderer)], 150, AT_MM, payload)


def _stamp_crop(image: Image.Image, dpi: int, centre_mm: tuple[float, float]) -> Image.Image:
    px = dpi / 25.4
    half = STAMP_MM / 2
    left, top = round((centre_mm[0] - half) * px), round((centre_mm[1] - half) * px)
    right, bottom = round((centre_mm[0] + half) * px), round((centre_mm[1] + half) * px)
    return magenta_mask(image.crop((left, top, right, bottom))).resize(
        (10, 10), Image.Resampling.BOX
    )


def _difference(a: Image.Image, b: Image.Image) -> int:
    histogram = ImageChops.difference(a, b).histogram()
    return sum(value * count for value, count in enumerate(histogram))


@pytest.mark.parametrize("case", ["rotate90", "rotate180", "rotate270"])
def test_stamp_on_a_rotated_page_looks_like_the_stamp_on_an_upright_page(geometry_run, case):
    """The magenta layout (title on top, value on the right, border) of the stamp on a rotated
    page matches the upright page's stamp as is, better than turned by any quarter turn."""
    reference = _stamp_crop(geometry_run.renders[("upright", "poppler")], 150, AT_MM)
    crop = _stamp_crop(geometry_run.renders[(case, "poppler")], 150, AT_MM)
    scores = {turn: _difference(crop, reference.rotate(turn)) for turn in (0, 90, 180, 270)}
    assert min(scores, key=scores.__getitem__) == 0, scores
    assert scores[0] < 0.6 * min(scores[90], scores[180], scores[270]), scores


# == --page, --at and the fallback =============================================================


def test_page_option_stamps_the_given_page(kit):
    folder = kit.folder("page")
    source = pdfmakers.multi_page_pdf(folder / "m.pdf", pages=3)
    result, records = kit.stamp(source, "--page", "2")
    assert result.exit_code == 0, result.stderr
    record = records[0]
    assert record["page"] == 2
    output = Path(record["output"])
    reader = pypdf.PdfReader(output)
    widgets = [
        [a.get_object().get("/T") for a in (page.get("/Annots") or [])] for page in reader.pages
    ]
    assert widgets == [[], [f"eMeterai_{record['serial']}"], []]
    pdftotext = require_tool("pdftotext")
    for page in (1, 2, 3):
        text = subprocess.run(
            [pdftotext, "-f", str(page), "-l", str(page), str(output), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert (record["serial"] in text) == (page == 2)
    verdict = kit.verifier().verify(output.read_bytes(), str(output))
    assert verdict.valid and verdict.stamps[0].page == 2


def test_at_option_is_reported_as_explicit_placement(kit):
    folder = kit.folder("at")
    source = pdfmakers.plain_pdf(folder / "x.pdf", placeholder_page=1)
    result, records = kit.stamp(source, "--at", "40,50")
    assert result.exit_code == 0, result.stderr
    assert records[0]["placement"] == "explicit"
    centre = _reader_centre_mm(Path(records[0]["output"]), 0, records[0]["rect_pt"])
    assert centre == pytest.approx((40.0, 50.0), abs=0.1)


def test_fallback_placement_says_so_on_stderr(kit):
    folder = kit.folder("fallback")
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    result, records = kit.stamp(source)
    assert result.exit_code == 0, result.stderr
    assert records[0]["placement"] == "fallback"
    assert (
        f"{source}: no 'Meterai' placeholder found; stamp placed at the bottom right of page 1"
        in result.stderr
    )
    centre = _reader_centre_mm(Path(records[0]["output"]), 0, records[0]["rect_pt"])
    assert centre[0] > 105 and centre[1] > 148.5, "not in the bottom-right quarter"


def test_at_near_the_edge_moves_the_stamp_inward_and_says_where(kit):
    folder = kit.folder("at-edge")
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    result, (record,) = kit.stamp(source, "--at", "205,290")
    assert result.exit_code == 0, result.stderr
    assert f"{source}: --at 205,290 would put the stamp partly off the page" in result.stderr
    assert "197.5,284.5 mm" in result.stderr  # A4 less half a 25 mm stamp
    result, (record,) = kit.stamp(source, "--at", "100,100", "-o", folder / "y.pdf")
    assert result.exit_code == 0, result.stderr
    assert "off the page" not in result.stderr


def test_at_off_the_page_is_refused_naming_the_page_size(kit):
    """Was: --at 250,100 on an A4 page clamped silently to the right edge, a stamp spent."""
    folder = kit.folder("at-off")
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    before = _states(kit.wallet)
    result, records = kit.stamp(source, "--at", "250,100")
    assert f"emeterai: error: {source}: --at 250,100 is off page 1 (210 x 297 mm)" in result.stderr
    assert result.exit_code == 2, result.stderr  # no document can take it: a usage error
    assert not (folder / "x.emeterai.pdf").exists()
    assert _states(kit.wallet) == before


def test_page_past_the_end_is_refused_naming_the_page_count(kit):
    folder = kit.folder("page-99")
    source = pdfmakers.multi_page_pdf(folder / "m.pdf", pages=2)
    result, _ = kit.stamp(source, "--page", "99", "--dry-run")
    assert (
        f"emeterai: error: {source}: page 99 is out of range: the document has 2 page(s) (--page)"
        in result.stderr
    )
    assert result.exit_code == 2, result.stderr  # no document can take it: a usage error


# == the stamp covers its placeholder: LibreOffice letters, stamped and rendered ===============

LETTERS = {k: PLACEHOLDER_LETTERS[k] for k in ("centred", "right", "sentence")}
PLACEHOLDERS = {"centred": "Meterai Rp10.000", "right": "(materai 10.000)", "sentence": None}
DPI = 100


@dataclass(frozen=True)
class LetterRun:
    sources: dict[str, Path]
    records: dict[str, dict[str, Any]]
    stderr: str


@pytest.fixture(scope="module")
def letter_run(kit: Kit) -> LetterRun:
    folder = kit.folder("letters")
    sources = pdfmakers.libreoffice_letters(folder, LETTERS, require_tool("soffice"))
    result, records = kit.stamp(*sources.values(), "--out-dir", folder / "out")
    assert result.exit_code == 0, (result.stderr, result.exception)
    return LetterRun(sources, {Path(r["file"]).stem: r for r in records}, result.stderr)


def _ink(image: Image.Image) -> Image.Image:
    """Dark pixels: the letter's black text."""
    return image.convert("L").point(lambda v: 255 if v < 128 else 0)


@pytest.mark.parametrize("name", ["centred", "right"])
def test_no_placeholder_ink_is_visible_outside_the_stamp(letter_run, name, tmp_path):
    """Rendered by PDFium with and without the stamp: the pixels the stamp changed span a
    square, and every dark pixel of the placeholder's line in the letter lies inside it."""
    record = letter_run.records[name]
    assert (record["placement"], record["placeholder_text"]) == ("placeholder", PLACEHOLDERS[name])
    before = render_pdfium(letter_run.sources[name], DPI, tmp_path / "before.png")
    after = render_pdfium(Path(record["output"]), DPI, tmp_path / "after.png")
    changed = ImageChops.difference(before, after).convert("L").point(lambda v: 255 if v else 0)
    stamp = changed.getbbox()
    assert stamp is not None
    px = DPI / 72
    page_height = float(pypdf.PdfReader(letter_run.sources[name]).pages[0].mediabox.top)
    x0, y0, x1, y1 = record["rect_pt"]
    expected = (x0 * px, (page_height - y1) * px, x1 * px, (page_height - y0) * px)
    assert stamp == pytest.approx(expected, abs=2)
    # the placeholder's line: the middle of the band its words fill, across the whole page
    # (the middle: the lines above and below reach into the band with their descenders)
    words = [w for w in _word_boxes(letter_run.sources[name]) if w[4] in PLACEHOLDERS[name].split()]
    top, bottom = min(w[1] for w in words) * px, max(w[3] for w in words) * px
    top, bottom = top + 0.3 * (bottom - top), bottom - 0.3 * (bottom - top)
    ink = _ink(before).crop((0, round(top), before.width, round(bottom)))
    ink_box = ink.getbbox()
    assert ink_box is not None
    left, right = ink_box[0], ink_box[2]
    assert stamp[0] <= left and right <= stamp[2], (ink_box, stamp)
    assert stamp[1] <= top and bottom <= stamp[3], ((top, bottom), stamp)
    assert right - left > 0.8 * sum(w[2] - w[0] for w in words) * px  # the words' ink, all of it
    assert f'{record["file"]}: placed on "{PLACEHOLDERS[name]}" on page 1' in letter_run.stderr


def test_a_sentence_with_the_word_gets_the_fallback_not_a_stamp_over_it(letter_run):
    record = letter_run.records["sentence"]
    assert (record["placement"], record["placeholder_text"]) == ("fallback", None)
    centre = _reader_centre_mm(Path(record["output"]), 0, record["rect_pt"])
    assert centre[0] > 105 and centre[1] > 148.5, "not in the bottom-right quarter"


def test_every_stamped_letter_verifies(letter_run, kit):
    for record in letter_run.records.values():
        output = Path(record["output"])
        verdict = kit.verifier().verify(output.read_bytes(), str(output))
        assert verdict.valid, verdict


def test_dry_run_names_the_placeholder_in_human_output_and_json(letter_run, kit):
    source = letter_run.sources["centred"]
    result, (record,) = kit.stamp(source, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert record["placeholder_text"] == "Meterai Rp10.000"
    assert f'{source}: would stamp on "Meterai Rp10.000" on page 1 at ' in result.stderr
    assert "to cover its placeholder" in result.stderr


def _word_boxes(pdf: Path) -> list[tuple[float, float, float, float, str]]:
    """Words of page 1 as poppler's pdftotext measures them: (x0, top, x1, bottom, text) in
    points from the page's top-left."""
    import re

    out = subprocess.run(
        [require_tool("pdftotext"), "-bbox", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    pattern = (
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    )
    return [
        (float(a), float(b), float(c), float(d), t) for a, b, c, d, t in re.findall(pattern, out)
    ]
