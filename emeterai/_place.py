"""Where the stamp goes: placeholder search and page geometry (pypdf).

Coordinates given by users are millimetres from the top-left corner of the page *as the reader
sees it*: the visible area is the CropBox clipped to the MediaBox, turned by ``/Rotate``. The
functions here turn them into PDF user space and back, and return a square rectangle in user
space plus the rotation that keeps the stamp upright as read.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emeterai.errors import Hint, PdfError, UsageError

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

PLACEHOLDER = re.compile(
    r"(?<![a-z])(?:e\s*-?\s*)?m[ae]terai(?![a-z])(?:\s*(?:tempel\s*)?(?:rp\.?\s*)?10[.,]?000(?:[.,]-|,00)?)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def overlaps(self, other: Box) -> bool:
        return (
            self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1
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
            raise PdfError(f"the page's {key[1:]} is not four numbers")
    try:
        if boxes["/MediaBox"] is None:
            media = crop = Box(0, 0, 612, 792)
        else:
            media = _box(page.mediabox)
            crop = _box(page.cropbox)
    except (TypeError, ValueError, KeyError) as exc:
        raise PdfError(f"page has no usable MediaBox ({exc})") from exc
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
            f"the page is {visible.width / MM / 1000:.4g} x {visible.height / MM / 1000:.4g} m, "
            f"larger than any PDF page may be ({MAX_PAGE_UNITS / MM / 1000:.2f} m a side)"
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


def find_placeholders(page: PageObject) -> list[tuple[float, float]]:
    """Centres (user space) of placeholder texts on ``page``, in content order."""
    found: list[tuple[float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not text or "eterai" not in text.lower() and "aterai" not in text.lower():
            return
        m = _mult([float(v) for v in tm], [float(v) for v in cm])
        scale = (m[0] ** 2 + m[1] ** 2) ** 0.5 or 1.0
        eff = float(size or 1.0) * scale
        unit = (m[0] / scale, m[1] / scale)
        for match in PLACEHOLDER.finditer(text):
            # Average glyph advance of ~0.5 em: close enough to centre a 25 mm stamp.
            mid = (match.start() + match.end()) / 2 * 0.5 * eff
            up = 0.35 * eff
            found.append((m[4] + unit[0] * mid - unit[1] * up, m[5] + unit[1] * mid + unit[0] * up))

    from pypdf.errors import LimitReachedError

    try:
        page.extract_text(visitor_text=visit)
    except LimitReachedError as exc:
        raise PdfError(
            "a content stream on the page inflates to more than pypdf's limit of "
            f"{_inflate_limit_mb()} MB (a decompression bomb?); it cannot be stamped safely"
        ) from exc
    except Exception:  # an unreadable content stream just has no placeholder
        return []
    return found


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


def _square(geom: PageGeometry, cx: float, cy: float, size: float) -> Box:
    """A square of ``size`` centred near (cx, cy), moved inside the visible area."""
    b = geom.visible
    if size > b.width or size > b.height:
        raise PdfError(
            f"the stamp ({size / MM:.0f} mm) does not fit on the page "
            f"({b.width / MM:.0f} x {b.height / MM:.0f} mm)",
            hint=Hint.SIZE,
        )
    half = size / 2
    cx = min(max(cx, b.x0 + half), b.x1 - half)
    cy = min(max(cy, b.y0 + half), b.y1 - half)
    return Box(cx - half, cy - half, cx + half, cy + half)


def _placement(index: int, geom: PageGeometry, rect: Box, method: Method) -> Placement:
    u, v = geom.to_reader((rect.x0 + rect.x1) / 2, (rect.y0 + rect.y1) / 2)
    return Placement(index, rect, geom.rotation, method, (round(u / MM, 2), round(v / MM, 2)))


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
        raise PdfError("the document has no pages")
    if page == -1:
        page = len(pages)
    if page is not None and not 1 <= page <= len(pages):
        raise UsageError(
            f"page {page} is out of range: the document has {len(pages)} page(s)", hint=Hint.PAGE
        )
    size = size_mm * MM
    last = len(pages) - 1
    if at_mm is not None:
        index = page - 1 if page is not None else last
        geom = page_geometry(pages[index])
        x, y = geom.to_user(at_mm[0] * MM, at_mm[1] * MM)
        return _placement(index, geom, _square(geom, x, y, size), Method.EXPLICIT)

    order = [page - 1] if page is not None else list(range(last, max(-1, last - SEARCH_PAGES), -1))
    for index in order:
        geom = page_geometry(pages[index])
        taken = _signature_boxes(pages[index])

        # Nearest the signature block: the last as read (lowest, then rightmost), whatever
        # order the content stream draws them in.
        def as_read(p: tuple[float, float], geom: PageGeometry = geom) -> tuple[float, float]:
            u, v = geom.to_reader(*p)
            return round(v / MM), u  # one line: within a millimetre; then left to right

        spots = sorted(find_placeholders(pages[index]), key=as_read)
        for x, y in reversed(spots):
            rect = _square(geom, x, y, size)
            if not any(rect.overlaps(t) for t in taken):
                return _placement(index, geom, rect, Method.PLACEHOLDER)

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
