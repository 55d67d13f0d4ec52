"""Is a stamp's appearance exactly the picture emeterai draws for it? (SPEC §6, issue 11 class 5)

The stamp picture is not read for its text or rectangles: it is *regenerated* with emeterai's own
renderer from what the stamp certificate and signature say (serial, value, issuer name, specimen
flag, the QR payload from the signed document digest) plus the size the picture claims and the
rotation of its page, and the widget's normal appearance must be that drawing:

* the widget's ``/AP`` holds only ``/N``, a form XObject (no other appearance states);
* that outer form is the wrapper pyHanko writes around a static stamp background: ``/BBox``
  ``[0 h w 0]`` in whole points (pyHanko sizes it from the widget's /Rect, truncated), resources of one
  ``/BackgroundGS`` graphics state (opacity 1) and one form XObject ``/Import<32 hex>``, and the
  content ``q q /BackgroundGS gs <cm> /Import... Do Q Q`` with the ``cm`` pyHanko's layout rule
  gives for the picture in that box;
* the inner form is the picture: its decoded content stream byte for byte, its ``/BBox`` the
  picture's square, no ``/Matrix`` other than identity, and resources of exactly the standard
  fonts (Type1, WinAnsiEncoding, nothing embedded) and graphics states emeterai's drawing uses;
  no nested forms, images, patterns or optional content at all.

Anything else is a mismatch, reported as one sentence each.

**Picture versions.** Stamps made earlier carry no version marker, so versions are told apart
by trying each known version's generator, newest first, lazily, each after a length check:

1. ``render.appearance`` with the fixed QR mask (``render.QR_MASK``), commit b97daad onwards;
2. the same drawing with qrcode's best mask: stamps from 8e09112 to b97daad (QR drawn last);
3. ``render.appearance_v1``: stamps from 0f27461 to 8e09112 (QR drawn before the value, under the
   SPESIMEN overprint, best mask).

The inner form of versions 1 and 2 was reportlab's page imported by pyHanko
(``import_page_as_xobject``: ASCII85 + Flate, reportlab's own font dictionaries), of version 3 a
form built directly; the structural comparison accepts both encodings of the same resources.

**Bounded cost.** Nothing here walks the appearance: at most :data:`MAX_FORMS` form dictionaries
are looked at (the outer wrapper and the one picture it names), a stream is inflated to at most
one byte more than the genuine content it must equal (a longer one is a mismatch at once), only
the Flate and ASCII85 filters the genuine pictures use are decoded, and no regular expression
runs on attacker-controlled content except one anchored, fixed-form match of the 100-byte
wrapper. :class:`PictureVerdict` counts the work done.
"""

from __future__ import annotations

import functools
import math
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from emeterai import _render as render
from emeterai._pdfobjects import Said
from emeterai.i18n import N_

MAX_FORMS = 2  # the outer wrapper and the picture: a genuine appearance has no other forms
_FORM_KEYS = {"/Type", "/Subtype", "/BBox", "/Resources", "/Length", "/Filter", "/DecodeParms"}
_FORM_KEYS_OPTIONAL = {"/Matrix", "/FormType"}
_PROCSET = ["/PDF", "/Text", "/ImageB", "/ImageC", "/ImageI"]
_WRAPPER = re.compile(
    rb"q q /BackgroundGS gs (?P<cm>[-0-9. ]{1,120}) cm (?P<name>/Import[0-9a-f]{32}) Do Q Q"
)
_SIZE_SLACK_PT = 0.01


@dataclass
class PictureVerdict:
    """What :func:`check_picture` found: ``mismatches`` (empty: the picture is genuine) and the
    work it did (form dictionaries looked at, bytes decoded, drawings regenerated)."""

    mismatches: list[Said] = field(default_factory=list)
    version: str | None = None  # which picture version matched
    forms_visited: int = 0
    bytes_decoded: int = 0
    generated: int = 0

    @property
    def genuine(self) -> bool:
        return not self.mismatches


@dataclass(frozen=True)
class Expected:
    """What the stamp says its picture is."""

    serial: str
    document_sha256: str
    value: int
    issuer_name: str
    specimen: bool
    rotation: int = 0


def picture_problems(
    widget: Any,
    serial: str,
    document_sha256: str | None,
    value: int,
    issuer_name: str,
    specimen: bool,
    rotation: Any = 0,
) -> list[Said]:
    """The sentences saying how the widget's appearance differs from the genuine picture."""
    return check_picture(
        widget, serial, document_sha256, value, issuer_name, specimen, rotation
    ).mismatches


def check_picture(
    widget: Any,
    serial: str,
    document_sha256: str | None,
    value: int,
    issuer_name: str,
    specimen: bool,
    rotation: Any = 0,
) -> PictureVerdict:
    verdict = PictureVerdict()
    if document_sha256 is None:
        verdict.mismatches.append(
            Said(N_("the stamp records no document digest, so its QR code cannot be checked"))
        )
        return verdict
    turn = _rotation(rotation)
    if turn is None:
        verdict.mismatches.append(
            Said(N_("the stamp's page has an odd /Rotate {rotation}"), rotation=repr(rotation))
        )
        return verdict
    expected = Expected(serial, document_sha256, value, issuer_name, specimen, turn)
    why = _compare(widget, expected, verdict)
    if why is not None:
        verdict.mismatches.append(why)
    return verdict


def _rotation(value: Any) -> int | None:
    if value is None:
        return 0
    if isinstance(value, bool):
        return None
    try:
        turn = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(turn) or turn % 90:
        return None
    return int(turn) % 360  # as ``place`` reads /Rotate when stamping


# -- the wrapper ------------------------------------------------------------------------------


def _compare(widget: Any, expected: Expected, verdict: PictureVerdict) -> Said | None:
    """The first way the widget's appearance differs from the genuine one, checked from the
    outside in (appearance states, wrapper form, picture form, wrapper content, picture); None
    when it is the genuine picture or the differences were added to ``verdict`` in detail."""
    ap = _resolve(_get(widget, "/AP"))
    if not isinstance(ap, dict):
        return Said(N_("the stamp has no appearance (/AP), so it shows no picture"))
    if set(ap) != {"/N"}:
        others = ", ".join(sorted(str(k) for k in ap if k != "/N"))
        if not others:
            return Said(N_("the stamp's appearance has states emeterai never writes (no /N)"))
        return Said(
            N_("the stamp's appearance has states emeterai never writes ({states})"), states=others
        )
    outer = _resolve(ap["/N"])
    verdict.forms_visited += 1
    why = _form_dict_problem(outer, picture=False)
    if why:
        return why
    box = _wrapper_box(outer)
    if box is None:
        return Said(N_("the stamp's appearance has another /BBox than pyHanko writes for a stamp"))
    named = _wrapped_picture(outer)
    if isinstance(named, str):
        return named
    name, ref = named
    inner = _resolve(ref)
    verdict.forms_visited += 1
    why = _form_dict_problem(inner, picture=True)
    if why:
        return why
    size_pt = _picture_size(inner)
    if isinstance(size_pt, str):
        return size_pt
    why = _wrapper_content_problem(outer, box, name, size_pt, verdict)
    if why:
        return why
    return _compare_picture(inner, size_pt, expected, verdict)


def _wrapper_box(outer: Any) -> tuple[float, float] | None:
    """(width, height) of the wrapper's box if it is pyHanko's ``[0 h w 0]`` in whole points
    (pyHanko sizes the box from the widget's /Rect; a reader maps the box onto the /Rect
    whatever it is, so a later /Rect is judged elsewhere), else None."""
    outer_box = _numbers(_resolve(outer["/BBox"]), 4)
    if (
        outer_box is None
        or outer_box[0] != 0
        or outer_box[3] != 0
        or not all(v >= 1 and v == int(v) for v in outer_box[1:3])
    ):
        return None
    return outer_box[2], outer_box[1]


def _wrapped_picture(outer: Any) -> tuple[Any, Any] | Said:
    """The (name, reference) of the one form the wrapper draws, through the one opaque
    ``/BackgroundGS`` graphics state pyHanko writes; else the sentence saying what differs."""
    resources = _resolve(outer["/Resources"])
    if not isinstance(resources, dict) or set(resources) != {"/ExtGState", "/XObject"}:
        return Said(N_("the stamp's appearance has other resources than the stamp picture"))
    states = _resolve(resources["/ExtGState"])
    gs = _resolve(states.get("/BackgroundGS")) if isinstance(states, dict) else None
    if (
        not isinstance(states, dict)
        or set(states) != {"/BackgroundGS"}
        or not isinstance(gs, dict)
        or set(gs) != {"/CA", "/ca"}
        or not all(_is_number(gs[k], 1.0) for k in ("/CA", "/ca"))
    ):
        return Said(N_("the stamp's appearance draws the picture with another graphics state"))
    xobjects = _resolve(resources["/XObject"])
    if not isinstance(xobjects, dict) or len(xobjects) != 1:
        return Said(N_("the stamp's appearance draws other forms than the one stamp picture"))
    ((name, ref),) = xobjects.items()
    return name, ref


def _picture_size(inner: Any) -> float | Said:
    """The side of the picture's square in points, if its box is a square from the origin of
    a size emeterai draws; else the sentence saying what differs."""
    box = _numbers(_resolve(inner["/BBox"]), 4)
    if (
        box is None
        or not _same_numbers(box[:2], (0, 0), 1e-6)
        or abs(box[2] - box[3]) > _SIZE_SLACK_PT
    ):
        return Said(N_("the stamp picture is not a square from the origin"))
    size_pt = box[2]
    if not (
        render.MIN_SIZE_MM * render.MM - _SIZE_SLACK_PT
        <= size_pt
        <= render.MAX_SIZE_MM * render.MM + _SIZE_SLACK_PT
    ):
        return Said(
            N_("the stamp picture is {size} mm, outside the sizes emeterai draws"),
            size=f"{size_pt / render.MM:.1f}",
        )
    return size_pt


def _wrapper_content_problem(
    outer: Any, box: tuple[float, float], name: Any, size_pt: float, verdict: PictureVerdict
) -> Said | None:
    """Is the wrapper's content exactly what pyHanko draws to place this picture in this box
    (by :func:`picture_layout`)? None if so, else whether it draws more or only places the
    picture otherwise."""
    from pyhanko.pdf_utils import layout

    w, h = box
    picture = layout.BoxConstraints(width=size_pt, height=size_pt)  # whole points, as pyHanko
    fit = picture_layout().fit(
        layout.BoxConstraints(width=w, height=h), picture.width, picture.height
    )
    wrapper = b"q q /BackgroundGS gs %s %s Do Q Q" % (fit.as_cm(), str(name).encode("latin-1"))
    outer_content = _decoded(outer, len(wrapper), verdict)
    if outer_content != wrapper:
        m = _WRAPPER.fullmatch(outer_content or b"")
        if m is None or m.group("name") != str(name).encode("latin-1"):
            return Said(
                N_("the stamp's appearance draws something else than the stamp picture alone")
            )
        return Said(N_("the stamp's appearance scales or moves the stamp picture in its rectangle"))
    return None


def picture_layout() -> Any:
    """How the picture sits in the stamp's widget: centred and stretched to fill it. The signer
    gives pyHanko this rule (``emeterai._sign.stamp_style``); the check recomputes the wrapper
    pyHanko draws from it."""
    from pyhanko.pdf_utils import layout

    return layout.SimpleBoxLayoutRule(
        x_align=layout.AxisAlignment.ALIGN_MID,
        y_align=layout.AxisAlignment.ALIGN_MID,
        margins=layout.Margins(),
        inner_content_scaling=layout.InnerScaling.STRETCH_FILL,
    )


# -- the picture ------------------------------------------------------------------------------


def _candidates(size_pt: float, e: Expected) -> Iterator[tuple[str, Callable[[], Any]]]:
    """Each known picture version's generator for this stamp, newest first (see the module
    docstring); the size in mm is the one the picture's square gives, also rounded to 0.001 mm
    (pictures imported as pages carry a /BBox rounded by reportlab)."""
    sizes = [size_pt / render.MM]
    if round(sizes[0], 3) != sizes[0]:
        sizes.append(round(sizes[0], 3))
    args = (e.serial, e.value, e.issuer_name, e.document_sha256, e.specimen)
    for mm in sizes:
        yield "3", functools.partial(render.appearance, *args, mm, e.rotation)
        yield "2", functools.partial(render.appearance, *args, mm, e.rotation, None)
        yield "1", functools.partial(render.appearance_v1, *args, mm, e.rotation)


def _compare_picture(
    inner: Any, size_pt: float, e: Expected, verdict: PictureVerdict
) -> Said | None:
    longest = 0
    content: bytes | None = None
    seen: set[bytes] = set()
    first: Any = None
    for version, make in _candidates(size_pt, e):
        drawing = make()
        verdict.generated += 1
        first = first or drawing
        if drawing.content in seen:
            continue
        seen.add(drawing.content)
        if len(drawing.content) > longest:
            # decode once, to one byte past the longest candidate so far
            longest = len(drawing.content)
            content = _decoded(inner, longest, verdict)
            if content is None:
                return Said(N_("the stamp picture's content stream is not one emeterai writes"))
        if content != drawing.content:
            continue
        why = _resources_problem(inner, drawing)
        if why is None:
            verdict.version = version
        return why
    # a longer stream was decoded only to one byte past the candidates: read a bounded bit more
    # to say what differs (a look-alike of another serial is about as long as the genuine one)
    content = _decoded(inner, 2 * longest, verdict) or b""
    verdict.mismatches.extend(_describe(content, first, e))
    return None


def _resources_problem(inner: Any, drawing: Any) -> Said | None:
    resources = _resolve(_get(inner, "/Resources"))
    if not isinstance(resources, dict):
        return Said(N_("the stamp picture has no resources"))
    allowed = {"/Font", "/ProcSet"} | ({"/ExtGState"} if drawing.ext_gstates else set())
    if not set(resources) <= allowed or "/Font" not in resources:
        extra = ", ".join(sorted(str(k) for k in set(resources) - allowed))
        if not extra:
            return Said(N_("the stamp picture has resources emeterai never uses (no /Font)"))
        return Said(
            N_("the stamp picture has resources emeterai never uses ({resources})"), resources=extra
        )
    procset = _resolve(resources.get("/ProcSet"))
    if procset is not None and [str(_resolve(v)) for v in procset] != _PROCSET:
        return Said(N_("the stamp picture has another /ProcSet"))
    fonts = _resolve(resources["/Font"])
    if not isinstance(fonts, dict) or sorted(fonts) != [n for n, _ in drawing.fonts]:
        return Said(
            N_("the stamp picture uses other fonts than the standard fonts emeterai draws with")
        )
    for name, base in drawing.fonts:
        font = _resolve(fonts[name])
        want = {
            "/Type": "/Font",
            "/Subtype": "/Type1",
            "/BaseFont": "/" + base,
            "/Encoding": "/WinAnsiEncoding",
            "/Name": name,
        }
        if (
            not isinstance(font, dict)
            or {str(k): str(_resolve(v)) for k, v in font.items()} != want
        ):
            return Said(
                N_("the stamp picture's font {name} is not the standard {base} emeterai uses"),
                name=name,
                base=base,
            )
    if drawing.ext_gstates:
        states = _resolve(resources["/ExtGState"])
        if not isinstance(states, dict) or sorted(states) != [n for n, _ in drawing.ext_gstates]:
            return Said(N_("the stamp picture uses other graphics states than emeterai's drawing"))
        for name, entries in drawing.ext_gstates:
            gs = _resolve(states[name])
            if not isinstance(gs, dict) or sorted(gs) != [k for k, _ in entries]:
                return Said(
                    N_("the stamp picture's graphics state {name} is not emeterai's"), name=name
                )
            if not all(_is_number(gs[k], v) for k, v in entries):
                return Said(
                    N_("the stamp picture's graphics state {name} is not emeterai's"), name=name
                )
    return None


def _describe(content: bytes, drawing: Any, e: Expected) -> list[Said]:
    """Say what differs, from the current template's fixed parts around the serial and QR."""
    size = drawing.size_pt / render.MM
    n = render._qr_geometry(render.qr_runs(render.qr_matrix(drawing.qr_payload)))[0]
    head, mid, tail = render.stamp_template(
        e.value, e.issuer_name, e.specimen, size, e.rotation, n
    ).parts
    at = len(head) + render._SERIAL_LEN
    if (
        len(e.serial) == render._SERIAL_LEN
        and len(content) >= at + len(mid) + len(tail)
        and content.startswith(head)
        and content.startswith(mid, at)
        and content.endswith(tail)
    ):
        found = []
        shown = content[len(head) : at].decode("latin-1")
        if shown != e.serial:
            found.append(
                Said(
                    N_("the stamp picture shows serial {shown}, the certificate {serial}"),
                    shown=shown,
                    serial=e.serial,
                )
            )
        qr_part = content[at + len(mid) : len(content) - len(tail)]
        genuine_qr = drawing.content[at + len(mid) : len(drawing.content) - len(tail)]
        if qr_part != genuine_qr:
            found.append(
                Said(
                    N_("the stamp's QR code does not encode serial {serial} and this document"),
                    serial=e.serial,
                )
            )
        if found:
            return found
    template = (
        N_(
            "the stamp picture is not the one emeterai draws for serial {serial} on this "
            "document (value {value}, issuer {issuer}, specimen, {size} mm, turned "
            "{rotation}°): its drawing differs"
        )
        if e.specimen
        else N_(
            "the stamp picture is not the one emeterai draws for serial {serial} on this "
            "document (value {value}, issuer {issuer}, not specimen, {size} mm, turned "
            "{rotation}°): its drawing differs"
        )
    )
    return [
        Said(
            template,
            serial=e.serial,
            value=e.value,
            issuer=repr(e.issuer_name),
            size=f"{size:.1f}",
            rotation=e.rotation,
        )
    ]


# -- small readers ----------------------------------------------------------------------------


# Why a form is not the one emeterai writes: (the stamp's appearance, the stamp picture).
_NOT_A_FORM = (
    N_("the stamp's appearance is not a form XObject"),
    N_("the stamp picture is not a form XObject"),
)
_NOT_OUR_FORM = (
    N_("the stamp's appearance is not the form emeterai writes ({keys})"),
    N_("the stamp picture is not the form emeterai writes ({keys})"),
)
_WRONG_TYPE = (
    N_("the stamp's appearance is not the form emeterai writes (wrong type)"),
    N_("the stamp picture is not the form emeterai writes (wrong type)"),
)
_ODD_FORM_TYPE = (
    N_("the stamp's appearance has an odd /FormType"),
    N_("the stamp picture has an odd /FormType"),
)
_ODD_MATRIX = (
    N_("the stamp's appearance is drawn through a /Matrix emeterai never writes"),
    N_("the stamp picture is drawn through a /Matrix emeterai never writes"),
)
_ODD_DECODING = (
    N_("the stamp's appearance has decoding parameters emeterai never writes"),
    N_("the stamp picture has decoding parameters emeterai never writes"),
)


def _form_dict_problem(form: Any, picture: bool) -> Said | None:
    """Why ``form`` (the stamp's appearance, or with ``picture`` the stamp picture in it) is
    not the form dictionary emeterai writes, or None."""
    which = int(picture)
    if not hasattr(form, "encoded_data") or not isinstance(form, dict):
        return Said(_NOT_A_FORM[which])
    keys = {str(k) for k in form}
    if (
        str(_resolve(form.get("/Subtype"))) != "/Form"
        or not {"/BBox", "/Resources"} <= keys
        or not keys <= _FORM_KEYS | _FORM_KEYS_OPTIONAL
    ):
        extra = ", ".join(sorted(keys - _FORM_KEYS - _FORM_KEYS_OPTIONAL))
        if not extra:
            return Said(_WRONG_TYPE[which])
        return Said(_NOT_OUR_FORM[which], keys=extra)
    form_type = _resolve(form.get("/FormType"))
    if form_type is not None and not _is_number(form_type, 1):
        return Said(_ODD_FORM_TYPE[which])
    matrix = _resolve(form.get("/Matrix"))
    if matrix is not None and not _same_numbers(_numbers(matrix, 6), (1, 0, 0, 1, 0, 0), 0):
        return Said(_ODD_MATRIX[which])
    if _resolve(form.get("/DecodeParms")) is not None:
        return Said(_ODD_DECODING[which])
    return None


def _decoded(stream: Any, expected_len: int, verdict: PictureVerdict) -> bytes | None:
    """The stream's data, decoded only as far as ``expected_len`` + 1 bytes (what could still be
    equal, and one byte to tell a longer stream), or None for filters emeterai never writes."""
    raw = stream.encoded_data
    filters = _resolve(stream.get("/Filter"))
    names = [filters] if filters is None or not isinstance(filters, list) else filters
    names = [str(_resolve(n)) for n in names if n is not None]
    if names not in ([], ["/FlateDecode"], ["/ASCII85Decode", "/FlateDecode"]):
        return None
    data = bytes(raw)
    limit = expected_len + 1
    if names and names[0] == "/ASCII85Decode":
        plain = _a85(data)
        if plain is None:
            return None
        data = plain
    if names and names[-1] == "/FlateDecode":
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(data, limit)
        except zlib.error:
            return None
        if len(out) <= expected_len and not inflater.eof:
            return None  # truncated
        data = out
    data = data[:limit]
    verdict.bytes_decoded += len(data)
    return data


def _a85(data: bytes) -> bytes | None:
    import base64

    end = data.find(b"~>")
    body = data[:end] if end >= 0 else data
    body = body.strip()
    if body.startswith(b"<~"):
        body = body[2:]
    try:
        return base64.a85decode(body, ignorechars=b" \t\n\r\x0b\x0c")
    except ValueError:
        return None


def _resolve(obj: Any) -> Any:
    for _ in range(8):
        if not hasattr(obj, "get_object"):
            return obj
        nxt = obj.get_object()
        if nxt is obj:
            return obj
        obj = nxt
    return None


def _get(d: Any, key: str) -> Any:
    return d.get(key) if isinstance(d, dict) else None


def _is_number(value: Any, want: float) -> bool:
    value = _resolve(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return False
    return math.isfinite(float(value)) and abs(float(value) - want) <= 1e-6


def _numbers(value: Any, n: int) -> tuple[float, ...] | None:
    if not isinstance(value, list) or len(value) != n:
        return None
    out = []
    for v in value:
        v = _resolve(v)
        if isinstance(v, bool):
            return None
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(f):
            return None
        out.append(f)
    return tuple(out)


def _same_numbers(got: tuple[float, ...] | None, want: tuple[float, ...], tol: float) -> bool:
    return (
        got is not None
        and len(got) == len(want)
        and all(abs(a - b) <= tol for a, b in zip(got, want, strict=True))
    )
