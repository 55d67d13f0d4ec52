"""What a reader sees of a PDF: its text (pypdf and poppler) and its pages (poppler renders),
compared before and after a change that must not show (``emeterai shrink``)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pypdf
from PIL import Image, ImageChops, ImageStat

from tests.support.common import require_tool
from tests.support.producers import qpdf_check

MEAN_DIFF_LIMIT = 4.0  # of 255, per channel, at 72 dpi: JPEG noise, not a changed page


def texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def pdftotext(path: Path) -> str:
    exe = require_tool("pdftotext")
    done = subprocess.run([exe, str(path), "-"], capture_output=True, timeout=60, check=True)
    return done.stdout.decode()


def renders(path: Path, dpi: int = 72) -> list[Image.Image]:
    exe = require_tool("pdftoppm")
    prefix = path.with_name(path.stem + "-page")
    subprocess.run([exe, "-r", str(dpi), "-png", str(path), str(prefix)], check=True, timeout=120)
    pages = sorted(path.parent.glob(f"{prefix.name}-*.png"))
    return [Image.open(p).convert("RGB") for p in pages]


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size
    return max(ImageStat.Stat(ImageChops.difference(a, b)).mean)


def assert_same_to_a_reader(before: bytes, after: bytes, folder: Path) -> None:
    """qpdf --check passes, the text is equal (pypdf and poppler), every page looks the same."""
    folder.mkdir(parents=True, exist_ok=True)
    old, new = folder / "before.pdf", folder / "after.pdf"
    old.write_bytes(before)
    new.write_bytes(after)
    code, last = qpdf_check(new)
    assert code == 0, last
    assert texts(after) == texts(before)
    assert pdftotext(new) == pdftotext(old)
    old_pages, new_pages = renders(old), renders(new)
    assert len(new_pages) == len(old_pages)
    for a, b in zip(old_pages, new_pages, strict=True):
        assert mean_difference(a, b) < MEAN_DIFF_LIMIT
