"""emeterai.shrink: a smaller copy before stamping, from real producers' files (img2pdf scans,
reportlab and LibreOffice letters with a photo, the shared corpus).

Every copy is checked as a reader sees it: qpdf --check passes, the text is the same, and the
pages look the same (rendered before and after by poppler, a small mean pixel difference).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import random
import subprocess
import time
import zlib
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageChops, ImageDraw

from emeterai.errors import OutputError, PdfError
from emeterai.shrink import LEVELS, MAX_INFLATED, Outcome, shrink, shrink_file
from emeterai.sizes import format_size
from tests.support.common import corpus_dir, require_tool
from tests.support.producers import (
    MM,
    deflate_bomb_pdf,
    jpeg,
    letter_pdf,
    photo,
    raw_pdf,
    scan_pdf,
    signed_pdf,
    tool,
)
from tests.support.readers import (
    assert_same_to_a_reader,
)

# -- inputs from real producers -------------------------------------------------------------------


def letter_with_photo(photo_mm: float = 60.0) -> bytes:
    """A reportlab letter with a 1600x1200 photo drawn ``photo_mm`` wide (about 680 dpi)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(210 * MM, 297 * MM), invariant=1)
    c.setFont("Times-Roman", 12)
    c.drawString(25 * MM, 270 * MM, "Surat lamaran CPNS, dengan pas foto")
    c.drawString(25 * MM, 262 * MM, "Dengan hormat, saya mengajukan lamaran.")
    picture = ImageReader(io.BytesIO(jpeg(photo(1600, 1200))))
    c.drawImage(picture, 25 * MM, 150 * MM, width=photo_mm * MM, height=photo_mm * 0.75 * MM)
    c.drawString(140 * MM, 60 * MM, "Meterai 10.000")
    c.drawString(140 * MM, 40 * MM, "Rina Ayu Lestari")
    c.showPage()
    c.save()
    return buf.getvalue()


def libreoffice_letter_with_photo(folder: Path) -> bytes:
    """A letter with a photo 6 cm wide, exported to PDF by LibreOffice Writer."""
    exe = tool("soffice") or require_tool("libreoffice")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "photo.jpg").write_bytes(jpeg(photo(1600, 1200)))
    (folder / "letter.html").write_text(
        "<!doctype html><meta charset=utf-8><title>Lamaran</title>"
        "<h1>Surat lamaran CPNS</h1><p>Dengan hormat, saya mengajukan lamaran.</p>"
        "<p><img src='photo.jpg' width='227' height='170'></p>"
        "<p>Meterai 10.000</p><p>Rina Ayu Lestari</p>"
    )
    subprocess.run(
        [
            exe,
            f"-env:UserInstallation={(folder / 'profile').resolve().as_uri()}",
            "--headless",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(folder / "out"),
            str(folder / "letter.html"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return (folder / "out" / "letter.pdf").read_bytes()


# -- what a reader sees -----------------------------------------------------------------------


def image_sizes(data: bytes) -> list[tuple[int, int]]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [
            (int(img.Width), int(img.Height))
            for page in pdf.pages
            for img in page.get_images().values()
        ]


# -- shrinking ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scan() -> bytes:
    return scan_pdf(300)


def test_a_300_dpi_scan_is_downsampled_to_200_dpi_and_looks_the_same(scan, tmp_path):
    result = shrink(scan, "scan.pdf")
    assert result.outcome is Outcome.SHRUNK
    assert result.size_after == len(result.data) < len(scan) / 2
    assert (result.dpi, result.images_resampled, result.images_reencoded) == (200, 1, 1)
    assert result.summary().startswith("scan.pdf: 1.")
    assert "(1 image downsampled to 200 dpi, JPEG quality 85)" in result.summary()
    ((width, height),) = image_sizes(result.data)
    assert (width, height) == (round(2480 * 200 / 300), round(3508 * 200 / 300))
    assert_same_to_a_reader(scan, result.data, tmp_path)


def test_the_gentlest_step_that_fits_the_cap_is_taken(scan):
    """Lossless when it fits, 200 dpi before 150 dpi, lower JPEG quality last."""
    sizes = {level.name: len(shrink_level(scan, level.name)) for level in LEVELS}
    assert shrink(scan, "s.pdf", max_size=sizes["lossless"]).level == "lossless"
    assert shrink(scan, "s.pdf", max_size=sizes["lossless"] - 1).level == "200dpi"
    assert shrink(scan, "s.pdf", max_size=sizes["200dpi"] - 1).level == "150dpi"
    strongest = shrink(scan, "s.pdf", max_size=sizes["150dpi"] - 1)
    assert strongest.level == "150dpi-q60" and strongest.fits


def shrink_level(data: bytes, name: str) -> bytes:
    from emeterai.shrink import _apply

    (level,) = [lv for lv in LEVELS if lv.name == name]
    return _apply(data, level).data


def test_a_cap_that_cannot_be_met_gives_the_smallest_copy_and_says_by_how_much(scan, tmp_path):
    result = shrink(scan, "scan.pdf", max_size=10_000)
    assert not result.fits
    assert result.level == "150dpi-q60"
    assert result.over_by == result.size_after - 10_000 > 0
    assert result.size_after == min(len(shrink_level(scan, lv.name)) for lv in LEVELS)
    record = result.to_json()
    assert (record["fits"], record["over_by"], record["size_after"]) == (
        False,
        result.over_by,
        len(result.data),
    )
    assert_same_to_a_reader(scan, result.data, tmp_path)


def test_the_photo_of_a_reportlab_letter_is_sized_for_where_it_is_shown(tmp_path):
    """The photo is 1600 px drawn 60 mm wide (677 dpi): 200 dpi at 60 mm is 472 px."""
    letter = letter_with_photo(60.0)
    result = shrink(letter, "letter.pdf")
    assert image_sizes(result.data) == [(round(60 / 25.4 * 200), round(45 / 25.4 * 200))]
    assert result.size_after < len(letter) / 2
    assert_same_to_a_reader(letter, result.data, tmp_path)


def test_a_photo_shown_twice_keeps_the_resolution_of_its_largest_use():
    """reportlab stores one image drawn at 60 mm and at 120 mm once: 120 mm decides."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(210 * MM, 297 * MM), invariant=1)
    picture = ImageReader(io.BytesIO(jpeg(photo(1600, 1200))))
    c.drawImage(picture, 20 * MM, 200 * MM, width=60 * MM, height=45 * MM)
    c.drawImage(picture, 20 * MM, 40 * MM, width=120 * MM, height=90 * MM)
    c.showPage()
    c.save()
    result = shrink(buf.getvalue(), "twice.pdf")
    assert image_sizes(result.data) == [(945, 709)]  # 120 mm at 200 dpi


def test_a_libreoffice_letter_with_a_photo_shrinks_and_looks_the_same(tmp_path):
    letter = libreoffice_letter_with_photo(tmp_path / "soffice")
    result = shrink(letter, "letter.pdf")
    assert result.images_resampled == 1
    assert result.size_after < len(letter)
    assert_same_to_a_reader(letter, result.data, tmp_path / "compare")


def test_a_text_only_letter_gets_the_lossless_step_and_its_text_stays(tmp_path):
    letter = letter_pdf(3, compress=False)
    result = shrink(letter, "letter.pdf")
    assert result.images_resampled == result.images_reencoded == 0
    assert result.done == "streams recompressed, unused objects removed"
    assert result.size_after < len(letter)
    assert_same_to_a_reader(letter, result.data, tmp_path)


def test_a_file_nothing_can_shrink_is_copied_unchanged():
    tight = shrink(letter_pdf(1), "letter.pdf").data
    result = shrink(tight, "tight.pdf")
    assert result.outcome is Outcome.UNCHANGED
    assert result.data == tight and result.size_after == len(tight)


def png(image: Image.Image, dpi: int = 300) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=(dpi, dpi))
    return buf.getvalue()


def diagram(width: int, height: int, boxes: int = 1500) -> Image.Image:
    """A dense flat-colour diagram (boxes, hatching, connectors, labels in six colours, drawn
    without anti-aliasing), as a chart or a floor plan is exported."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    colours = ["#1f4e9a", "#d62728", "#2ca02c", "#ff7f0e", "#7f3fbf", "#222222"]
    rng = random.Random(7)
    for n in range(boxes):
        x, y = rng.randrange(0, width - 100), rng.randrange(0, height - 60)
        draw.rectangle((x, y, x + 90, y + 50), outline=colours[n % 6], width=2)
        end = (rng.randrange(width), rng.randrange(height))
        draw.line((x + 90, y + 25, *end), fill=colours[(n + 4) % 6], width=1)
        for k in range(0, 90, 4):
            draw.line((x + k, y + 30, x + k + 8, y + 48), fill=colours[(n + 2) % 6], width=1)
        draw.text((x + 4, y + 4), f"T{n}", fill=colours[5], font_size=18)
    return image


def text_scan(mode: str, dpi: int = 300) -> Image.Image:
    """An A4 page of text as a scanner writes it: grey (light paper noise) or bilevel."""
    size = (round(210 / 25.4 * dpi), round(297 / 25.4 * dpi))
    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    for line in range(60):
        words = " ".join(f"kata{(line * 7 + i) % 97}" for i in range(9))
        draw.text((dpi, dpi + line * dpi // 6), words, fill=20, font_size=dpi // 9)
    if mode == "1":
        return page.convert("1")
    noise = Image.effect_noise(size, 12).point(lambda v: 255 - max(0, v - 128) // 2)
    return ImageChops.darker(page, noise)


def filters_of_images(data: bytes) -> list[str]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [str(img.get("/Filter")) for page in pdf.pages for img in page.get_images().values()]


def test_a_flat_colour_diagram_never_becomes_a_jpeg(tmp_path):
    """Its colours are counted before the resize: Lanczos blends the edges into thousands of
    colours, which made the drawing pass for a photograph and become a (smaller, blurred) JPEG.
    Downsampled losslessly it would be larger than it is, so it is kept, pixel for pixel."""
    import img2pdf

    picture = diagram(2400, 1600)
    assert len(picture.getcolors(1024) or []) <= 16
    source = bytes(img2pdf.convert(png(picture)))
    for max_size in (None, 1):
        result = shrink(source, "bagan.pdf", max_size=max_size)
        assert result.images_reencoded == 0, result.done
        assert filters_of_images(result.data) == ["/FlateDecode"]
        with pikepdf.open(io.BytesIO(result.data)) as pdf:
            (image,) = pdf.pages[0].get_images().values()
            kept = pikepdf.PdfImage(image).as_pil_image()
        assert ImageChops.difference(kept.convert("RGB"), picture).getbbox() is None


def test_a_grey_text_scan_is_downsampled_losslessly_and_a_bilevel_one_kept(tmp_path):
    import img2pdf

    grey = bytes(img2pdf.convert(png(text_scan("L"))))
    result = shrink(grey, "surat.pdf")
    assert (result.images_resampled, result.images_reencoded) == (1, 0), result.done
    assert filters_of_images(result.data) == ["/FlateDecode"]
    assert result.size_after < len(grey)
    assert_same_to_a_reader(grey, result.data, tmp_path / "grey")
    bilevel = bytes(img2pdf.convert(png(text_scan("1"))))
    kept = shrink(bilevel, "surat.pdf")
    assert (kept.images_resampled, kept.images_reencoded) == (0, 0)
    assert image_sizes(kept.data) == image_sizes(bilevel)


# -- refusals ---------------------------------------------------------------------------------


def test_a_signed_file_is_refused_with_the_advice_to_shrink_the_original():
    signed = signed_pdf(letter_pdf(1))
    with pytest.raises(PdfError) as caught:
        shrink(signed, "signed.pdf")
    assert caught.value.path == "signed.pdf"
    assert "'TandaTanganPemohon'" in caught.value.message
    assert "shrink the original before stamping" in caught.value.message


def test_an_encrypted_file_is_refused(tmp_path):
    with pikepdf.open(io.BytesIO(letter_pdf(1))) as pdf:
        out = io.BytesIO()
        pdf.save(out, encryption=pikepdf.Encryption(user="rahasia", owner="pemilik"))
        owner_only = io.BytesIO()
        pdf.save(owner_only, encryption=pikepdf.Encryption(user="", owner="pemilik"))
    for data in (out.getvalue(), owner_only.getvalue()):
        with pytest.raises(PdfError, match="encrypted"):
            shrink(data, "locked.pdf")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"Ini bukan PDF.\n" * 5, "not a PDF"),
        ((lambda d: d[: len(d) // 2])(letter_pdf(2)), "damaged"),
    ],
    ids=["empty", "not-a-pdf", "truncated"],
)
def test_what_is_not_a_sound_pdf_is_refused_naming_the_file(data, reason):
    with pytest.raises(PdfError, match=reason) as caught:
        shrink(data, "bad.pdf")
    assert caught.value.path == "bad.pdf"
    assert "\n" not in str(caught.value)


def test_a_deflate_bomb_is_refused_before_anything_inflates_it():
    start = time.monotonic()
    with pytest.raises(PdfError, match="inflates to more than"):
        shrink(deflate_bomb_pdf(), "bomb.pdf")
    assert time.monotonic() - start < 30
    assert MAX_INFLATED < 1100 * 1024**2


# -- bombs in any filter chain ---------------------------------------------------------------

BOMB_MIB = 300  # inflated size of the bombs below: beyond MAX_INFLATED


def _deflated_zeros(mib: int) -> bytes:
    """``mib`` MiB of zeros deflated, made one MiB at a time (never held inflated)."""
    deflater = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    return b"".join([deflater.compress(chunk) for _ in range(mib)] + [deflater.flush()])


def _lzw_zeros(count: int) -> bytes:
    """``count`` zero bytes LZW-encoded (EarlyChange 1) as the PDF reference describes it: after
    a clear code, a zero, then each code the next free one, standing for one zero more than the
    last; a clear code before the table is full."""
    codes: list[tuple[int, int]] = [(256, 9)]
    width, free, left, first = 9, 258, count, True
    while left:
        if first:
            codes.append((0, width))
            left, first = left - 1, False
            continue
        run = free - 258 + 2
        code = free if run <= left else (258 + left - 2 if left > 1 else 0)
        codes.append((code, width))
        left -= min(run, left)
        if free + 1 in (511, 1023, 2047):
            width += 1
        free += 1
        if free >= 4094 and left:
            codes.append((256, width))
            width, free, first = 9, 258, True
    codes.append((257, width))
    bits = "".join(format(code, f"0{size}b") for code, size in codes)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _bomb_pdf(data: bytes, filters: bytes) -> bytes:
    content = b"<< /Length %d /Filter %s >>\nstream\n" % (len(data), filters) + data
    return raw_pdf(
        [
            (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            (
                3,
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> /Contents 4 0 R >>",
            ),
            (4, content + b"\nendstream"),
        ]
    )


def hex_bomb(mib: int = BOMB_MIB) -> bytes:
    return _bomb_pdf(
        binascii.hexlify(_deflated_zeros(mib)) + b">", b"[/ASCIIHexDecode /FlateDecode]"
    )


def a85_bomb(mib: int = BOMB_MIB) -> bytes:
    data = base64.a85encode(_deflated_zeros(mib), wrapcol=76) + b"~>"
    return _bomb_pdf(data, b"[/ASCII85Decode /FlateDecode]")


def run_length_bomb(mib: int = BOMB_MIB) -> bytes:
    """Runs of 128 zeros (two bytes each), themselves deflated: Flate alone stays small."""
    runs = b"\x81\x00" * (mib * (1 << 20) // 128) + b"\x80"
    return _bomb_pdf(zlib.compress(runs, 9), b"[/FlateDecode /RunLengthDecode]")


def lzw_bomb(mib: int = BOMB_MIB) -> bytes:
    return _bomb_pdf(_lzw_zeros(mib * (1 << 20)), b"/LZWDecode")


def test_the_lzw_and_run_length_bombs_decode_as_built_by_qpdf():
    """The small versions of the bombs decode, by qpdf, to exactly the zeros they claim."""
    for make in (hex_bomb, a85_bomb, run_length_bomb, lzw_bomb):
        with pikepdf.open(io.BytesIO(make(3))) as pdf:
            contents = pdf.pages[0].obj.Contents
            decoded = contents.read_bytes(decode_level=pikepdf.StreamDecodeLevel.specialized)
            assert decoded == bytes(3 << 20), make.__name__
            assert not pdf.get_warnings()


_CHILD = """
import json, resource, sys
from emeterai.errors import PdfError
from emeterai.shrink import shrink
data = open(sys.argv[1], "rb").read()
try:
    shrink(data, "bomb.pdf")
    outcome = "accepted"
except PdfError as exc:
    outcome = exc.message
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"outcome": outcome, "peak": rss}))
"""


def shrink_in_a_child(data: bytes, folder: Path) -> tuple[str, int]:
    """What shrink says about ``data`` and the peak memory (RSS, bytes) of a fresh process
    doing it; the process may not grow beyond 2 GiB of address space whatever happens."""
    import json
    import resource
    import sys

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    path = folder / "input.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=cap,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(done.stdout.strip().splitlines()[-1])
    return record["outcome"], record["peak"]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> int:
    """The peak memory of shrinking a one-page letter in a fresh process."""
    outcome, peak = shrink_in_a_child(letter_pdf(1), tmp_path_factory.mktemp("baseline"))
    assert outcome == "accepted"
    return peak


@pytest.mark.parametrize(
    ("make", "filters"),
    [
        (hex_bomb, "/ASCIIHexDecode /FlateDecode"),
        (a85_bomb, "/ASCII85Decode /FlateDecode"),
        (run_length_bomb, "/FlateDecode /RunLengthDecode"),
        (lzw_bomb, "/LZWDecode"),
    ],
    ids=["hex", "ascii85", "run-length", "lzw"],
)
def test_a_bomb_behind_any_filter_chain_is_refused_with_little_memory(
    make, filters, baseline, tmp_path
):
    """A reviewer's 612 KB hex-wrapped content stream inflated to 300 MB and was accepted
    (667 MB of memory, exit 0)."""
    bomb = make()
    assert len(bomb) < 1_000_000
    outcome, peak = shrink_in_a_child(bomb, tmp_path)
    assert f"inflates to more than {format_size(MAX_INFLATED)}" in outcome
    assert filters in outcome and "object 4" in outcome
    assert peak < baseline + 64 * 1024**2, (peak, baseline)


def test_a_predictor_before_another_filter_is_refused_as_unmeasurable():
    """Predictors are not applied when measuring, so what follows one could not be measured."""
    data = zlib.compress(zlib.compress(b"0" * 4096))
    bomb = _bomb_pdf(data, b"[/FlateDecode /FlateDecode] /DecodeParms [<< /Predictor 12 >> null]")
    with pytest.raises(PdfError, match="object 4 cannot be measured .a predictor on /FlateDecode"):
        shrink(bomb, "bomb.pdf")


def test_the_measure_agrees_with_qpdf_on_every_stream_of_the_corpus():
    """Never less than qpdf decodes (LZW, ASCII85, hex, Flate and chains from real producers),
    and exactly that where no predictor shrinks the data: nothing sound is refused."""
    from emeterai.shrink import _IMAGE_CODECS, _decodes_beyond, _filter_chain, _predictor

    folder = corpus_dir() / "py-pdf-sample-files"
    seen: set[str] = set()
    for rel in CORPUS_FILES:
        try:
            pdf = pikepdf.open(folder / rel)
        except (pikepdf.PdfError, pikepdf.PasswordError):
            continue  # encrypted
        with pdf:
            for obj in pdf.objects:
                if not isinstance(obj, pikepdf.Stream):
                    continue
                chain = _filter_chain(obj)
                if not chain or any(name in _IMAGE_CODECS for name, _ in chain):
                    continue
                try:
                    decoded = obj.read_bytes(decode_level=pikepdf.StreamDecodeLevel.specialized)
                except pikepdf.PdfError:
                    continue
                raw, size = obj.read_raw_bytes(), len(decoded)
                seen.update(name for name, _ in chain)
                where = f"{rel} object {obj.objgen[0]} {chain}"
                if size:
                    assert _decodes_beyond(raw, chain, size - 1), where
                if len(chain) == 1 and _predictor(chain[0][1]) == 1:
                    assert not _decodes_beyond(raw, chain, size), where
    assert {"/FlateDecode", "/LZWDecode", "/ASCII85Decode"} <= seen


def test_shrink_file_never_changes_the_input_and_writes_only_new_files(scan, tmp_path):
    source = tmp_path / "scan.pdf"
    source.write_bytes(scan)
    before = hashlib.sha256(scan).hexdigest()
    with pytest.raises(OutputError, match="is the input"):
        shrink_file(source, tmp_path / "." / "scan.pdf", force=True)
    out = tmp_path / "small.pdf"
    result = shrink_file(source, out)
    assert out.read_bytes() == result.data and result.output == str(out)
    with pytest.raises(OutputError, match="already exists"):
        shrink_file(source, out)
    assert shrink_file(source, out, max_size=300_000, force=True).fits
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan.pdf", "small.pdf"]


# -- the shared corpus ------------------------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "py-pdf-sample-files"
CORPUS_FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.pdf"))


@pytest.mark.parametrize("rel", CORPUS_FILES or ["(corpus missing)"])
def test_corpus_file_is_shrunk_soundly_or_refused_for_a_reason(rel, tmp_path):
    folder = corpus_dir() / "py-pdf-sample-files"
    data = (folder / rel).read_bytes()
    try:
        result = shrink(data, rel, max_size=1)
    except PdfError as exc:
        assert exc.path == rel
        assert any(
            word in exc.message for word in ("encrypted", "damaged", "cannot read", "signed")
        ), exc.message
        return
    assert result.size_after <= len(data)
    assert_same_to_a_reader(data, result.data, tmp_path)
