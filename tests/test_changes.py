"""What changed after a stamp (emeterai/_changes.py; docs/security.md, 2-4).

Each attack is a real incremental update (pypdf or pyHanko) on a document stamped by the
library. Each test asserts the exact problem codes; where the attack is about what readers
show, the attacked page is rendered with poppler, MuPDF and PDFium and the test asserts that
the readers really show the change (the pixels in the NIK or stamp area differ from the
stamped document's), so the check is about a real effect, not a syntactic guess.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from test_verify import (
    SAMPLE,
    SAMPLE_STAMP_RECT,
    Stamped,
    assert_only,
    codes,
    details,
    stamp,
)

from emeterai.verify import MODIFIED_AFTER_STAMP, STAMP_NOT_SHOWN
from emeterai.wallet import Wallet
from tests.support import attacks
from tests.support.common import require_tool

DPI = 50
PAGE_HEIGHT = 841.89
ELSEWHERE = (80.0, 80.0, 151.0, 151.0)  # blank space low on the left of the sample letter


@pytest.fixture
def wallet(wallet_with_stamps) -> Wallet:
    return wallet_with_stamps(4)


@pytest.fixture
def stamped(wallet: Wallet, tmp_path: Path) -> Stamped:
    src = tmp_path / "lamaran.pdf"
    shutil.copyfile(SAMPLE, src)
    return stamp(src, tmp_path / "lamaran.emeterai.pdf", wallet)


# -- rendering -----------------------------------------------------------------------------------


def render(data: bytes, reader: str, workdir: Path) -> Image.Image:
    """Page 1 of ``data`` as ``reader`` shows it, at 50 dpi, RGB."""
    src = workdir / "in.pdf"
    src.write_bytes(data)
    if reader == "poppler":
        subprocess.run(
            [
                require_tool("pdftoppm"),
                "-r",
                str(DPI),
                "-f",
                "1",
                "-l",
                "1",
                "-png",
                "-singlefile",
                str(src),
                str(workdir / "poppler"),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return Image.open(workdir / "poppler.png").convert("RGB")
    if reader == "mupdf":
        out = workdir / "mupdf.png"
        subprocess.run(
            [require_tool("mutool"), "draw", "-q", "-r", str(DPI), "-o", str(out), str(src), "1"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return Image.open(out).convert("RGB")
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    pdf.init_forms()
    image = pdf[0].render(scale=DPI / 72, may_draw_forms=True).to_pil().convert("RGB")
    pdf.close()
    return image


def region_change(a: Image.Image, b: Image.Image, rect: tuple[float, float, float, float]) -> float:
    """Percentage of pixels inside ``rect`` (PDF points) that differ clearly between two renders."""
    s = DPI / 72
    box = (
        int(rect[0] * s) + 1,
        int((PAGE_HEIGHT - rect[3]) * s) + 1,
        int(rect[2] * s) - 1,
        int((PAGE_HEIGHT - rect[1]) * s) - 1,
    )
    diff = ImageChops.difference(a.crop(box), b.crop(box)).convert("L")
    histogram = diff.histogram()
    return 100 * sum(histogram[48:]) / max(1, sum(histogram))


READERS = ["poppler", "mupdf", "pdfium"]


def readers_showing_change(
    before: bytes, after: bytes, rect: tuple[float, float, float, float], tmp_path: Path
) -> set[str]:
    """The readers whose render of ``after`` differs clearly from ``before`` inside ``rect``."""
    shown = set()
    for reader in READERS:
        work = tmp_path / reader
        work.mkdir(exist_ok=True)
        if region_change(render(before, reader, work), render(after, reader, work), rect) > 8:
            shown.add(reader)
    return shown


def assert_readers_show_change(
    before: bytes,
    after: bytes,
    rect: tuple[float, float, float, float],
    tmp_path: Path,
    readers: set[str] | None = None,
) -> None:
    """Every reader of ``readers`` (default: all three) shows the change."""
    expected = readers if readers is not None else set(READERS)
    shown = readers_showing_change(before, after, rect, tmp_path)
    assert expected <= shown, f"only {sorted(shown)} show the change"


# MuPDF (mutool draw) does not show an unsigned signature field's appearance, and MuPDF and
# PDFium (with forms) draw widgets after the other annotations: there, a Square above the stamp
# in /Annots does not hide it. poppler follows /Annots, as the PDF specification says.
UNSIGNED_FIELD_READERS = {"poppler", "pdfium"}
ANNOTS_ORDER_READERS = {"poppler"}


# -- class 2: appearances added through signature fields -----------------------------------------


@pytest.mark.parametrize(
    ("rect", "what"),
    [(attacks.NIK_RECT, "nik"), (SAMPLE_STAMP_RECT, "stamp")],
    ids=["white-box-over-the-nik", "white-box-over-the-stamp"],
)
def test_unsigned_field_painting_on_the_page_is_modified_after_stamp(
    stamped, verifier, tmp_path, rect, what
):
    attacked = attacks.unsigned_field_painting(stamped.data, rect)
    result = verifier.verify(attacked, "unsigned.pdf")
    # over the stamp, it is also drawn above it
    expected = {MODIFIED_AFTER_STAMP} | ({STAMP_NOT_SHOWN} if what == "stamp" else set())
    assert codes(result) == expected
    assert any(
        "unsigned signature field 'Paraf'" in d for d in details(result, MODIFIED_AFTER_STAMP)
    )
    assert_readers_show_change(stamped.data, attacked, rect, tmp_path, UNSIGNED_FIELD_READERS)


def test_unsigned_field_writing_new_text_is_modified_after_stamp(stamped, verifier, tmp_path):
    text = b"BT /Helvetica 12 Tf 2 4 Td (LUNAS) Tj ET"
    attacked = attacks.unsigned_field_painting(stamped.data, (72, 600, 200, 620), text)
    assert_only(verifier.verify(attacked, "text.pdf"), MODIFIED_AFTER_STAMP)


def test_unsigned_field_without_appearance_stays_valid(stamped, verifier):
    result = verifier.verify(attacks.unsigned_field_without_appearance(stamped.data), "empty.pdf")
    assert result.valid, [p.to_json() for p in result.problems]
    assert result.later_signatures == ()


def test_self_signed_white_box_over_the_stamp_is_modified_and_hides_it(stamped, verifier, tmp_path):
    attacked = attacks.self_signed_field(
        stamped.data, SAMPLE_STAMP_RECT, background=attacks.white_pdf()
    )
    result = verifier.verify(attacked, "cover.pdf")
    assert not result.valid
    # drawn over the stamp (later in /Annots) and overlapping it
    assert codes(result) == {MODIFIED_AFTER_STAMP, STAMP_NOT_SHOWN}
    assert any("overlaps the stamp" in d for d in details(result, MODIFIED_AFTER_STAMP))
    assert_readers_show_change(stamped.data, attacked, SAMPLE_STAMP_RECT, tmp_path)


def test_self_signed_copy_of_the_stamp_picture_elsewhere_is_modified_after_stamp(
    stamped, verifier, tmp_path
):
    import hashlib

    copy = attacks.picture(stamped.serial, hashlib.sha256(stamped.original).hexdigest())
    attacked = attacks.self_signed_field(stamped.data, ELSEWHERE, background=copy)
    result = verifier.verify(attacked, "copy.pdf")
    assert_only(result, MODIFIED_AFTER_STAMP)
    assert any("stamp's serial" in d for d in details(result, MODIFIED_AFTER_STAMP))
    assert_readers_show_change(stamped.data, attacked, ELSEWHERE, tmp_path)


@pytest.mark.parametrize(
    ("tweak", "detail"),
    [
        (attacks.uri_action, "actions"),
        (attacks.javascript_aa, "actions"),
        (attacks.embedded_file, "embedded files"),
    ],
    ids=["uri-action", "javascript-aa", "embedded-file"],
)
def test_self_signed_field_bringing_more_than_a_signature_is_modified_after_stamp(
    stamped, verifier, tweak, detail
):
    attacked = attacks.self_signed_field(stamped.data, ELSEWHERE, tweak=tweak)
    result = verifier.verify(attacked, "extra.pdf")
    assert_only(result, MODIFIED_AFTER_STAMP)
    assert any(detail in d for d in details(result, MODIFIED_AFTER_STAMP)), details(
        result, MODIFIED_AFTER_STAMP
    )


def test_later_signature_that_does_not_match_its_bytes_is_modified_after_stamp(stamped, verifier):
    cosigned = attacks.cosign(stamped.data)
    # one digit of the later signature's own CMS value (its /Contents)
    _, start, _, _ = attacks.byte_ranges(cosigned)[-1]
    at = next(i for i in range(start + 200, len(cosigned)) if cosigned[i : i + 1].isdigit())
    attacked = attacks.change_byte(cosigned, at)
    result = verifier.verify(attacked, "broken-later.pdf")
    assert not result.valid
    assert any("not intact" in d for d in details(result, MODIFIED_AFTER_STAMP))


def test_later_visible_signature_in_blank_space_is_valid_and_reported(stamped, verifier):
    result = verifier.verify(attacks.cosign(stamped.data, "Budi Santoso"), "cosigned.pdf")
    assert result.valid, [p.to_json() for p in result.problems]
    (later,) = result.later_signatures
    assert later.to_json() == {
        "field": "Signature2",
        "signer": "CN=Budi Santoso",
        "page": 1,
        "rect_pt": [72.0, 72.0, 272.0, 122.0],
    }
    assert result.to_json()["later_signatures"] == [later.to_json()]


def test_later_signature_over_page_content_is_allowed_and_reported(stamped, verifier):
    """Decision: a genuine later signature may draw over what was on the page (an applicant
    signs over the signature line); it is reported, so that the office sees it."""
    attacked = attacks.self_signed_field(
        stamped.data, attacks.NIK_RECT, background=attacks.white_pdf()
    )
    result = verifier.verify(attacked, "over-nik.pdf")
    assert result.valid, [p.to_json() for p in result.problems]
    assert [s.rect_pt for s in result.later_signatures] == [attacks.NIK_RECT]


def test_second_stamp_is_valid_and_listed_as_a_later_signature(stamped, verifier, tmp_path):
    second = stamp(stamped.path, tmp_path / "two.pdf", stamped.wallet, add_stamp=True)
    result = verifier.verify(second.data, "two.pdf")
    assert result.valid, [p.to_json() for p in result.problems]
    assert [s.field for s in result.later_signatures] == [f"eMeterai_{second.serial}"]


def test_metadata_change_after_the_stamp_reports_no_later_signature(stamped, verifier):
    result = verifier.verify(attacks.change_metadata(stamped.data), "meta.pdf")
    assert result.valid
    assert result.to_json()["later_signatures"] == []


# -- class 3: form state that changes what readers draw ------------------------------------------


@pytest.fixture
def prepared(wallet, tmp_path) -> Stamped:
    """A letter with a text field whose value shows nothing (empty appearance), stamped."""
    src = tmp_path / "prepared.pdf"
    shutil.copyfile(SAMPLE, src)
    attacks.prepare_text_field(src)
    return stamp(src, tmp_path / "prepared.emeterai.pdf", wallet)


def test_prepared_field_document_is_valid_when_stamped(prepared, verifier):
    result = verifier.verify(prepared.data, "prepared.pdf")
    assert result.valid, [p.to_json() for p in result.problems]


def test_need_appearances_set_after_the_stamp_is_modified_after_stamp(prepared, verifier, tmp_path):
    attacked = attacks.set_need_appearances(prepared.data)
    result = verifier.verify(attacked, "need.pdf")
    assert_only(result, MODIFIED_AFTER_STAMP)
    assert any("/NeedAppearances" in d for d in details(result, MODIFIED_AFTER_STAMP))
    # the readers that honour /NeedAppearances now draw the prepared value
    shown = readers_showing_change(prepared.data, attacked, attacks.NIK_RECT, tmp_path)
    print("readers that redraw the field:", sorted(shown))
    assert shown, "no reader redraws the field"


def test_field_da_changed_after_the_stamp_is_modified_after_stamp(prepared, verifier):
    result = verifier.verify(attacks.change_field_da(prepared.data), "da.pdf")
    assert_only(result, MODIFIED_AFTER_STAMP)
    assert any("'catatan'" in d for d in details(result, MODIFIED_AFTER_STAMP))


# -- class 4: z-order ----------------------------------------------------------------------------


def test_opaque_annotation_moved_above_the_stamp_is_modified_and_not_shown(
    wallet,
    verifier,
    tmp_path,
):
    src = tmp_path / "square.pdf"
    shutil.copyfile(SAMPLE, src)
    attacks.add_square(src, SAMPLE_STAMP_RECT)
    stamped_doc = stamp(src, tmp_path / "square.emeterai.pdf", wallet, at_mm=(158.0, 232.0))
    assert verifier.verify(stamped_doc.data, "under.pdf").valid  # the stamp is drawn on top
    attacked = attacks.move_first_annotation_last(stamped_doc.data)
    result = verifier.verify(attacked, "reordered.pdf")
    assert codes(result) == {MODIFIED_AFTER_STAMP, STAMP_NOT_SHOWN}
    assert any("reordered" in d for d in details(result, MODIFIED_AFTER_STAMP))
    assert_readers_show_change(
        stamped_doc.data, attacked, SAMPLE_STAMP_RECT, tmp_path, ANNOTS_ORDER_READERS
    )


def test_opaque_annotation_added_over_the_stamp_is_modified_and_not_shown(
    stamped, verifier, tmp_path
):
    attacked = attacks.square_over_stamp(stamped.data, SAMPLE_STAMP_RECT)
    result = verifier.verify(attacked, "over.pdf")
    assert codes(result) == {MODIFIED_AFTER_STAMP, STAMP_NOT_SHOWN}
    assert any("drawn over the stamp" in d for d in details(result, STAMP_NOT_SHOWN))
    assert_readers_show_change(
        stamped.data, attacked, SAMPLE_STAMP_RECT, tmp_path, ANNOTS_ORDER_READERS
    )


def test_a_file_attachment_annotation_after_the_stamp_is_modified_after_stamp(stamped, verifier):
    attacked = attacks.add_file_attachment(stamped.data)
    result = verifier.verify(attacked, "attached.pdf")
    assert_only(result, MODIFIED_AFTER_STAMP)
    assert any(
        "FileAttachment annotation was added" in d for d in details(result, MODIFIED_AFTER_STAMP)
    ), details(result, MODIFIED_AFTER_STAMP)


@pytest.mark.parametrize("change_first", [False, True], ids=["added", "rewritten"])
def test_a_direct_annotation_added_or_rewritten_after_the_stamp_is_modified_after_stamp(
    wallet, verifier, tmp_path, change_first
):
    """Annotations written straight into /Annots (no reference) were all one key (None): on a
    page that had one before the stamp, another one added later passed unnoticed."""
    import io

    import pypdf

    from tests.support.pdfmakers import direct_annotation_pdf

    src = direct_annotation_pdf(tmp_path / "noted.pdf")
    stamped = stamp(src, tmp_path / "noted.emeterai.pdf", wallet)
    assert verifier.verify(stamped.data, "noted.pdf").valid
    attacked = attacks.add_direct_annotation(stamped.data, change_first=change_first)
    annots = pypdf.PdfReader(io.BytesIO(attacked)).pages[0]["/Annots"]
    assert len(annots) == (2 if change_first else 3)
    result = verifier.verify(attacked, "noted-attacked.pdf")
    assert_only(result, MODIFIED_AFTER_STAMP)
    expected = "removed" if change_first else "FreeText annotation was added"
    assert any(expected in d for d in details(result, MODIFIED_AFTER_STAMP)), details(
        result, MODIFIED_AFTER_STAMP
    )
