"""Where the stamp goes: placeholder search and page geometry (pypdf).

Coordinates given by users are millimetres from the top-left corner of the page *as the reader
sees it*: the visible area is the CropBox clipped to the MediaBox, turned by ``/Rotate``. The
functions here turn them into PDF user space and back, and return a square rectangle in user
space plus the rotation that keeps the stamp upright as read.

A placeholder is found from the glyphs the page shows: the content streams are run far enough
to know where each glyph starts and how wide it is (the font's own widths), glyphs on one
baseline make a line, and a line falls into runs at wide gaps. A run that is only the word, its
amount and brackets is a placeholder; the stamp is centred on the run's box and covers it.
"""

from __future__ import annotations

import copy
import enum
import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emeterai._box import Box
from emeterai._pdfobjects import Said
from emeterai.errors import Hint, PdfError, UsageError
from emeterai.i18n import N_

if TYPE_CHECKING:
    from pypdf import PageObject

MM = 72 / 25.4
FALLBACK_MARGIN_MM = 20.0
MAX_FALLBACK_SPOTS = 1000
# ISO 32000 (Annex C) limits a page to 14 400 units a side (200 inches at one point per unit).
MAX_PAGE_UNITS = 14400.0
SEARCH_PAGES = (
    3  # placeholders are searched on the last pages only (the signature block), last first
)
PAGE_MARGIN_MM = 10.0  # a stamp over a placeholder stays this far inside the page
COVER_MARGIN_MM = 1.0  # and reaches this far beyond the placeholder's glyphs
# Bounds on what a hostile page makes placement read.
MAX_GLYPHS = 200_000
MAX_FORMS = 200
MAX_FORM_DEPTH = 8
MAX_CMAP_BYTES = 1_000_000
MAX_CMAP_ENTRIES = 65_536
# Lines and runs, in em of the font: glyphs within this of one baseline share a line; a gap
# wider than RUN_GAP_EM ends a run (a tab, another column); one wider than WORD_GAP_EM is a space.
BASELINE_SLACK_EM = 0.2
RUN_GAP_EM = 1.5
WORD_GAP_EM = 0.15
NEXT_LINE_EM = 2.0

PLACEHOLDER = re.compile(
    r"(?<![a-z])(?:e\s*-?\s*)?m[ae]terai(?![a-z])(?:\s*(?:tempel\s*)?(?:rp\.?\s*)?10[.,]?000(?:[.,]-|,00)?)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PageGeometry:
    """The visible area of a page in user space and its display rotation."""

    visible: Box
    rotation: int  # 0, 90, 180, 270: clockwise turn applied when displayed

    @property
    def reader_size(self) -> tuple[float, float]:
        """(width, height) in points as the reader sees the page."""
        if self.rotation in (90, 270):
            return self.visible.height, self.visible.width
        return self.visible.width, self.visible.height

    def to_user(self, u: float, v: float) -> tuple[float, float]:
        """Reader point (pt from the top-left as displayed) -> user space."""
        b = self.visible
        if self.rotation == 90:
            return b.x0 + v, b.y0 + u
        if self.rotation == 180:
            return b.x1 - u, b.y0 + v
        if self.rotation == 270:
            return b.x1 - v, b.y1 - u
        return b.x0 + u, b.y1 - v

    def to_reader(self, x: float, y: float) -> tuple[float, float]:
        """User space -> reader point (pt from the top-left as displayed)."""
        b = self.visible
        if self.rotation == 90:
            return y - b.y0, x - b.x0
        if self.rotation == 180:
            return b.x1 - x, y - b.y0
        if self.rotation == 270:
            return b.y1 - y, b.x1 - x
        return x - b.x0, b.y1 - y


class Method(enum.StrEnum):
    """How the stamp's place was chosen."""

    PLACEHOLDER = "placeholder"  # over a 'Meterai' placeholder in the text
    EXPLICIT = "explicit"  # where the user asked
    FALLBACK = "fallback"  # no placeholder: the bottom right of the page


@dataclass(frozen=True)
class Placement:
    """Where a stamp goes: a square in user space on one page."""

    page_index: int  # 0-based
    rect: Box
    rotation: int
    method: Method
    center_mm: tuple[float, float]  # reader coordinates of the centre, mm from the top-left
    placeholder_text: str | None = None  # the placeholder's text, when placed over one
    # what the user should know (grown, moved, not covering): Said, read translated
    warnings: tuple[str, ...] = ()

    @property
    def size_mm(self) -> float:
        """The stamp's side: the size asked for, or larger to cover its placeholder."""
        return self.rect.width / MM


def _box(value: Any) -> Box:
    x0, y0, x1, y1 = (float(v) for v in value)
    return Box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def page_geometry(page: PageObject) -> PageGeometry:
    """Geometry of a pypdf page, tolerating odd boxes (CropBox outside the MediaBox...).

    A page without a MediaBox gets US Letter, as PDF readers give it.
    """
    boxes = {key: _inherited_value(page, key) for key in ("/MediaBox", "/CropBox")}
    for key, raw in boxes.items():
        if raw is not None and (not hasattr(raw, "__len__") or len(raw) != 4):
            # pypdf reads the first four numbers of [0 0 595 841 898]; other readers differ
            raise PdfError(N_("the page's {box} is not four numbers"), box=key[1:])
    try:
        if boxes["/MediaBox"] is None:
            media = crop = Box(0, 0, 612, 792)
        else:
            media = _box(page.mediabox)
            crop = _box(page.cropbox)
    except (TypeError, ValueError, KeyError) as exc:
        raise PdfError(N_("page has no usable MediaBox ({reason})"), reason=exc) from exc
    visible = Box(
        max(media.x0, crop.x0),
        max(media.y0, crop.y0),
        min(media.x1, crop.x1),
        min(media.y1, crop.y1),
    )
    if visible.width <= 0 or visible.height <= 0:
        visible = media
    if max(visible.width, visible.height) > MAX_PAGE_UNITS:
        raise PdfError(
            N_(
                "the page is {width} x {height} m, "
                "larger than any PDF page may be ({limit} m a side)"
            ),
            width=f"{visible.width / MM / 1000:.4g}",
            height=f"{visible.height / MM / 1000:.4g}",
            limit=f"{MAX_PAGE_UNITS / MM / 1000:.2f}",
        )
    try:
        rotation = int(page.get("/Rotate", 0) or 0) % 360
    except (TypeError, ValueError):
        rotation = 0
    if rotation % 90:
        rotation = 0
    return PageGeometry(visible, rotation)


def _inherited_value(page: PageObject, key: str) -> Any:
    """``key`` of the page or of the nearest page-tree node above it that has one."""
    node: Any = page  # then its parents: whatever the file holds
    for _ in range(64):
        if node is None:
            return None
        node = node.get_object()
        if key in node:
            return node[key]
        node = node.get("/Parent")
    return None


def _mult(m: list[float], n: list[float]) -> list[float]:
    return [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]


@dataclass(frozen=True)
class Placeholder:
    """A placeholder on a page: the text of its run and the box its glyphs fill (user space)."""

    text: str
    box: Box

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box.x0 + self.box.x1) / 2, (self.box.y0 + self.box.y1) / 2


class _Glyph:
    """One shown glyph: its text, where it runs along its line, and its box in user space.

    A page shows thousands of glyphs and placement needs the box of a few, so the box is
    worked out from the glyph's matrix only when asked (a plain class: a frozen dataclass's
    ``__init__`` was a tenth of stamping a letter).
    """

    __slots__ = ("_box", "_extent", "_m", "across", "direction", "em", "end", "start", "text")

    def __init__(
        self,
        text: str,
        start: float,
        end: float,
        across: float,
        em: float,
        direction: tuple[float, float],
        m: tuple[float, float, float, float, float, float],
        extent: tuple[float, float, float, float],  # ink, rise, the em's bottom and top
    ) -> None:
        self.text = text
        self.start = start  # along the line's direction
        self.end = end
        self.across = across  # the baseline's offset across that direction
        self.em = em  # the font size in user space
        self.direction = direction
        self._m = m
        self._extent = extent
        self._box: Box | None = None

    @property
    def box(self) -> Box:
        if self._box is None:
            m = self._m
            ink, rise, low, high = self._extent
            corners = [_apply(m, x, rise + y) for x in (0.0, ink) for y in (low, high)]
            xs, ys = [c[0] for c in corners], [c[1] for c in corners]
            self._box = Box(min(xs), min(ys), max(xs), max(ys))
        return self._box


@dataclass(frozen=True)
class _Font:
    """What placement needs of a font: code -> text, code -> width (glyph space), extent."""

    two_byte: bool
    unicode: dict[int, str]
    widths: dict[int, float]
    default_width: float
    scale: float  # glyph space -> text space: 1/1000, or a Type3 font's matrix
    ascent: float  # in em, above the baseline
    descent: float  # in em, below it (negative)

    def decode(self, data: bytes) -> Iterator[tuple[int, str, float]]:
        """(code, text, width in text space per unit font size) of each glyph ``data`` shows."""
        if self.two_byte:
            codes = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data) - 1, 2)]
        else:
            codes = list(data)
        for code in codes:
            text = self.unicode.get(code)
            if text is None:
                text = chr(code) if not self.two_byte and 32 <= code < 127 else "\ufffd"
            yield code, text, self.widths.get(code, self.default_width) * self.scale


_HEX = re.compile(rb"<([0-9A-Fa-f\s]*)>")
_RANGE = re.compile(rb"<([0-9A-Fa-f]{1,8})>\s*<([0-9A-Fa-f]{1,8})>\s*(<[0-9A-Fa-f\s]*>|\[[^\]]*\])")
# Glyph names of a /Differences array that a placeholder can be written with.
_GLYPH_NAMES = {
    "space": " ", "parenleft": "(", "parenright": ")", "bracketleft": "[", "bracketright": "]",
    "period": ".", "comma": ",", "hyphen": "-", "minus": "-", "colon": ":",
    **{n: str(i) for i, n in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"))},
}  # fmt: skip


def _utf16(hex_digits: bytes) -> str:
    digits = bytes(c for c in hex_digits if c not in b" \t\r\n")
    if len(digits) % 2:
        digits += b"0"
    return bytes.fromhex(digits.decode("ascii")).decode("utf-16-be", "replace")


def _to_unicode(stream: Any) -> dict[int, str]:
    """A ToUnicode CMap's bfchar and bfrange entries, bounded in size and count."""
    data = stream.get_object().get_data()[:MAX_CMAP_BYTES]
    out: dict[int, str] = {}
    for block in re.finditer(rb"beginbfchar(.*?)endbfchar", data, re.S):
        items = _HEX.findall(block.group(1))
        for src, dst in zip(items[::2], items[1::2], strict=False):
            if src.strip():
                out[int(src, 16)] = _utf16(dst)
    for block in re.finditer(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for m in _RANGE.finditer(block.group(1)):
            lo, hi = int(m[1], 16), int(m[2], 16)
            if hi < lo or hi - lo + len(out) > MAX_CMAP_ENTRIES:
                continue
            if m[3].startswith(b"["):
                for code, dst in zip(range(lo, hi + 1), _HEX.findall(m[3]), strict=False):
                    out[code] = _utf16(dst)
                continue
            first = bytes(c for c in m[3][1:-1] if c not in b" \t\r\n")
            base, n = int(first or b"0", 16), max(1, (len(first) + 1) // 2)
            for i in range(hi - lo + 1):
                out[lo + i] = _utf16(((base + i) % 256**n).to_bytes(n, "big").hex().encode())
    return out


def _differences(encoding: Any) -> dict[int, str]:
    """Code -> text of an /Encoding dictionary's /Differences, for the names a placeholder uses."""
    out: dict[int, str] = {}
    code = 0
    for item in (encoding.get("/Differences") or [])[:MAX_CMAP_ENTRIES]:
        item = item.get_object() if hasattr(item, "get_object") else item
        if isinstance(item, int | float):
            code = int(item)
            continue
        name = str(item).lstrip("/")
        text = name if len(name) == 1 else _GLYPH_NAMES.get(name)
        if text is not None:
            out[code] = text
        code += 1
    return out


def _standard_widths(base: str, unicode: dict[int, str]) -> dict[int, float]:
    """Widths of one of the 14 standard fonts (no /Widths needed), from reportlab's metrics."""
    texts = tuple(unicode.get(code) or chr(code) for code in range(32, 256))
    return dict(_standard_widths_of(base, texts))


@functools.lru_cache(maxsize=64)
def _standard_widths_of(base: str, texts: tuple[str, ...]) -> tuple[tuple[int, float], ...]:
    """(code, width) for codes 32 to 255 showing ``texts``: the same for every document."""
    from reportlab.pdfbase import pdfmetrics

    if base not in pdfmetrics.standardFonts:
        return ()
    widths = []
    for code, text in enumerate(texts, start=32):
        try:
            widths.append((code, float(pdfmetrics.stringWidth(text, base, 1000))))
        except Exception:  # a character the font's encoding lacks
            continue
    return tuple(widths)


def _load_font(ref: Any) -> _Font:
    font = ref.get_object()
    subtype = font.get("/Subtype")
    descriptor = font.get("/FontDescriptor")
    if subtype == "/Type0":
        descendant = font["/DescendantFonts"][0].get_object()
        descriptor = descendant.get("/FontDescriptor")
    unicode = _to_unicode(font["/ToUnicode"]) if "/ToUnicode" in font else {}
    encoding = font.get("/Encoding")
    if subtype != "/Type0" and hasattr(encoding, "get_object"):
        encoding = encoding.get_object()
        if isinstance(encoding, dict):
            unicode = {**_differences(encoding), **unicode}
    widths: dict[int, float] = {}
    default = 0.0
    if subtype == "/Type0":
        default = float(descendant.get("/DW", 1000))
        w = list(descendant.get("/W") or [])[:MAX_CMAP_ENTRIES]
        i = 0
        while i + 1 < len(w):
            first, nxt = int(w[i]), w[i + 1].get_object()
            if isinstance(nxt, list):
                widths.update({first + k: float(v) for k, v in enumerate(nxt)})
                i += 2
            elif i + 2 < len(w) and 0 <= int(nxt) - first <= MAX_CMAP_ENTRIES:
                widths.update(dict.fromkeys(range(first, int(nxt) + 1), float(w[i + 2])))
                i += 3
            else:
                break
    elif "/Widths" in font:
        first = int(font.get("/FirstChar", 0))
        widths = {first + k: float(v) for k, v in enumerate(font["/Widths"][:256])}
    else:
        base = str(font.get("/BaseFont", "")).lstrip("/").split("+")[-1]
        widths = _standard_widths(base, unicode)
    descriptor = descriptor.get_object() if descriptor is not None else {}
    if not default:
        default = float(descriptor.get("/MissingWidth", 0) or descriptor.get("/AvgWidth", 0) or 500)
    scale = 0.001
    if subtype == "/Type3":
        scale = float(font.get("/FontMatrix", [0.001])[0])
    box = [float(v) for v in descriptor.get("/FontBBox", [0, -250, 0, 800])][:4]
    ascent = float(descriptor.get("/Ascent", 0) or 0) or (box[3] if len(box) == 4 else 800)
    descent = float(descriptor.get("/Descent", 0) or 0) or (box[1] if len(box) == 4 else -250)
    return _Font(
        two_byte=subtype == "/Type0",
        unicode=unicode,
        widths=widths,
        default_width=default,
        scale=scale,
        ascent=min(max(ascent / 1000, 0.5), 1.2),
        descent=max(min(descent / 1000, 0.0), -0.5),
    )


def _apply(m: Sequence[float], x: float, y: float) -> tuple[float, float]:
    return x * m[0] + y * m[2] + m[4], x * m[1] + y * m[3] + m[5]


class _Enough(Exception):
    """The page shows more glyphs than placement looks at."""


@dataclass
class _TextState:
    font: _Font | None = None
    size: float = 0.0
    char_spacing: float = 0.0
    word_spacing: float = 0.0
    scale: float = 1.0
    leading: float = 0.0
    rise: float = 0.0


class _GlyphCollector:
    """Runs a page's content streams (and the forms they draw) far enough to know where each
    glyph is: the graphics and text state operators and the text-showing ones, nothing else."""

    def __init__(self, pdf: Any) -> None:
        self.pdf = pdf
        self.glyphs: list[_Glyph] = []
        self.fonts: dict[int, _Font] = {}
        self.forms = 0

    def font(self, resources: Any, name: Any) -> _Font | None:
        ref = (resources.get("/Font") or {}).get(name) if resources is not None else None
        if ref is None:
            return None
        key = id(ref.get_object())
        if key not in self.fonts:
            self.fonts[key] = _load_font(ref)
        return self.fonts[key]

    def run(self, operations: list[Any], resources: Any, ctm: list[float], depth: int) -> None:
        from pypdf.generic import ContentStream

        resources = resources.get_object() if resources is not None else None
        ts = _TextState()
        stack: list[tuple[list[float], _TextState]] = []
        tm = tlm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        for operands, op in operations:
            if op == b"q":
                stack.append((ctm, copy.copy(ts)))
            elif op == b"Q" and stack:
                ctm, ts = stack.pop()
            elif op == b"cm" and len(operands) == 6:
                ctm = _mult([float(v) for v in operands], ctm)
            elif op == b"BT":
                tm = tlm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
            elif op == b"Tf" and len(operands) == 2:
                ts.font, ts.size = self.font(resources, operands[0]), float(operands[1])
            elif op in (b"Tc", b"Tw", b"Tz", b"TL", b"Ts") and operands:
                value = float(operands[0])
                if op == b"Tc":
                    ts.char_spacing = value
                elif op == b"Tw":
                    ts.word_spacing = value
                elif op == b"Tz":
                    ts.scale = value / 100
                elif op == b"TL":
                    ts.leading = value
                else:
                    ts.rise = value
            elif op in (b"Td", b"TD") and len(operands) == 2:
                tx, ty = float(operands[0]), float(operands[1])
                if op == b"TD":
                    ts.leading = -ty
                tm = tlm = _mult([1.0, 0.0, 0.0, 1.0, tx, ty], tlm)
            elif op == b"Tm" and len(operands) == 6:
                tm = tlm = [float(v) for v in operands]
            elif op in (b"T*", b"'", b'"'):
                if op == b'"' and len(operands) == 3:
                    ts.word_spacing, ts.char_spacing = float(operands[0]), float(operands[1])
                tm = tlm = _mult([1.0, 0.0, 0.0, 1.0, 0.0, -ts.leading], tlm)
                if op != b"T*" and operands:
                    tm = self.show(operands[-1], ts, tm, ctm)
            elif op == b"Tj" and operands:
                tm = self.show(operands[0], ts, tm, ctm)
            elif op == b"TJ" and operands:
                for item in operands[0]:
                    if isinstance(item, int | float):
                        shift = -float(item) / 1000 * ts.size * ts.scale
                        tm = _mult([1.0, 0.0, 0.0, 1.0, shift, 0.0], tm)
                    else:
                        tm = self.show(item, ts, tm, ctm)
            elif op == b"Do" and operands and depth < MAX_FORM_DEPTH:
                xobject = (resources.get("/XObject") or {}).get(operands[0]) if resources else None
                form = xobject.get_object() if xobject is not None else None
                if form is None or form.get("/Subtype") != "/Form" or self.forms >= MAX_FORMS:
                    continue
                self.forms += 1
                matrix = [float(v) for v in form.get("/Matrix", [1, 0, 0, 1, 0, 0])]
                inner = ContentStream(form, self.pdf).operations
                self.run(inner, form.get("/Resources", resources), _mult(matrix, ctm), depth + 1)

    def show(self, string: Any, ts: _TextState, tm: list[float], ctm: list[float]) -> list[float]:
        """Record the glyphs ``string`` shows; the text matrix after them.

        Each glyph is drawn with the text matrix times the CTM; only its translation changes
        along the string, so the rest is worked out once per string.
        """
        font = ts.font
        if font is None or not ts.size:
            return tm
        data = getattr(string, "original_bytes", None)
        if data is None:
            data = (
                bytes(string)
                if isinstance(string, bytes)
                else str(string).encode("latin-1", "replace")
            )
        m = _mult(tm, ctm)
        m0, m1, m2, m3 = m[0], m[1], m[2], m[3]
        c0, c2, c4, c1, c3, c5 = ctm[0], ctm[2], ctm[4], ctm[1], ctm[3], ctm[5]
        t0, t1, t2, t3, t4, t5 = tm
        size, hscale, rise = ts.size, ts.scale, ts.rise
        length = (m0**2 + m1**2) ** 0.5
        em = size * (m2**2 + m3**2) ** 0.5
        drawn = length > 0 and em > 0
        d0, d1 = (m0 / length, m1 / length) if drawn else (0.0, 0.0)
        direction = (round(d0, 2), round(d1, 2))
        low, high = font.descent * size, font.ascent * size
        glyphs = self.glyphs
        for code, text, width in font.decode(data):
            if drawn:
                m4, m5 = t4 * c0 + t5 * c2 + c4, t4 * c1 + t5 * c3 + c5
                ink = width * size * hscale
                ox, oy = 0.0 * m0 + rise * m2 + m4, 0.0 * m1 + rise * m3 + m5
                start = ox * d0 + oy * d1
                glyphs.append(
                    _Glyph(
                        text,
                        start,
                        start + ink * length,
                        oy * d0 - ox * d1,
                        em,
                        direction,
                        (m0, m1, m2, m3, m4, m5),
                        (ink, rise, low, high),
                    )
                )
                if len(glyphs) >= MAX_GLYPHS:
                    raise _Enough
            spacing = ts.char_spacing + (ts.word_spacing if code == 32 and not font.two_byte else 0)
            advance = (width * size + spacing) * hscale
            t4, t5 = advance * t0 + 0.0 * t2 + t4, advance * t1 + 0.0 * t3 + t5
        return [t0, t1, t2, t3, t4, t5]


def _lines(glyphs: list[_Glyph]) -> list[list[_Glyph]]:
    """Glyphs grouped into lines: the same direction and a shared baseline, in reading order."""
    by_direction: dict[tuple[float, float], list[_Glyph]] = {}
    for g in glyphs:
        by_direction.setdefault(g.direction, []).append(g)
    lines: list[list[_Glyph]] = []
    for group in by_direction.values():
        group.sort(key=lambda g: g.across)
        line: list[_Glyph] = []
        for g in group:
            if line and g.across - line[0].across > BASELINE_SLACK_EM * max(g.em, line[0].em):
                lines.append(line)
                line = []
            line.append(g)
        if line:
            lines.append(line)
    return [sorted(line, key=lambda g: g.start) for line in lines]


@dataclass(frozen=True)
class _Run:
    """Glyphs of one line that stand together: no wider gap between them than a few spaces."""

    text: str
    glyphs: tuple[_Glyph, ...]

    @property
    def box(self) -> Box:
        inked = [g.box for g in self.glyphs if g.text.strip()] or [g.box for g in self.glyphs]
        return Box(
            min(b.x0 for b in inked),
            min(b.y0 for b in inked),
            max(b.x1 for b in inked),
            max(b.y1 for b in inked),
        )


def _runs(line: list[_Glyph]) -> list[_Run]:
    runs: list[_Run] = []
    parts: list[str] = []
    members: list[_Glyph] = []
    end = 0.0
    for g in line:
        if members:
            prev = members[-1]
            if g.text == prev.text and abs(g.start - prev.start) < 0.05 * g.em:
                continue  # the same glyph drawn twice (a fake bold, a shadow)
            gap = g.start - end
            if gap > RUN_GAP_EM * max(g.em, prev.em):
                runs.append(_Run(" ".join("".join(parts).split()), tuple(members)))
                parts, members = [], []
            elif gap > WORD_GAP_EM * g.em and not (g.text.isspace() or parts[-1].isspace()):
                parts.append(" ")
        parts.append(g.text)
        members.append(g)
        end = g.end if len(members) == 1 else max(end, g.end)
    if members:
        runs.append(_Run(" ".join("".join(parts).split()), tuple(members)))
    return runs


def _is_placeholder(text: str) -> bool:
    """A run of its own that is only the word, its amount and brackets: not a sentence."""
    return PLACEHOLDER.fullmatch(text.strip("()[] ")) is not None


def find_placeholders(page: PageObject) -> list[Placeholder]:
    """Placeholder runs on ``page`` with the box of their glyphs (widths from the fonts).

    A placeholder is a run of its own on its line ("Meterai Rp10.000", "(materai 10.000)"), not
    the word inside a sentence; an amount alone on the line just below or above, under the word,
    belongs to it.
    """
    from pypdf.errors import LimitReachedError

    collector = _GlyphCollector(page.pdf)
    try:
        contents = page.get_contents()
        if contents is not None:
            collector.run(contents.operations, page.get("/Resources"), [1.0, 0, 0, 1.0, 0, 0], 0)
    except _Enough:
        pass
    except LimitReachedError as exc:
        raise PdfError(
            N_(
                "a content stream on the page inflates to more than pypdf's limit of "
                "{limit} MB (a decompression bomb?); it cannot be stamped safely"
            ),
            limit=_inflate_limit_mb(),
        ) from exc
    except Exception:  # an unreadable content stream just has no placeholder beyond this point
        pass
    lines = [_runs(line) for line in _lines(collector.glyphs)]
    found: list[Placeholder] = []
    for i, runs in enumerate(lines):
        for run in runs:
            if not _is_placeholder(run.text):
                continue
            text, box = run.text, run.box
            neighbours = [r for j in (i - 1, i + 1) if 0 <= j < len(lines) for r in lines[j]]
            for other in neighbours:
                if AMOUNT.search(text) is None and _is_amount_under(other, run):
                    below = other.glyphs[0].across < run.glyphs[0].across
                    text = f"{text} {other.text}" if below else f"{other.text} {text}"
                    box = _union(box, other.box)
            found.append(Placeholder(text, box))
    return found


AMOUNT = re.compile(r"[(\[]?\s*(?:rp\.?\s*)?10[.,]?000(?:[.,]-|,00)?\s*[)\]]?", re.IGNORECASE)


def _union(a: Box, b: Box) -> Box:
    return Box(min(a.x0, b.x0), min(a.y0, b.y0), max(a.x1, b.x1), max(a.y1, b.y1))


def _is_amount_under(other: _Run, run: _Run) -> bool:
    """Is ``other`` an amount alone on the next line of ``run``, beside the word?"""
    g, h = run.glyphs[0], other.glyphs[0]
    if g.direction != h.direction or AMOUNT.fullmatch(other.text) is None:
        return False
    if not 0 < abs(h.across - g.across) <= NEXT_LINE_EM * max(g.em, h.em):
        return False
    start, end = min(x.start for x in run.glyphs), max(x.end for x in run.glyphs)
    return min(x.start for x in other.glyphs) < end and max(x.end for x in other.glyphs) > start


def _inflate_limit_mb() -> int:
    from pypdf import filters

    return int(getattr(filters, "ZLIB_MAX_OUTPUT_LENGTH", 75_000_000) // 1_000_000)


def _signature_boxes(page: PageObject) -> list[Box]:
    """Rectangles of existing widget annotations (e.g. an earlier stamp) on ``page``."""
    boxes = []
    try:
        annots = page.get("/Annots") or []
        for ref in annots:
            annot = ref.get_object()
            if annot.get("/Subtype") == "/Widget" and "/Rect" in annot:
                box = _box(annot["/Rect"])
                if box.width > 1 and box.height > 1:
                    boxes.append(box)
    except Exception:
        return []
    return boxes


def _square(geom: PageGeometry, cx: float, cy: float, size: float, margin: float = 0.0) -> Box:
    """A square of ``size`` centred near (cx, cy), moved inside the visible area, ``margin``
    from its edges where the page is large enough."""
    b = geom.visible
    if size > b.width or size > b.height:
        raise PdfError(
            N_("the stamp ({size} mm) does not fit on the page ({width} x {height} mm)"),
            hint=Hint.SIZE,
            size=f"{size / MM:.0f}",
            width=f"{b.width / MM:.0f}",
            height=f"{b.height / MM:.0f}",
        )
    half = size / 2
    mx = min(margin, (b.width - size) / 2)
    my = min(margin, (b.height - size) / 2)
    cx = min(max(cx, b.x0 + half + mx), b.x1 - half - mx)
    cy = min(max(cy, b.y0 + half + my), b.y1 - half - my)
    return Box(cx - half, cy - half, cx + half, cy + half)


def _placement(
    index: int,
    geom: PageGeometry,
    rect: Box,
    method: Method,
    text: str | None = None,
    warnings: tuple[str, ...] = (),
) -> Placement:
    u, v = geom.to_reader((rect.x0 + rect.x1) / 2, (rect.y0 + rect.y1) / 2)
    centre = (round(u / MM, 2), round(v / MM, 2))
    return Placement(index, rect, geom.rotation, method, centre, text, warnings)


def _mm(points: float) -> str:
    return f"{round(points / MM, 1):g}"


def _over(geom: PageGeometry, found: Placeholder, size: float) -> tuple[Box, tuple[str, ...]]:
    """The stamp's square over a placeholder: centred on its glyphs and covering them, grown
    within the size limits if need be, kept PAGE_MARGIN_MM inside the page; and what the user
    should be told about it."""
    from emeterai._render import MAX_SIZE_MM

    box = found.box
    b = geom.visible
    need = max(box.width, box.height) + 2 * COVER_MARGIN_MM * MM
    side = max(size, min(need, MAX_SIZE_MM * MM, b.width, b.height))
    cx, cy = found.centre
    rect = _square(geom, cx, cy, side, margin=PAGE_MARGIN_MM * MM)
    notes: list[str] = []
    if side > size + 0.01:
        notes.append(
            Said(
                N_("the stamp is {side} mm, not {size} mm, to cover its placeholder"),
                side=_mm(side),
                size=_mm(size),
            )
        )
    moved = (((rect.x0 + rect.x1) / 2 - cx) ** 2 + ((rect.y0 + rect.y1) / 2 - cy) ** 2) ** 0.5
    if moved > 0.05 * MM:
        notes.append(
            Said(
                N_("the stamp moved {moved} mm inward to stay {margin} mm inside the page"),
                moved=_mm(moved),
                margin=f"{PAGE_MARGIN_MM:g}",
            )
        )
    out = max(rect.x0 - box.x0, box.x1 - rect.x1, rect.y0 - box.y0, box.y1 - rect.y1)
    if out > 0.01:
        notes.append(
            Said(
                N_(
                    'the stamp does not cover its placeholder "{text}": '
                    "the placeholder sticks out {out} mm"
                ),
                text=found.text,
                out=_mm(out),
            )
        )
    return rect, tuple(notes)


def _explicit(
    pages: list[PageObject], index: int, at_mm: tuple[float, float], size: float
) -> Placement:
    """The stamp centred where the user asked, moved inward if its square sticks out; a
    centre off the page is refused, naming the page's size."""
    from emeterai.errors import PlacementOutOfPage

    geom = page_geometry(pages[index])
    width, height = geom.reader_size
    u, v = at_mm[0] * MM, at_mm[1] * MM
    if not (0 <= u <= width + 0.01 and 0 <= v <= height + 0.01):
        raise PlacementOutOfPage(
            N_("--at {x},{y} is off page {page} ({width} x {height} mm)"),
            x=f"{at_mm[0]:g}",
            y=f"{at_mm[1]:g}",
            page=index + 1,
            width=_mm(width),
            height=_mm(height),
        )
    x, y = geom.to_user(u, v)
    return _placement(index, geom, _square(geom, x, y, size), Method.EXPLICIT)


def _fallback_spots(u: float, v: float, size: float, taken: int) -> Iterator[tuple[float, float]]:
    """Reader points right to left, bottom to top, from the bottom-right spot (u, v): a bounded
    number, so that a huge page costs no more than a small one."""
    yield u, v
    given = 1
    limit = max(MAX_FALLBACK_SPOTS, 4 * (taken + 1))
    step = size * 1.2
    vv = v
    while vv - size / 2 >= 0:
        uu = u if vv != v else u - step
        while uu - size / 2 >= 0:
            if given >= limit:
                return
            yield uu, vv
            given += 1
            uu -= step
        vv -= step


def choose(
    pages: list[PageObject],
    size_mm: float,
    page: int | None = None,
    at_mm: tuple[float, float] | None = None,
) -> Placement:
    """Pick the stamp's place: explicit ``at_mm``, else a free placeholder, else bottom-right.

    ``page`` is 1-based, -1 is the last page; None means "search", i.e. the last pages for a
    placeholder, and the last page for ``at_mm`` and the fallback.
    """
    if not pages:
        raise PdfError(N_("the document has no pages"))
    if page == -1:
        page = len(pages)
    if page is not None and not 1 <= page <= len(pages):
        raise UsageError(
            N_("page {page} is out of range: the document has {count} page(s)"),
            hint=Hint.PAGE,
            page=page,
            count=len(pages),
        )
    size = size_mm * MM
    last = len(pages) - 1
    if at_mm is not None:
        return _explicit(pages, page - 1 if page is not None else last, at_mm, size)

    order = [page - 1] if page is not None else list(range(last, max(-1, last - SEARCH_PAGES), -1))
    for index in order:
        geom = page_geometry(pages[index])
        taken = _signature_boxes(pages[index])

        # Nearest the signature block: the last as read (lowest, then rightmost), whatever
        # order the content stream draws them in.
        def as_read(p: Placeholder, geom: PageGeometry = geom) -> tuple[float, float]:
            u, v = geom.to_reader(*p.centre)
            return round(v / MM), u  # one line: within a millimetre; then left to right

        for found in sorted(find_placeholders(pages[index]), key=as_read, reverse=True):
            rect, notes = _over(geom, found, size)
            if not any(rect.overlaps(t) for t in taken):
                return _placement(index, geom, rect, Method.PLACEHOLDER, found.text, notes)

    index = page - 1 if page is not None else last
    geom = page_geometry(pages[index])
    taken = _signature_boxes(pages[index])
    width, height = geom.reader_size
    margin = min(FALLBACK_MARGIN_MM * MM, max(0.0, (min(width, height) - size) / 2))
    u = width - margin - size / 2
    v = height - margin - size / 2
    for uu, vv in _fallback_spots(u, v, size, len(taken)):
        x, y = geom.to_user(uu, vv)
        rect = _square(geom, x, y, size)
        if not any(rect.overlaps(t) for t in taken):
            return _placement(index, geom, rect, Method.FALLBACK)
    x, y = geom.to_user(u, v)
    return _placement(index, geom, _square(geom, x, y, size), Method.FALLBACK)
