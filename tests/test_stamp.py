"""Stamping end to end (issue 3): the stamped PDF checked by independent tools, placement in
four renderers, earlier signatures and stamps, failures that must not burn a stamp, and
concurrent processes on one wallet.

Independent validators: qpdf, poppler (pdfsig, pdftotext, pdftoppm), MuPDF (mutool), Ghostscript,
PDFium (pypdfium2), pyHanko's own validation, zxing-cpp for the QR code. pdfsig and mutool exit 0
even when a digest does not match, so their text is what the tests read.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pdfmakers
import pypdf
import pytest
from conftest import PASSPHRASE, require_tool
from PIL import Image, ImageChops, ImageDraw
from typer.testing import CliRunner

from emeterai import serial as serials
from emeterai._render import qr_payload
from emeterai.cli import app
from emeterai.issuer import Issuer
from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.verify import Verifier
from emeterai.wallet import Wallet

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "lamaran.pdf"
MM = 72 / 25.4
STAMP_MM = 25.0
SPEC_JSON_KEYS = {
    "file",
    "output",
    "serial",
    "page",
    "rect_pt",
    "placement",
    "document_sha256",
    "bytes_added",
}
AT_MM = (45.0, 70.0)  # not symmetric: a wrong axis or turn puts the stamp elsewhere


def _placeholder_center_mm() -> tuple[float, float]:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_lamaran", ROOT / "samples" / "make_lamaran.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x, y = module.PLACEHOLDER_CENTER_MM
    return float(x), float(y)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("emeterai: error: ")]


def _states(wallet: Wallet) -> dict[str, str]:
    return {e.serial: e.state for e in wallet.entries()}


def _temp_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob(".*.tmp"))


# -- a shared, module-wide home: issuer, trust store, wallet -----------------------------------


@dataclass
class Kit:
    """One EMETERAI_HOME for the module: building it once keeps the suite fast."""

    home: Path
    work: Path
    issuer: Issuer
    root_pem: Path
    runner: CliRunner

    @property
    def env(self) -> dict[str, str]:
        return {"EMETERAI_HOME": str(self.home), "EMETERAI_PASSPHRASE": PASSPHRASE}

    @property
    def wallet(self) -> Wallet:
        return Wallet(self.home / "wallet" / "wallet.db")

    def cli(self, *args: Any) -> Any:
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        try:
            return self.runner.invoke(app, [str(a) for a in args], env=self.env)
        finally:
            root.handlers = handlers
            root.setLevel(level)

    def stamp(self, *args: Any) -> tuple[Any, list[dict[str, Any]]]:
        result = self.cli("stamp", *args, "--json")
        return result, _json_lines(result.stdout)

    def folder(self, name: str) -> Path:
        path = self.work / name
        path.mkdir(parents=True, exist_ok=False)
        return path

    def verifier(self) -> Verifier:
        return Verifier(TrustStore(self.home / "trust").certificates())


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    """A specimen "Test Issuer" (as the conftest ``issuer``) with 30 stamps, shared by the module."""
    base = tmp_path_factory.mktemp("stampkit")
    home = base / "home"
    issuer = Issuer.create(home / "issuer", PASSPHRASE, name="Test Issuer", specimen=True)
    TrustStore(home / "trust").add(issuer.root_pem(), "test issuer root")
    wallet = Wallet(home / "wallet" / "wallet.db")
    stamps = issuer.issue(30, PASSPHRASE)
    outcomes = wallet.import_stamps(
        [(s.serial, s.p12) for s in stamps], PASSPHRASE, TrustStore(home / "trust").certificates()
    )
    assert [o.status for o in outcomes] == ["imported"] * len(stamps)
    root_pem = base / "issuer-root.pem"
    root_pem.write_bytes(issuer.root_pem())
    return Kit(home, base / "work", issuer, root_pem, CliRunner())


def _asn1_cert(pem_or_der: bytes) -> Any:
    from asn1crypto import pem
    from asn1crypto import x509 as ax509

    if pem.detect(pem_or_der):
        pem_or_der = pem.unarmor(pem_or_der)[2]
    return ax509.Certificate.load(pem_or_der)


def _pyhanko_statuses(pdf: Path, roots: list[bytes]) -> dict[str, Any]:
    """pyHanko's validation status of every signature, by field name."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    out = {}
    with pdf.open("rb") as fh:
        reader = PdfFileReader(fh, strict=False)
        for emb in reader.embedded_signatures:
            context = ValidationContext(trust_roots=[_asn1_cert(r) for r in roots])
            out[emb.field_name] = validate_pdf_signature(emb, context)
    return out


def _nss_db(folder: Path, pems: list[bytes]) -> Path:
    certutil = require_tool("certutil")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([certutil, "-N", "-d", f"sql:{folder}", "--empty-password"], check=True)
    for i, pem in enumerate(pems):
        path = folder / f"root{i}.pem"
        path.write_bytes(pem)
        subprocess.run(
            [
                certutil,
                "-A",
                "-d",
                f"sql:{folder}",
                "-n",
                f"root{i}",
                "-t",
                "C,C,C",
                "-i",
                str(path),
            ],
            check=True,
        )
    return folder


def _pdfsig(pdf: Path, nss: Path) -> str:
    pdfsig = require_tool("pdfsig")
    proc = subprocess.run(
        [pdfsig, "-nssdir", f"sql:{nss}", str(pdf)], capture_output=True, text=True, timeout=60
    )
    return proc.stdout + proc.stderr


def _mutool_verify(pdf: Path) -> str:
    mutool = require_tool("mutool")
    proc = subprocess.run(
        [mutool, "sign", "-v", str(pdf)], capture_output=True, text=True, timeout=60
    )
    return proc.stdout + proc.stderr


# -- renderers ----------------------------------------------------------------------------------


def render_poppler(pdf: Path, dpi: int, out: Path) -> Image.Image:
    pdftoppm = require_tool("pdftoppm")
    prefix = out.with_suffix("")
    subprocess.run(
        [
            pdftoppm,
            "-r",
            str(dpi),
            "-cropbox",
            "-png",
            "-singlefile",
            "-f",
            "1",
            "-l",
            "1",
            str(pdf),
            str(prefix),
        ],
        check=True,
        timeout=60,
    )
    return Image.open(prefix.with_suffix(".png")).convert("RGB")


def render_mupdf(pdf: Path, dpi: int, out: Path) -> Image.Image:
    mutool = require_tool("mutool")
    subprocess.run(
        [mutool, "draw", "-q", "-r", str(dpi), "-o", str(out), str(pdf), "1"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Image.open(out).convert("RGB")


def render_gs(pdf: Path, dpi: int, out: Path) -> Image.Image:
    """Ghostscript draws annotations by default; -dPrinted draws those with the Print flag, as
    on paper, so the stamp must be printable to appear."""
    gs = require_tool("gs")
    subprocess.run(
        [
            gs,
            "-q",
            "-dNOPAUSE",
            "-dBATCH",
            "-dSAFER",
            "-sDEVICE=png16m",
            f"-r{dpi}",
            "-dPrinted",
            "-dUseCropBox",
            f"-sOutputFile={out}",
            str(pdf),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return Image.open(out).convert("RGB")


def render_pdfium(pdf: Path, dpi: int, out: Path) -> Image.Image:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        doc.init_forms()
        page = doc[0]
        image = page.render(scale=dpi / 72, may_draw_forms=True).to_pil().convert("RGB")
    finally:
        doc.close()
    image.save(out)
    return image


RENDERERS: dict[str, Callable[[Path, int, Path], Image.Image]] = {
    "poppler": render_poppler,
    "mupdf": render_mupdf,
    "pdfium": render_pdfium,
    "ghostscript": render_gs,
}


def _band(channel: Image.Image, lo: int, hi: int) -> Image.Image:
    return channel.point(lambda v: 255 if lo <= v <= hi else 0)


def magenta_mask(image: Image.Image) -> Image.Image:
    """Pixels of the stamp's magenta (~204,0,115): border, title and value."""
    r, g, b = image.split()
    return ImageChops.multiply(
        ImageChops.multiply(_band(r, 150, 255), _band(g, 0, 90)), _band(b, 70, 170)
    )


def pink_mask(image: Image.Image) -> Image.Image:
    """Pixels of the stamp's pink fill (~252,227,240), not light grey."""
    r, g, b = image.split()
    pinkish = _band(ImageChops.subtract(r, g), 12, 255)
    return ImageChops.multiply(
        ImageChops.multiply(_band(r, 240, 255), _band(g, 205, 240)),
        ImageChops.multiply(_band(b, 225, 252), pinkish),
    )


def _count(mask: Image.Image) -> int:
    return mask.histogram()[255]


@dataclass(frozen=True)
class StampSeen:
    """What a render shows of the stamp, in millimetres from the top-left of the page as read."""

    bbox_mm: tuple[float, float, float, float] | None
    magenta_outside: int
    pink_inside_fraction: float


def look_for_stamp(image: Image.Image, dpi: int, centre_mm: tuple[float, float]) -> StampSeen:
    px = dpi / 25.4
    mask = magenta_mask(image)
    box = mask.getbbox()
    bbox_mm = (box[0] / px, box[1] / px, box[2] / px, box[3] / px) if box else None
    half = STAMP_MM / 2
    square = (
        (centre_mm[0] - half) * px,
        (centre_mm[1] - half) * px,
        (centre_mm[0] + half) * px,
        (centre_mm[1] + half) * px,
    )
    margin = 2 * px
    outside = mask.copy()
    ImageDraw.Draw(outside).rectangle(
        (square[0] - margin, square[1] - margin, square[2] + margin, square[3] + margin), fill=0
    )
    pink = pink_mask(image).crop(
        (round(square[0]), round(square[1]), round(square[2]), round(square[3]))
    )
    area = pink.size[0] * pink.size[1]
    return StampSeen(bbox_mm, _count(outside), _count(pink) / area if area else 0.0)


def assert_stamp_shown(image: Image.Image, dpi: int, centre_mm: tuple[float, float]) -> None:
    seen = look_for_stamp(image, dpi, centre_mm)
    assert seen.bbox_mm is not None, "no magenta stamp pixels at all"
    x0, y0, x1, y1 = seen.bbox_mm
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx(centre_mm, abs=1.5), seen
    assert (x1 - x0, y1 - y0) == pytest.approx((STAMP_MM, STAMP_MM), abs=1.5), seen
    assert seen.magenta_outside == 0, seen
    assert seen.pink_inside_fraction > 0.25, seen


def decode_qr(image: Image.Image) -> list[Any]:
    import zxingcpp

    return [r for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def assert_upright_qr(
    image: Image.Image, dpi: int, centre_mm: tuple[float, float], payload: str
) -> None:
    """The QR decodes to ``payload``, is upright as displayed and lies inside the stamp."""
    codes = decode_qr(image)
    assert [c.text for c in codes] == [payload]
    code = codes[0]
    assert code.orientation == 0, f"QR turned by {code.orientation} degrees"
    p = code.position
    xs = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x]
    ys = [p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y]
    # Upright: the first row of modules is at the top as displayed.
    assert p.top_left.y < p.bottom_left.y and p.top_left.x < p.top_right.x
    px = dpi / 25.4
    for x, y in zip(xs, ys, strict=True):
        assert abs(x / px - centre_mm[0]) < STAMP_MM / 2
        assert abs(y / px - centre_mm[1]) < STAMP_MM / 2


def _reader_centre_mm(pdf: Path, page_index: int, rect: list[float]) -> tuple[float, float]:
    """The centre of ``rect`` (user space) in mm from the top-left of the page as displayed,
    worked out here from the page's boxes and /Rotate (independently of emeterai._place)."""
    page = pypdf.PdfReader(pdf).pages[page_index]
    box = page.cropbox
    x0, y0, x1, y1 = (float(box.left), float(box.bottom), float(box.right), float(box.top))
    mb = page.mediabox
    x0, y0 = max(x0, float(mb.left)), max(y0, float(mb.bottom))
    x1, y1 = min(x1, float(mb.right)), min(y1, float(mb.top))
    cx, cy = (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2
    rotation = int(page.get("/Rotate", 0)) % 360
    u, v = {
        0: (cx - x0, y1 - cy),
        90: (cy - y0, cx - x0),
        180: (x1 - cx, cy - y0),
        270: (y1 - cy, x1 - cx),
    }[rotation]
    return u / MM, v / MM


# == the stamped sample letter ==================================================================


@dataclass(frozen=True)
class SampleRun:
    source: Path
    source_bytes: bytes
    output: Path
    record: dict[str, Any]
    stderr: str


@pytest.fixture(scope="module")
def sample_run(kit: Kit) -> SampleRun:
    folder = kit.folder("sample")
    source = folder / "lamaran.pdf"
    shutil.copyfile(SAMPLE, source)
    before = source.read_bytes()
    result, records = kit.stamp(source)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert len(records) == 1, result.stdout
    return SampleRun(source, before, folder / "lamaran.emeterai.pdf", records[0], result.stderr)


def test_sample_json_record_has_exactly_the_spec_keys(sample_run):
    record = sample_run.record
    assert set(record) == SPEC_JSON_KEYS
    assert record["file"] == str(sample_run.source)
    assert record["output"] == str(sample_run.output)
    assert record["page"] == 1
    assert record["placement"] == "placeholder"
    assert serials.is_valid(record["serial"])
    assert record["document_sha256"] == hashlib.sha256(sample_run.source_bytes).hexdigest()
    assert len(record["rect_pt"]) == 4
    assert (
        f"stamped {sample_run.source} -> {sample_run.output}: {record['serial']}"
        in sample_run.stderr
    )


def test_sample_output_extends_the_input_byte_for_byte(sample_run):
    output = sample_run.output.read_bytes()
    assert output.startswith(sample_run.source_bytes)
    assert len(output) > len(sample_run.source_bytes)
    assert sample_run.source.read_bytes() == sample_run.source_bytes, "the input was modified"


def test_sample_bytes_added_is_reported_and_at_most_30_kb(sample_run):
    added = sample_run.output.stat().st_size - len(sample_run.source_bytes)
    assert sample_run.record["bytes_added"] == added
    assert added <= 30 * 1024


def test_sample_serial_is_spent_on_this_document(sample_run, kit):
    entry = next(e for e in kit.wallet.entries() if e.serial == sample_run.record["serial"])
    assert entry.state == "used"
    assert entry.used_sha256 == sample_run.record["document_sha256"]
    assert entry.output_path == str(sample_run.output.absolute())


def test_sample_passes_qpdf_check(sample_run):
    qpdf = require_tool("qpdf")
    proc = subprocess.run([qpdf, "--check", str(sample_run.output)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No syntax or stream encoding errors found" in proc.stdout


def test_sample_pdfsig_valid_trusted_and_total(sample_run, kit, tmp_path):
    nss = _nss_db(tmp_path / "nss", [kit.root_pem.read_bytes()])
    text = _pdfsig(sample_run.output, nss)
    assert text.count("Signature #") == 1, text
    assert "Signature is Valid." in text
    assert "Certificate is Trusted." in text
    assert "Total document signed" in text
    assert f"eMeterai_{sample_run.record['serial']}" in text
    assert "ETSI.CAdES.detached" in text


def test_sample_mutool_says_unchanged_since_signing(sample_run):
    text = _mutool_verify(sample_run.output)
    assert "The document is unchanged since signing" in text, text
    assert "Digest error" not in text


def test_sample_pyhanko_validation_intact_valid_trusted_entire_file(sample_run, kit):
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    statuses = _pyhanko_statuses(sample_run.output, [kit.root_pem.read_bytes()])
    assert list(statuses) == [f"eMeterai_{sample_run.record['serial']}"]
    status = next(iter(statuses.values()))
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE


def test_sample_verifies_with_emeterai(sample_run, kit):
    result = kit.verifier().verify(sample_run.output.read_bytes(), str(sample_run.output))
    assert result.problems == ()
    assert [s.serial for s in result.stamps] == [sample_run.record["serial"]]
    stamp = result.stamps[0]
    assert stamp.issuer == "Test Issuer" and stamp.specimen is True and stamp.value == 10000
    assert stamp.document_sha256 == sample_run.record["document_sha256"]


def test_tampering_with_the_sample_is_seen_by_every_validator(sample_run, kit, tmp_path):
    """The validators used above do tell a broken digest from a good one."""
    data = bytearray(sample_run.output.read_bytes())
    at = data.index(b"ReportLab Generated PDF document")
    data[at] = ord("X")  # inside a comment: the file still parses, the digest no longer matches
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    nss = _nss_db(tmp_path / "nss", [kit.root_pem.read_bytes()])
    pdfsig_text = _pdfsig(tampered, nss)
    assert "Signature #1" in pdfsig_text and "Signature is Valid." not in pdfsig_text
    mutool_text = _mutool_verify(tampered)
    assert "Verifying signature" in mutool_text
    assert "The document is unchanged since signing" not in mutool_text
    status = next(iter(_pyhanko_statuses(tampered, [kit.root_pem.read_bytes()]).values()))
    assert not status.intact
    codes = {p.code for p in kit.verifier().verify(bytes(data), "tampered.pdf").problems}
    assert "signature-invalid" in codes


def test_sample_pdftotext_finds_the_serial_on_the_stamped_page(sample_run):
    pdftotext = require_tool("pdftotext")
    proc = subprocess.run(
        [pdftotext, "-f", "1", "-l", "1", str(sample_run.output), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sample_run.record["serial"] in proc.stdout.split()
    assert "METERAI ELEKTRONIK" in proc.stdout
    original = subprocess.run(
        [pdftotext, str(sample_run.source), "-"], capture_output=True, text=True, check=True
    )
    assert sample_run.record["serial"] not in original.stdout


def test_sample_stamp_centre_lies_on_the_placeholder(sample_run):
    centre = _reader_centre_mm(sample_run.output, 0, sample_run.record["rect_pt"])
    expected = _placeholder_center_mm()
    distance = ((centre[0] - expected[0]) ** 2 + (centre[1] - expected[1]) ** 2) ** 0.5
    assert distance <= 5.0, (centre, expected)


@pytest.fixture(scope="module")
def sample_renders(sample_run, tmp_path_factory) -> dict[str, Image.Image]:
    out = tmp_path_factory.mktemp("sample-renders")
    return {name: fn(sample_run.output, 150, out / f"{name}.png") for name, fn in RENDERERS.items()}


@pytest.mark.parametrize("renderer", list(RENDERERS))
def test_sample_renders_show_the_stamp_on_the_placeholder(sample_run, sample_renders, renderer):
    centre = _reader_centre_mm(sample_run.output, 0, sample_run.record["rect_pt"])
    assert_stamp_shown(sample_renders[renderer], 150, centre)


@pytest.mark.parametrize("renderer", ["poppler", "pdfium"])
def test_sample_qr_decodes_from_a_150_dpi_render(sample_run, sample_renders, renderer):
    record = sample_run.record
    payload = qr_payload(record["serial"], record["document_sha256"])
    assert record["serial"] in payload
    centre = _reader_centre_mm(sample_run.output, 0, record["rect_pt"])
    assert_upright_qr(sample_renders[renderer], 150, centre, payload)


def test_sample_stamp_is_a_printable_widget_not_page_content(sample_run, tmp_path):
    """SPEC §4 Overlay: the picture is the appearance of the stamp's own signature field; the
    page's content stream is untouched (Ghostscript without annotations shows no stamp)."""
    before = pypdf.PdfReader(sample_run.source).pages[0]
    after = pypdf.PdfReader(sample_run.output).pages[0]
    assert after.get_contents().get_data() == before.get_contents().get_data()
    (widget,) = [a.get_object() for a in after["/Annots"]]
    assert widget["/Subtype"] == "/Widget" and widget["/FT"] == "/Sig"
    assert widget["/T"] == f"eMeterai_{sample_run.record['serial']}"
    assert int(widget["/F"]) & 4, "the stamp annotation is not printable"
    assert [round(float(v), 1) for v in widget["/Rect"]] == pytest.approx(
        sample_run.record["rect_pt"], abs=0.1
    )
    gs = require_tool("gs")
    out = tmp_path / "no-annots.png"
    subprocess.run(
        [gs, "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=png16m", "-r72",
         "-dShowAnnots=false", f"-sOutputFile={out}", str(sample_run.output)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert magenta_mask(Image.open(out).convert("RGB")).getbbox() is None


def test_original_sample_renders_without_stamp_colours(sample_run, tmp_path):
    """Control: the magenta/pink detector finds nothing on the unstamped letter."""
    image = render_poppler(sample_run.source, 150, tmp_path / "orig.png")
    assert magenta_mask(image).getbbox() is None
    assert _count(pink_mask(image)) == 0
    assert decode_qr(image) == []


def _mutool_text(pdf: Path) -> str:
    """Page 1's text from MuPDF's text device, which keeps the turned SPESIMEN word whole
    (pdftotext splits it into pieces)."""
    mutool = require_tool("mutool")
    return subprocess.run(
        [mutool, "draw", "-q", "-F", "txt", str(pdf), "1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_sample_specimen_stamp_shows_spesimen(sample_run):
    assert "SPESIMEN" in _mutool_text(sample_run.output).split()
    assert "SPESIMEN" not in _mutool_text(sample_run.source)


def test_stamp_of_a_real_issuer_has_no_spesimen_and_verifies_as_real(home, runner, tmp_path):
    real = Issuer.create(home / "issuer", PASSPHRASE, name="Real Issuer", specimen=False)
    trust = TrustStore(home / "trust")
    trust.add(real.root_pem(), "real issuer root")
    wallet = Wallet(home / "wallet" / "wallet.db")
    stamps = [(s.serial, s.p12) for s in real.issue(1, PASSPHRASE)]
    assert [o.status for o in wallet.import_stamps(stamps, PASSPHRASE, trust.certificates())] == [
        "imported"
    ]
    source = tmp_path / "lamaran.pdf"
    shutil.copyfile(SAMPLE, source)
    result = runner.invoke(app, ["stamp", str(source), "--json"])
    assert result.exit_code == 0, result.stderr
    (record,) = _json_lines(result.stdout)
    output = Path(record["output"])
    shown = _mutool_text(output).split()
    assert record["serial"] in shown and "Real" in shown
    assert "SPESIMEN" not in shown
    verdict = Verifier([real.root]).verify(output.read_bytes(), str(output))
    assert verdict.valid, verdict.problems
    assert verdict.stamps[0].specimen is False and verdict.stamps[0].issuer == "Real Issuer"
    centre = _reader_centre_mm(output, 0, record["rect_pt"])
    image = render_poppler(output, 150, tmp_path / "p.png")
    assert_stamp_shown(image, 150, centre)
    assert_upright_qr(image, 150, centre, qr_payload(record["serial"], record["document_sha256"]))


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


# == documents already signed or stamped ========================================================


def test_existing_signature_still_validates_after_stamping(kit, tmp_path):
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    folder = kit.folder("signed")
    source, other = pdfmakers.signed_by_other_pdf(folder / "signed.pdf")
    before = source.read_bytes()
    pre = _pyhanko_statuses(source, [other.root_der])["TandaTanganPemohon"]
    assert pre.intact and pre.valid and pre.trusted  # the fixture itself is sound

    result, records = kit.stamp(source)
    assert result.exit_code == 0, result.stderr
    output = Path(records[0]["output"])
    assert output.read_bytes().startswith(before)

    statuses = _pyhanko_statuses(output, [other.root_der, kit.root_pem.read_bytes()])
    assert set(statuses) == {"TandaTanganPemohon", f"eMeterai_{records[0]['serial']}"}
    applicant = statuses["TandaTanganPemohon"]
    assert applicant.intact and applicant.valid and applicant.trusted
    assert applicant.coverage == SignatureCoverageLevel.ENTIRE_REVISION
    assert applicant.modification_level is not None
    assert applicant.modification_level <= ModificationLevel.FORM_FILLING
    assert applicant.docmdp_ok is not False
    stamp = statuses[f"eMeterai_{records[0]['serial']}"]
    assert stamp.intact and stamp.valid and stamp.trusted
    assert stamp.coverage == SignatureCoverageLevel.ENTIRE_FILE

    nss = _nss_db(tmp_path / "nss", [kit.root_pem.read_bytes(), other.root_pem])
    text = _pdfsig(output, nss)
    assert text.count("Signature is Valid.") == 2, text
    assert text.count("Certificate is Trusted.") == 2, text

    verdict = kit.verifier().verify(output.read_bytes(), str(output))
    assert verdict.problems == ()
    assert [s.serial for s in verdict.stamps] == [records[0]["serial"]]


def test_second_stamp_spends_a_second_serial_and_keeps_the_first_valid(kit, sample_run, tmp_path):
    from pyhanko.sign.diff_analysis import ModificationLevel

    folder = kit.folder("second")
    once = folder / "lamaran.stamped-once.pdf"
    shutil.copyfile(sample_run.output, once)
    first = sample_run.record["serial"]

    result, records = kit.stamp(once)
    assert result.exit_code == 0, result.stderr
    second = records[0]["serial"]
    assert second != first
    output = Path(records[0]["output"])
    assert output.read_bytes().startswith(once.read_bytes())

    states = _states(kit.wallet)
    assert states[first] == "used" and states[second] == "used"

    verdict = kit.verifier().verify(output.read_bytes(), str(output))
    assert verdict.problems == (), verdict.problems
    assert [s.serial for s in verdict.stamps] == [first, second]
    assert all(s.problems == () for s in verdict.stamps)

    statuses = _pyhanko_statuses(output, [kit.root_pem.read_bytes()])
    earlier = statuses[f"eMeterai_{first}"]
    assert earlier.intact and earlier.valid and earlier.trusted
    assert earlier.modification_level <= ModificationLevel.FORM_FILLING
    assert earlier.docmdp_ok is not False

    # The second stamp does not cover the first.
    a, b = sample_run.record["rect_pt"], records[0]["rect_pt"]
    assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)

    nss = _nss_db(tmp_path / "nss", [kit.root_pem.read_bytes()])
    assert _pdfsig(output, nss).count("Signature is Valid.") == 2
    qpdf = require_tool("qpdf")
    assert subprocess.run([qpdf, "--check", str(output)], capture_output=True).returncode == 0


# == command line behaviour ====================================================================


def test_output_names_default_o_and_out_dir(kit):
    folder = kit.folder("naming")
    source = pdfmakers.plain_pdf(folder / "x.pdf", placeholder_page=1)
    digest = _sha256(source)

    result, records = kit.stamp(source)
    assert result.exit_code == 0, result.stderr
    assert records[0]["output"] == str(folder / "x.emeterai.pdf")
    assert (folder / "x.emeterai.pdf").is_file()

    custom = folder / "hasil" / "surat-bermeterai.pdf"
    custom.parent.mkdir()
    result, records = kit.stamp(source, "-o", custom)
    assert result.exit_code == 0, result.stderr
    assert records[0]["output"] == str(custom) and custom.is_file()

    out_dir = folder / "keluar" / "baru"  # created on demand
    result, records = kit.stamp(source, "--out-dir", out_dir)
    assert result.exit_code == 0, result.stderr
    assert records[0]["output"] == str(out_dir / "x.emeterai.pdf")
    assert (out_dir / "x.emeterai.pdf").is_file()

    assert _sha256(source) == digest, "the input was modified"
    assert sorted(p.name for p in folder.iterdir()) == [
        "hasil",
        "keluar",
        "x.emeterai.pdf",
        "x.pdf",
    ]
    verdicts = [
        kit.verifier().verify(p.read_bytes(), str(p))
        for p in (folder / "x.emeterai.pdf", custom, out_dir / "x.emeterai.pdf")
    ]
    assert all(v.valid for v in verdicts)
    assert len({v.stamps[0].serial for v in verdicts}) == 3


def test_existing_output_is_not_overwritten_without_force(kit):
    folder = kit.folder("exists")
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    existing = folder / "x.emeterai.pdf"
    existing.write_bytes(b"an earlier result\n")
    available = sum(s == "available" for s in _states(kit.wallet).values())

    result, records = kit.stamp(source)
    assert result.exit_code == 1
    (error,) = _error_lines(result.stderr)
    assert error.endswith(f"{existing}: already exists (use --force to overwrite)")
    assert str(source) in error
    assert existing.read_bytes() == b"an earlier result\n"
    assert sum(s == "available" for s in _states(kit.wallet).values()) == available
    assert _temp_files(folder) == []

    result, records = kit.stamp(source, "--force")
    assert result.exit_code == 0, result.stderr
    assert existing.read_bytes().startswith(source.read_bytes())
    assert kit.verifier().verify(existing.read_bytes(), str(existing)).valid
    assert sum(s == "available" for s in _states(kit.wallet).values()) == available - 1


def test_dry_run_with_preview_writes_a_png_and_spends_nothing(kit):
    folder = kit.folder("dry")
    source = pdfmakers.plain_pdf(folder / "x.pdf", placeholder_page=1)
    preview = folder / "p.png"
    states = _states(kit.wallet)

    result, records = kit.stamp(source, "--dry-run", "--preview", preview)
    assert result.exit_code == 0, result.stderr
    assert preview.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(preview).convert("RGB")
    assert image.width > 500 and image.height > 700
    assert magenta_mask(image).getbbox() is not None, "the preview does not show the stamp"
    assert _states(kit.wallet) == states
    assert not (folder / "x.emeterai.pdf").exists()
    assert records[0]["output"] is None and records[0]["placement"] == "placeholder"
    assert "nothing spent" in result.stderr


def test_batch_with_one_bad_file_stamps_the_good_ones(kit):
    folder = kit.folder("batch")
    good = [pdfmakers.plain_pdf(folder / "a.pdf"), pdfmakers.plain_pdf(folder / "c.pdf")]
    bad = pdfmakers.not_a_pdf(folder / "b.pdf")
    available = sum(s == "available" for s in _states(kit.wallet).values())

    result, records = kit.stamp(good[0], bad, good[1])
    assert result.exit_code == 1
    errors = _error_lines(result.stderr)
    assert len(errors) == 1 and errors[0].startswith(f"emeterai: error: {bad}: ")
    assert "2 stamped, 1 failed" in result.stderr
    for path in good:
        out = path.with_name(f"{path.stem}.emeterai.pdf")
        assert kit.verifier().verify(out.read_bytes(), str(out)).valid
    assert not (folder / "b.emeterai.pdf").exists()
    assert sum(s == "available" for s in _states(kit.wallet).values()) == available - 2
    assert [r.get("serial") for r in records if r["file"] == str(bad)] == [None]
    assert len({r["serial"] for r in records if r["file"] != str(bad)}) == 2


def test_a_text_file_is_reported_as_not_a_pdf(home, runner, wallet_with_stamps, tmp_path):
    wallet = wallet_with_stamps(1)
    bad = pdfmakers.not_a_pdf(tmp_path / "surat.pdf")
    result = runner.invoke(app, ["stamp", str(bad)])
    assert result.exit_code == 1
    assert _error_lines(result.stderr) == [f"emeterai: error: {bad}: not a PDF (no %PDF- header)"]
    assert list(_states(wallet).values()) == ["available"]


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


# == failures that must not burn a stamp ========================================================


def test_wrong_passphrase_writes_nothing_and_spends_nothing(
    home, runner, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(1)
    source = pdfmakers.plain_pdf(tmp_path / "x.pdf")
    result = runner.invoke(
        app, ["stamp", str(source)], env={"EMETERAI_PASSPHRASE": "not-the-passphrase"}
    )
    assert result.exit_code == 1
    assert _error_lines(result.stderr) == ["emeterai: error: wrong passphrase for the wallet"]
    assert not (tmp_path / "x.emeterai.pdf").exists()
    assert _temp_files(tmp_path) == []
    assert list(_states(wallet).values()) == ["available"]


def test_unwritable_out_dir_writes_nothing_and_spends_nothing(
    home, runner, wallet_with_stamps, tmp_path
):
    """A regular file where a folder should be: fails for root too (chmod would not)."""
    wallet = wallet_with_stamps(1)
    source = pdfmakers.plain_pdf(tmp_path / "x.pdf")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    result = runner.invoke(app, ["stamp", str(source), "--out-dir", str(blocker / "sub")])
    assert result.exit_code == 1
    assert len(_error_lines(result.stderr)) == 1
    assert blocker.read_text() == "a file"
    assert list(tmp_path.rglob("*.emeterai.pdf")) == []
    assert _temp_files(tmp_path) == []
    wallet.recover()
    assert list(_states(wallet).values()) == ["available"]


def test_unwritable_out_dir_error_is_a_clear_line_naming_the_folder(
    home, runner, wallet_with_stamps, tmp_path
):
    wallet_with_stamps(1)
    source = pdfmakers.plain_pdf(tmp_path / "x.pdf")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    result = runner.invoke(app, ["stamp", str(source), "--out-dir", str(blocker / "sub")])
    (line,) = _error_lines(result.stderr)
    assert "internal error" not in line
    assert str(blocker / "sub") in line


def test_unwritable_output_path_writes_nothing_and_spends_nothing(
    home, runner, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(2)
    source = pdfmakers.plain_pdf(tmp_path / "x.pdf")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    result = runner.invoke(app, ["stamp", str(source), "-o", str(blocker / "sub" / "x.pdf")])
    assert result.exit_code == 1
    (line,) = _error_lines(result.stderr)
    assert "cannot write" in line and str(blocker / "sub") in line
    assert "internal error" not in line
    assert blocker.read_text() == "a file"
    assert list(_states(wallet).values()) == ["available", "available"]
    # And the wallet goes on working: the next stamp succeeds.
    result = runner.invoke(app, ["stamp", str(source)])
    assert result.exit_code == 0, result.stderr
    assert sorted(_states(wallet).values()) == ["available", "used"]


_DEAD_RESERVATION_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from emeterai.wallet import Wallet

    db, temp, output = sys.argv[1:4]
    wallet = Wallet(Path(db))
    reservation = wallet.reserve()
    wallet.mark_written(reservation, "x.pdf", "0" * 64, output, temp, "1" * 64)
    os._exit(137)
    """
)


def test_recovery_settles_a_reservation_whose_temp_folder_became_a_file(
    home, runner, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(1)
    blocker = tmp_path / "was-a-folder"
    blocker.write_text("a file now")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _DEAD_RESERVATION_SCRIPT,
            str(wallet.path),
            str(blocker / ".x.emeterai.pdf.0123456789ab.tmp"),
            str(blocker / "x.emeterai.pdf"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert proc.returncode == 137, proc.stderr
    assert list(_states(wallet).values()) == ["reserved"]
    report = wallet.recover()
    assert len(report.released) == 1
    assert list(_states(wallet).values()) == ["available"]
    source = pdfmakers.plain_pdf(tmp_path / "y.pdf")
    result = runner.invoke(app, ["stamp", str(source)])
    assert result.exit_code == 0, result.stderr


_CRASH_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import emeterai.stamp as stamp
    from emeterai.wallet import Wallet

    mode, db, source, output = sys.argv[1:5]
    real_publish = stamp.rename_into_place

    def crash_before_publish(tmp, path, overwrite, before=None):
        os._exit(137)  # the temp file is written and fsynced; nothing renamed, nothing committed

    def crash_after_publish(tmp, path, overwrite, before=None):
        real_publish(tmp, path, overwrite, before)
        os._exit(137)  # the output is in place; the wallet commit never happens

    stamp.rename_into_place = crash_before_publish if mode == "before" else crash_after_publish
    wallet = Wallet(Path(db))
    key = wallet.unlock(os.environ["EMETERAI_PASSPHRASE"])
    stamp.stamp_file(Path(source), Path(output), wallet, key, stamp.StampOptions())
    sys.exit(3)  # not reached: the crash comes first
    """
)


def _crash(
    mode: str, wallet: Wallet, source: Path, output: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CRASH_SCRIPT, mode, str(wallet.path), str(source), str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


def test_crash_before_publish_leaves_no_output_and_the_stamp_available(
    home, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(1)
    folder = tmp_path / "docs"
    folder.mkdir()
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    digest = _sha256(source)
    output = folder / "x.emeterai.pdf"

    proc = _crash("before", wallet, source, output)
    assert proc.returncode == 137, proc.stderr
    (serial,) = _states(wallet)
    assert _states(wallet) == {serial: "reserved"}  # the crash really happened mid-stamp
    assert len(_temp_files(folder)) == 1

    report = wallet.recover()
    assert report.released == (serial,) and report.committed == ()
    assert _states(wallet) == {serial: "available"}
    assert not output.exists()
    assert _temp_files(folder) == []
    assert sorted(p.name for p in folder.iterdir()) == ["x.pdf"]
    assert _sha256(source) == digest


def test_crash_after_publish_is_recovered_as_used_and_the_output_verifies(
    home, issuer, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(1)
    folder = tmp_path / "docs"
    folder.mkdir()
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    output = folder / "x.emeterai.pdf"

    proc = _crash("after", wallet, source, output)
    assert proc.returncode == 137, proc.stderr
    (serial,) = _states(wallet)
    assert _states(wallet) == {serial: "reserved"}
    assert output.is_file()

    report = wallet.recover()
    assert report.committed == (serial,) and report.released == ()
    assert _states(wallet) == {serial: "used"}
    entry = wallet.entries()[0]
    assert entry.used_sha256 == _sha256(source)
    assert entry.output_path == str(output.absolute())
    assert _temp_files(folder) == []
    verdict = Verifier([issuer.root]).verify(output.read_bytes(), str(output))
    assert verdict.valid, verdict.problems
    assert verdict.stamps[0].serial == serial


def test_encrypted_pdf_without_password_fails_before_spending(home, wallet_with_stamps, tmp_path):
    """An encrypted PDF without its password fails before anything is written or spent."""
    wallet = wallet_with_stamps(1)
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdfmakers.letter_pdf(1))))
    writer.encrypt("rahasia", algorithm="AES-128")
    source = tmp_path / "locked.pdf"
    with source.open("wb") as fh:
        writer.write(fh)
    from emeterai.errors import PdfError

    with pytest.raises(PdfError) as info:
        stamp_file(source, tmp_path / "out.pdf", wallet, wallet.unlock(PASSPHRASE), StampOptions())
    assert "needs a password" in info.value.message and str(info.value).startswith(str(source))
    assert not (tmp_path / "out.pdf").exists()
    assert list(_states(wallet).values()) == ["available"]


# == concurrency ================================================================================


def test_two_processes_on_one_wallet_spend_twenty_distinct_serials(
    home, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(22)
    jobs = []
    for name in ("a", "b"):
        folder = tmp_path / f"in-{name}"
        folder.mkdir()
        files = [pdfmakers.plain_pdf(folder / f"{name}{i:02d}.pdf") for i in range(10)]
        out = tmp_path / f"out-{name}"
        jobs.append((files, out))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "emeterai",
                "stamp",
                *map(str, files),
                "--out-dir",
                str(out),
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for files, out in jobs
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (_, stderr) in zip(procs, results, strict=True):
        assert proc.returncode == 0, stderr
    records = [r for stdout, _ in results for r in _json_lines(stdout)]
    assert len(records) == 20
    spent = [r["serial"] for r in records]
    assert len(set(spent)) == 20

    used = {e.serial: e for e in wallet.entries() if e.state == "used"}
    assert set(used) == set(spent)
    assert sum(e.state == "available" for e in wallet.entries()) == 2
    verifier = Verifier(TrustStore(home / "trust").certificates())
    for record in records:
        output = Path(record["output"])
        assert used[record["serial"]].output_path == str(output.absolute())
        verdict = verifier.verify(output.read_bytes(), str(output))
        assert verdict.valid, verdict.problems
        assert [s.serial for s in verdict.stamps] == [record["serial"]]


# -- usage checks before anything is spent ---------------------------------------------------


@pytest.mark.parametrize("size", ["5", "500"])
def test_size_out_of_range_is_a_usage_error_before_the_wallet_is_opened(kit, size):
    folder = kit.folder(f"size-{size}")
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    states = _states(kit.wallet)
    result, records = kit.stamp(source, "--size", size)
    assert result.exit_code == 2, result.stderr
    assert _error_lines(result.stderr) == [
        "emeterai: error: the stamp size must be between 18 and 60 mm (--size)"
    ]
    assert records == [] and _states(kit.wallet) == states
    assert not (folder / "x.emeterai.pdf").exists()


def test_two_inputs_with_one_output_name_are_refused_before_anything_is_spent(kit):
    folder = kit.folder("same-name")
    (folder / "a").mkdir()
    (folder / "b").mkdir()
    first = pdfmakers.plain_pdf(folder / "a" / "x.pdf")
    second = pdfmakers.plain_pdf(folder / "b" / "x.pdf")
    out = folder / "out"
    states = _states(kit.wallet)
    result, _ = kit.stamp(first, second, "--out-dir", out, "--force")
    assert result.exit_code == 2, result.stderr
    (error,) = _error_lines(result.stderr)
    assert str(first) in error and str(second) in error and "x.emeterai.pdf" in error
    assert _states(kit.wallet) == states
    assert not out.exists() or not any(out.iterdir())


def test_at_off_the_page_says_where_the_stamp_went(kit):
    folder = kit.folder("at-off")
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    result, (record,) = kit.stamp(source, "--at", "500,500")
    assert result.exit_code == 0, result.stderr
    assert f"{source}: --at 500,500 would put the stamp partly off the page" in result.stderr
    assert "197.5,284.5 mm" in result.stderr  # A4 less half a 25 mm stamp
    result, (record,) = kit.stamp(source, "--at", "100,100", "-o", folder / "y.pdf")
    assert result.exit_code == 0, result.stderr
    assert "off the page" not in result.stderr


def test_serial_option_spends_that_stamp_and_refuses_it_once_used(kit):
    folder = kit.folder("by-serial")
    first = pdfmakers.plain_pdf(folder / "first.pdf")
    second = pdfmakers.plain_pdf(folder / "second.pdf")
    chosen = sorted(s for s, state in _states(kit.wallet).items() if state == "available")[-1]
    result, (record,) = kit.stamp(first, "--serial", serials.grouped(chosen).lower())
    assert result.exit_code == 0, result.stderr
    assert record["serial"] == chosen and _states(kit.wallet)[chosen] == "used"
    states = _states(kit.wallet)

    result, _ = kit.stamp(second, "--serial", chosen)
    assert result.exit_code == 1
    (error,) = _error_lines(result.stderr)
    assert chosen in error and str(first.absolute()) in error, error
    assert _states(kit.wallet) == states
    assert not (folder / "second.emeterai.pdf").exists()


def test_one_file_named_twice_is_refused_however_it_is_spelt(kit):
    folder = kit.folder("spelt-twice")
    (folder / "sub").mkdir()
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    states = _states(kit.wallet)
    result, _ = kit.stamp(source, folder / "sub" / ".." / "x.pdf", "--force")
    assert result.exit_code == 2, result.stderr
    assert "would both be written to" in result.stderr
    assert _states(kit.wallet) == states
    assert not (folder / "x.emeterai.pdf").exists()


def test_with_force_an_output_that_is_also_an_input_is_refused(kit):
    folder = kit.folder("output-is-input")
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    result, _ = kit.stamp(source)
    assert result.exit_code == 0, result.stderr
    earlier = folder / "x.emeterai.pdf"
    before = earlier.read_bytes()
    states = _states(kit.wallet)
    result, _ = kit.stamp(source, earlier, "--force")  # `stamp --force *.pdf` run again
    assert result.exit_code == 2, result.stderr
    assert f"{source}: its output {earlier} is also an input" in result.stderr
    assert earlier.read_bytes() == before and _states(kit.wallet) == states


# == the self-check: never spend a stamp on an output that does not verify (issue 11, 10) =======


def _spending(wallet: Wallet) -> tuple[int, int]:
    states = list(_states(wallet).values())
    return states.count("available"), states.count("used")


def _refused_without_spending(kit: Kit, source: Path, code: str) -> None:
    before = _spending(kit.wallet)
    output = source.with_name(f"{source.stem}.emeterai.pdf")
    result, records = kit.stamp(source)
    assert result.exit_code == 1, result.stderr
    assert records and records[0].get("output") is None
    (line,) = _error_lines(result.stderr)
    assert str(source) in line and code in line and "no stamp spent" in line, line
    assert _spending(kit.wallet) == before, "a stamp was spent on an output that does not verify"
    assert not output.exists()
    assert _temp_files(source.parent) == []


@pytest.mark.parametrize(
    "cropbox",
    [(1000.0, 1000.0, 1200.0, 1200.0), (100.0, 100.0, 100.0, 100.0)],
    ids=["disjoint-from-mediabox", "zero-size"],
)
def test_a_cropbox_that_shows_nothing_spends_no_stamp(kit, cropbox):
    folder = kit.folder(f"crop-{int(cropbox[0])}-{int(cropbox[2])}")
    source = pdfmakers.cropped_pdf(folder / "x.pdf", cropbox)
    _refused_without_spending(kit, source, "stamp-not-shown")


def test_the_self_check_failure_is_a_typed_error(kit, tmp_path):
    from emeterai.errors import SelfCheckFailed

    source = pdfmakers.cropped_pdf(tmp_path / "x.pdf", (1000.0, 1000.0, 1200.0, 1200.0))
    wallet = kit.wallet
    before = _spending(wallet)
    with pytest.raises(SelfCheckFailed) as raised:
        stamp_file(source, tmp_path / "out.pdf", wallet, wallet.unlock(PASSPHRASE), StampOptions())
    assert "stamp-not-shown" in raised.value.message
    assert _spending(wallet) == before and not (tmp_path / "out.pdf").exists()


def _stamped_once(kit: Kit, source: Path) -> tuple[Path, str]:
    result, records = kit.stamp(source)
    assert result.exit_code == 0, result.stderr
    once = Path(records[0]["output"])
    verdict = kit.verifier().verify(once.read_bytes(), str(once))
    assert verdict.valid, verdict.problems
    return once, records[0]["serial"]


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (pdfmakers.direct_annotation_pdf, "modified-after-stamp"),
        (lambda p: pdfmakers.form_fields_pdf(p, ["nama", "nama"]), "signature-invalid"),
    ],
    ids=["direct-annotation-in-annots", "duplicate-field-names"],
)
def test_a_second_stamp_that_would_break_the_first_spends_nothing(kit, make, code):
    folder = kit.folder(f"break-first-{code}")
    once, first = _stamped_once(kit, make(folder / "x.pdf"))
    _refused_without_spending(kit, once, code)
    assert _states(kit.wallet)[first] == "used"
    # the input is untouched and still valid
    assert kit.verifier().verify(once.read_bytes(), str(once)).valid


def test_a_second_stamp_that_leaves_the_first_unreadable_spends_nothing(kit):
    """pyHanko's coverage-anomalies/base.pdf takes a first stamp; after a second one, the first
    stamp's signature can no longer be parsed, and its report carries no serial. The self-check
    used to match earlier stamps by serial only, so it spent a stamp on that output."""
    from conftest import corpus_dir

    source = corpus_dir() / "pyhanko-test-pdfs" / "coverage-anomalies" / "base.pdf"
    if not source.exists():
        pytest.skip("corpus file missing")
    folder = kit.folder("unreadable-first")
    copy = folder / "base.pdf"
    copy.write_bytes(source.read_bytes())
    once, first = _stamped_once(kit, copy)
    _refused_without_spending(kit, once, "signature-invalid")
    assert _states(kit.wallet)[first] == "used"


def test_a_second_stamp_on_fields_without_names_keeps_both_valid(kit):
    folder = kit.folder("fields-without-t")
    once, first = _stamped_once(kit, pdfmakers.form_fields_pdf(folder / "x.pdf", [None, "nik"]))
    result, records = kit.stamp(once)
    assert result.exit_code == 0, result.stderr
    output = Path(records[0]["output"])
    verdict = kit.verifier().verify(output.read_bytes(), str(output))
    assert verdict.valid, verdict.problems
    assert [s.serial for s in verdict.stamps] == [first, records[0]["serial"]]
