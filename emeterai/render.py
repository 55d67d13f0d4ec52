"""The stamp picture (SPEC §4): a square, magenta, vector e-meterai with its QR code.

The picture is a one-page PDF made with reportlab (QR modules from ``qrcode``), which the signer
imports as the appearance of the stamp's signature field. Everything is drawn in vector form with
the standard PDF fonts; the serial is real text so it can be searched and extracted.

QR payload: ``EMETERAI:<SERIAL>:<first 16 hex digits of the original document's SHA-256>``, all
upper case so that it encodes in the QR alphanumeric mode and stays small.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MM = 72 / 25.4
DEFAULT_SIZE_MM = 25.0
MIN_SIZE_MM = 18.0
MAX_SIZE_MM = 60.0
QR_PREFIX = "EMETERAI"
QR_DIGEST_HEX = 16

MAGENTA = (0.80, 0.0, 0.45)
PINK = (0.99, 0.89, 0.94)

_ONES = [
    "",
    "SATU",
    "DUA",
    "TIGA",
    "EMPAT",
    "LIMA",
    "ENAM",
    "TUJUH",
    "DELAPAN",
    "SEMBILAN",
    "SEPULUH",
    "SEBELAS",
]


def qr_payload(serial: str, document_sha256: str) -> str:
    return f"{QR_PREFIX}:{serial}:{document_sha256[:QR_DIGEST_HEX].upper()}"


def parse_qr_payload(payload: str) -> tuple[str, str] | None:
    """(serial, digest prefix) from a payload, or None when it is not an emeterai payload."""
    parts = payload.strip().split(":")
    if len(parts) != 3 or parts[0] != QR_PREFIX:
        return None
    return parts[1], parts[2].lower()


def rupiah_words(value: int) -> str:
    """Indonesian words for a rupiah amount, e.g. 10000 -> 'SEPULUH RIBU RUPIAH'."""

    def words(n: int) -> str:
        if n < 12:
            return _ONES[n]
        if n < 20:
            return f"{_ONES[n - 10]} BELAS"
        if n < 100:
            return f"{_ONES[n // 10]} PULUH {words(n % 10)}".strip()
        if n < 200:
            return f"SERATUS {words(n - 100)}".strip()
        if n < 1000:
            return f"{_ONES[n // 100]} RATUS {words(n % 100)}".strip()
        if n < 2000:
            return f"SERIBU {words(n - 1000)}".strip()
        for size, name in (
            (10**12, "TRILIUN"),
            (10**9, "MILIAR"),
            (10**6, "JUTA"),
            (10**3, "RIBU"),
        ):
            if n >= size:
                return f"{words(n // size)} {name} {words(n % size)}".strip()
        raise AssertionError(n)

    return f"{words(value)} RUPIAH" if value > 0 else "NOL RUPIAH"


@dataclass(frozen=True)
class StampPicture:
    """A rendered stamp: the one-page PDF and what it shows."""

    pdf: bytes
    size_pt: float
    serial: str
    qr_payload: str


@lru_cache(maxsize=64)
def qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules (no quiet zone), error correction M."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    qr.add_data(payload.encode("ascii"), optimize=0)
    qr.make(fit=True)
    return tuple(tuple(bool(m) for m in row) for row in qr.get_matrix())


def qr_runs(matrix: tuple[tuple[bool, ...], ...]) -> list[tuple[int, int, int]]:
    """Dark modules as horizontal runs (row, first column, length): fewer drawing operators."""
    runs = []
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                runs.append((r, start, c - start))
            else:
                c += 1
    return runs


def render(
    serial: str,
    value: int,
    issuer_name: str,
    document_sha256: str,
    specimen: bool = False,
    size_mm: float = DEFAULT_SIZE_MM,
    rotation: int = 0,
) -> StampPicture:
    """Draw the stamp for ``serial`` on the document with digest ``document_sha256``.

    ``rotation`` is the page's /Rotate: the drawing is turned against it, so that the stamp is
    upright as the reader sees the page.
    """
    from reportlab.pdfgen.canvas import Canvas

    size = size_mm * MM
    k = size / (DEFAULT_SIZE_MM * MM)  # everything is laid out for 25 mm and scaled
    payload = qr_payload(serial, document_sha256)
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(size, size), invariant=1, pageCompression=1)
    c.setTitle(f"e-Meterai {serial}")
    c.scale(k, k)
    s = DEFAULT_SIZE_MM * MM
    if rotation % 360:
        c.translate(s / 2, s / 2)
        c.rotate(rotation % 360)
        c.translate(-s / 2, -s / 2)

    c.setFillColorRGB(1, 1, 1)
    c.rect(0, 0, s, s, stroke=0, fill=1)
    c.setFillColorRGB(*PINK)
    c.roundRect(1.2, 1.2, s - 2.4, s - 2.4, 3, stroke=0, fill=1)
    c.setStrokeColorRGB(*MAGENTA)
    c.setLineWidth(1.1)
    c.roundRect(1.2, 1.2, s - 2.4, s - 2.4, 3, stroke=1, fill=0)
    c.setLineWidth(0.35)
    c.roundRect(3.0, 3.0, s - 6.0, s - 6.0, 2, stroke=1, fill=0)

    c.setFillColorRGB(*MAGENTA)
    c.setFont("Helvetica-Bold", 5.2)
    c.drawCentredString(s / 2, s - 9.6, "METERAI ELEKTRONIK")

    right = (5.0 + 35.0 + s - 4.0) / 2  # centre of the column right of the QR
    c.setFillColorRGB(*MAGENTA)
    c.setFont("Helvetica-Bold", 8.4)
    c.drawCentredString(right, 36.5, str(value))
    c.setFont("Helvetica-Bold", 3.4)
    for i, line in enumerate(_wrap(rupiah_words(value), 3)):
        c.drawCentredString(right, 30.0 - i * 4.0, line)

    c.setFillColorRGB(0, 0, 0)
    c.setFont("Courier-Bold", 4.5)
    c.drawCentredString(s / 2, 7.4, serial)
    c.setFillColorRGB(*MAGENTA)
    c.setFont("Helvetica", 2.6)
    c.drawCentredString(s / 2, 4.0, issuer_name[:48])

    if specimen:
        _overprint(c, s, (0.85, 0.0, 0.0), alpha=0.55)

    # QR: about half the stamp, white quiet zone of two modules. Drawn last so that nothing
    # covers its modules: on a specimen the overprint shows through only as a light tint
    # beneath them, which binarises as white, so the code still reads from a 150 dpi scan.
    matrix = qr_matrix(payload)
    n = len(matrix)
    qr_size = 35.0
    module = qr_size / (n + 4)
    qx, qy = 5.0, 12.5
    c.setFillColorRGB(1, 1, 1)
    c.rect(qx, qy, qr_size, qr_size, stroke=0, fill=1)
    if specimen:
        c.saveState()
        clip = c.beginPath()
        clip.rect(qx, qy, qr_size, qr_size)
        c.clipPath(clip, stroke=0, fill=0)
        _overprint(c, s, (1.0, 0.66, 0.66))
        c.restoreState()
    c.setFillColorRGB(0, 0, 0)
    path = c.beginPath()
    for r, col, length in qr_runs(matrix):
        path.rect(qx + (col + 2) * module, qy + qr_size - (r + 3) * module, length * module, module)
    c.drawPath(path, stroke=0, fill=1)

    c.showPage()
    c.save()
    return StampPicture(buf.getvalue(), size, serial, payload)


def _overprint(c: Any, s: float, rgb: tuple[float, float, float], alpha: float = 1.0) -> None:
    """The diagonal SPESIMEN mark of specimen issuers."""
    c.saveState()
    c.setFillColorRGB(*rgb, alpha=alpha)
    c.translate(s / 2, s / 2)
    c.rotate(45)
    c.setFont("Helvetica-Bold", 12)
    c.drawCentredString(0, -4, "SPESIMEN")
    c.restoreState()


def _wrap(text: str, lines: int) -> list[str]:
    """Split words over at most ``lines`` lines, balancing lengths."""
    words = text.split()
    if len(words) <= lines:
        return words
    out: list[str] = []
    per = -(-len(words) // lines)
    for i in range(0, len(words), per):
        out.append(" ".join(words[i : i + per]))
    return out
