"""The stamp picture (README, "The QR code"; docs/security.md, 5): a square, magenta, vector e-meterai with its QR code.

The picture is a one-page PDF made with reportlab (QR modules from ``qrcode``), which the signer
imports as the appearance of the stamp's signature field. Everything is drawn in vector form with
the standard PDF fonts; the serial is real text so it can be searched and extracted.

QR payload: ``EMETERAI:<SERIAL>:<first 16 hex digits of the original document's SHA-256>``, all
upper case so that it encodes in the QR alphanumeric mode and stays small.
"""

from __future__ import annotations

import io
import zlib
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


# The QR mask pattern stamps are drawn with. Choosing the "best" of the eight masks (what
# qrcode does when none is given) evaluates every mask's penalty in Python, about 3 ms a stamp;
# any mask encodes the same payload and reads alike from a vector render. Stamps made before
# this was fixed carry the best mask: verify regenerates either (see ``picture_check``).
QR_MASK = 2


@lru_cache(maxsize=64)
def qr_matrix(payload: str, mask: int | None = QR_MASK) -> tuple[tuple[bool, ...], ...]:
    """The QR modules (no quiet zone), error correction M; ``mask`` None: qrcode's best mask."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=mask)
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
    mask: int | None = QR_MASK,
) -> StampPicture:
    """Draw the stamp for ``serial`` on the document with digest ``document_sha256``.

    ``rotation`` is the page's /Rotate: the drawing is turned against it, so that the stamp is
    upright as the reader sees the page. ``mask`` is the QR mask (None: qrcode's best mask, what
    stamps made before the mask was fixed carry).
    """
    from reportlab.pdfgen.canvas import Canvas

    size = size_mm * MM
    payload = qr_payload(serial, document_sha256)
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(size, size), invariant=1, pageCompression=1)
    c.setTitle(f"e-Meterai {serial}")
    runs = qr_runs(qr_matrix(payload, mask))
    _draw(c, serial, value, issuer_name, specimen, size_mm, rotation, runs)
    c.showPage()
    c.save()
    return StampPicture(buf.getvalue(), size, serial, payload)


def _draw(
    c: Any,
    serial: str,
    value: int,
    issuer_name: str,
    specimen: bool,
    size_mm: float,
    rotation: int,
    runs: list[tuple[int, int, int]],
) -> None:
    """The drawing itself, on reportlab canvas ``c``; the QR code is given as its runs."""
    k = size_mm / DEFAULT_SIZE_MM  # everything is laid out for 25 mm and scaled
    s = _frame(c, k, rotation)

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
    n, module, qx, qy, qr_size = _qr_geometry(runs)
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
    for r, col, length in runs:
        path.rect(qx + (col + 2) * module, qy + qr_size - (r + 3) * module, length * module, module)
    c.drawPath(path, stroke=0, fill=1)


_QR_SIZE = 35.0
_QR_ORIGIN = (5.0, 12.5)


def _frame(c: Any, k: float, rotation: int) -> float:
    """The part every picture version draws alike: scale ``k`` and rotation about the centre,
    the white square, the pink rounded frame and the title. Returns the 25 mm side in points
    (the drawing's own units)."""
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
    return s


def _qr_geometry(runs: list[tuple[int, int, int]]) -> tuple[int, float, float, float, float]:
    """(modules per side, module size, x, y, size) of the QR square; the side is read off the
    runs (the finder patterns put a run at the last column of row 0)."""
    n = max(col + length for _r, col, length in runs) if runs else 21
    return n, _QR_SIZE / (n + 4), _QR_ORIGIN[0], _QR_ORIGIN[1], _QR_SIZE


# -- the cached template: render once, vary only serial and QR ------------------------------

_SERIAL_LEN = 22
_SERIAL_MARK = "0" * _SERIAL_LEN  # Courier is monospaced: any 22 characters centre alike
_QR_MARK_RUN = (0, 0, 7)  # the template's one QR run, replaced per stamp


@dataclass(frozen=True)
class StampTemplate:
    """Everything of a stamp picture but its serial and QR code, rendered once by reportlab.

    ``parts`` is the page content cut where the serial goes and where the QR code's rectangles
    go; ``fonts`` and ``ext_gstates`` are the page's resources (reportlab's names).
    """

    size_pt: float
    parts: tuple[bytes, bytes, bytes]
    fonts: tuple[tuple[str, str], ...]  # (resource name, standard font name)
    ext_gstates: tuple[tuple[str, tuple[tuple[str, float], ...]], ...]
    fixed_n: int  # the template's QR side: the per-stamp QR must have the same module size


@dataclass(frozen=True)
class StampAppearance:
    """One stamp's drawing, ready to be a form XObject: content stream plus its resources."""

    content: bytes
    size_pt: float
    fonts: tuple[tuple[str, str], ...]
    ext_gstates: tuple[tuple[str, tuple[tuple[str, float], ...]], ...]
    serial: str
    qr_payload: str


@lru_cache(maxsize=32)
def stamp_template(
    value: int, issuer_name: str, specimen: bool, size_mm: float, rotation: int, qr_side: int
) -> StampTemplate:
    """The drawing of ``render`` with a placeholder serial and a placeholder QR code of
    ``qr_side`` modules, cut into the parts around them."""
    from reportlab.pdfgen.canvas import Canvas

    size = size_mm * MM
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(size, size), invariant=1, pageCompression=0)
    mark = [_QR_MARK_RUN, (qr_side - 1, qr_side - 1, 1)]
    _draw(c, _SERIAL_MARK, value, issuer_name, specimen, size_mm, rotation, mark)
    c.showPage()
    c.save()
    content, fonts, states = _page_drawing(buf.getvalue())
    serial_at = content.index(b"(" + _SERIAL_MARK.encode() + b")") + 1
    _n, module, qx, qy, qr_size = _qr_geometry(mark)
    first = _rect_op(*_run_rect(_QR_MARK_RUN, module, qx, qy, qr_size))
    last = _rect_op(*_run_rect(mark[1], module, qx, qy, qr_size))
    qr_at = content.index(first, serial_at)
    qr_end = content.index(last, qr_at) + len(last)
    if content.count(b"(" + _SERIAL_MARK.encode() + b")") != 1 or content.count(first) != 1:
        raise AssertionError("the stamp template's placeholders are not unique")
    return StampTemplate(
        size,
        (content[:serial_at], content[serial_at + _SERIAL_LEN : qr_at], content[qr_end:]),
        fonts,
        states,
        qr_side,
    )


def _page_drawing(
    pdf: bytes,
) -> tuple[
    bytes, tuple[tuple[str, str], ...], tuple[tuple[str, tuple[tuple[str, float], ...]], ...]
]:
    """(content stream, fonts, graphics states) of the one page of a picture made by reportlab.

    Read with pyHanko's reader, which verifying and stamping have loaded anyway (pypdf was
    a sixth of a cold ``emeterai verify`` for this alone)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    page = PdfFileReader(io.BytesIO(pdf), strict=False).root["/Pages"]["/Kids"][0]
    contents = page["/Contents"]
    parts = contents if isinstance(contents, list) else [contents]
    content = b"".join(part.data for part in parts)
    resources: Any = page["/Resources"]
    font_dict: Any = resources["/Font"] if "/Font" in resources else {}  # noqa: SIM401  (get() does not resolve)
    state_dict: Any = resources["/ExtGState"] if "/ExtGState" in resources else {}  # noqa: SIM401
    fonts = tuple(sorted((str(name), str(font_dict[name]["/BaseFont"])[1:]) for name in font_dict))
    states = tuple(
        sorted(
            (str(name), tuple(sorted((str(k), float(v)) for k, v in state_dict[name].items())))
            for name in state_dict
        )
    )
    return content, fonts, states


def _run_rect(
    run: tuple[int, int, int], module: float, qx: float, qy: float, qr_size: float
) -> tuple[float, float, float, float]:
    r, col, length = run
    return qx + (col + 2) * module, qy + qr_size - (r + 3) * module, length * module, module


@lru_cache(maxsize=1 << 16)
def _run_op(run: tuple[int, int, int], n: int) -> bytes:
    """The ``re`` operator drawing one QR run in a code of ``n`` modules (reportlab's number
    formatting is pure Python here: a stamp's few hundred runs cost a millisecond uncached)."""
    _n, module, qx, qy, qr_size = _qr_geometry([(0, n - 1, 1)])
    return _rect_op(*_run_rect(run, module, qx, qy, qr_size))


def _rect_op(x: float, y: float, w: float, h: float) -> bytes:
    from reportlab.lib.rl_accel import fp_str

    return f"{fp_str(x, y, w, h)} re".encode("ascii")


def appearance(
    serial: str,
    value: int,
    issuer_name: str,
    document_sha256: str,
    specimen: bool = False,
    size_mm: float = DEFAULT_SIZE_MM,
    rotation: int = 0,
    mask: int | None = QR_MASK,
) -> StampAppearance:
    """The same drawing as ``render`` (same content stream), from the cached template: only the
    serial text and the QR code's rectangles are made per stamp."""
    payload = qr_payload(serial, document_sha256)
    runs = qr_runs(qr_matrix(payload, mask))
    n, module, qx, qy, qr_size = _qr_geometry(runs)
    if len(serial) != _SERIAL_LEN or not serial.isalnum() or not serial.isascii():
        content = _content_of(
            render(serial, value, issuer_name, document_sha256, specimen, size_mm, rotation, mask)
        )
        t = stamp_template(value, issuer_name, specimen, size_mm, rotation % 360, n)
        return StampAppearance(content, t.size_pt, t.fonts, t.ext_gstates, serial, payload)
    t = stamp_template(value, issuer_name, specimen, size_mm, rotation % 360, n)
    qr = b" ".join([_run_op(run, n) for run in runs])
    content = b"".join((t.parts[0], serial.encode("ascii"), t.parts[1], qr, t.parts[2]))
    return StampAppearance(content, t.size_pt, t.fonts, t.ext_gstates, serial, payload)


def appearance_v1(
    serial: str,
    value: int,
    issuer_name: str,
    document_sha256: str,
    specimen: bool = False,
    size_mm: float = DEFAULT_SIZE_MM,
    rotation: int = 0,
) -> StampAppearance:
    """The drawing of the first picture version (commit 0f27461, before 8e09112): the QR code
    drawn before the value, under the SPESIMEN overprint, with qrcode's best mask. Kept only so
    that verify can regenerate stamps made then; nothing stamps with it."""
    from reportlab.pdfgen.canvas import Canvas

    size = size_mm * MM
    payload = qr_payload(serial, document_sha256)
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(size, size), invariant=1, pageCompression=0)
    _draw_v1(c, serial, value, issuer_name, specimen, size, rotation, qr_matrix(payload, None))
    c.showPage()
    c.save()
    content, fonts, states = _page_drawing(buf.getvalue())
    return StampAppearance(content, size, fonts, states, serial, payload)


def _draw_v1(
    c: Any,
    serial: str,
    value: int,
    issuer_name: str,
    specimen: bool,
    size: float,
    rotation: int,
    matrix: tuple[tuple[bool, ...], ...],
) -> None:
    """``render`` as released in 0f27461, operator for operator (see ``appearance_v1``)."""
    k = size / (DEFAULT_SIZE_MM * MM)
    s = _frame(c, k, rotation)
    n = len(matrix)
    qr_size = 35.0
    module = qr_size / (n + 4)
    qx, qy = 5.0, 12.5
    c.setFillColorRGB(1, 1, 1)
    c.rect(qx, qy, qr_size, qr_size, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    path = c.beginPath()
    for r, col, length in qr_runs(matrix):
        path.rect(qx + (col + 2) * module, qy + qr_size - (r + 3) * module, length * module, module)
    c.drawPath(path, stroke=0, fill=1)
    right = (qx + qr_size + s - 4.0) / 2
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


def _content_of(picture: StampPicture) -> bytes:
    return _page_drawing(picture.pdf)[0]


def compress(content: bytes) -> bytes:
    return zlib.compress(content, 6)


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
