"""What the stamp tests share: a home with stamps for a whole module, the CLI's JSON and
error lines, the wallet's states, and the stamp as four renderers draw it.

The renderers are poppler (pdftoppm), MuPDF (mutool draw), PDFium (pypdfium2) and Ghostscript;
the stamp is found in a render by its colours (the magenta border, title and value, the pink
fill), its QR code by zxing-cpp. Positions are in millimetres from the top-left of the page as
displayed, worked out from the page's boxes and /Rotate independently of ``emeterai._place``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdf
import pytest
from PIL import Image, ImageChops, ImageDraw
from typer.testing import CliRunner

from emeterai.cli import app
from emeterai.issuer import Issuer
from emeterai.trust import TrustStore
from emeterai.verify import Verifier
from emeterai.wallet import Wallet
from tests.support.common import PASSPHRASE, require_tool

MM = 72 / 25.4
STAMP_MM = 25.0


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


# -- a shared, module-wide home: issuer, trust store, wallet (the ``kit`` fixture) ----------


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


# -- the stamp in a render --------------------------------------------------------------------


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
