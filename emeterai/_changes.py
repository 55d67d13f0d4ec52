"""What changed after a stamp, judged by what readers draw (issue 11, classes 2 to 4).

pyHanko's difference analysis at form-filling level approves a new signature field and all its
appearance draws, does not look at /NeedAppearances, /DA or /DR, and compares a page's
``/Annots`` as a set. :func:`after_stamp` compares the document as it was when the stamp was
signed (pyHanko's historical view of the stamp's revision) with the final document and reports:

- a signature field added (or filled) later that is unsigned but visible, whose signature does
  not match its bytes, whose widget overlaps the stamp, or that brings actions (/A, /AA), more
  than its one widget, or embedded files; any new form field that is not a signature field;
- a change to /NeedAppearances, /DA, /DR, /XFA of the form, or to any existing non-signature
  field (its value, appearance, /DA, /DR ...);
- annotations added (other than allowed signature widgets), removed, or reordered in a page's
  ``/Annots`` (``modified-after-stamp``), and any visible annotation drawn above the stamp,
  i.e. later in ``/Annots``, whose rectangle overlaps it (``stamp-not-shown``).

It also lists every visible signature added after the stamp (:class:`LaterSignature`).
A later signature may draw over page content that was there at stamping time (an applicant
signs over a signature line): that is allowed, and the office sees it in ``later_signatures``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emeterai._pdfobjects import Said, ref_key
from emeterai._pdfobjects import entry as _get
from emeterai.i18n import N_

if TYPE_CHECKING:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

MODIFIED_AFTER_STAMP = "modified-after-stamp"
STAMP_NOT_SHOWN = "stamp-not-shown"

MAX_PAGES = 100_000
MAX_FIELDS = 100_000
_CANON_BUDGET = 200_000  # objects visited when comparing form state
_FORM_KEYS = ("/NeedAppearances", "/DA", "/DR", "/XFA", "/Q")


@dataclass(frozen=True)
class Change:
    code: str
    detail: str


@dataclass(frozen=True)
class LaterSignature:
    """A visible signature added after a stamp (SPEC §3 ``later_signatures``)."""

    field: str
    signer: str | None
    page: int | None
    rect_pt: tuple[float, float, float, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "signer": self.signer,
            "page": self.page,
            "rect_pt": [round(v, 2) for v in self.rect_pt],
        }


@dataclass(frozen=True)
class Changes:
    problems: tuple[Change, ...]
    later_signatures: tuple[LaterSignature, ...]


def _rect(annot: Any) -> tuple[float, float, float, float] | None:
    try:
        x0, y0, x1, y1 = (float(v) for v in annot["/Rect"])
    except Exception:
        return None
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _draws(form: Any) -> bool:
    """Does an appearance (a form XObject, or a dictionary of states) draw anything?"""
    try:
        obj = form.get_object()
        if hasattr(obj, "data"):
            return bool(obj.data.strip())
        return any(_draws(obj.raw_get(k)) for k in list(obj.keys())[:64])
    except Exception:
        return True  # unreadable: assume it draws


def _visible(annot: Any) -> bool:
    """Would a reader draw this annotation (an appearance that draws, a rectangle with area,
    not hidden)?"""
    r = _rect(annot)
    if r is None or r[2] - r[0] <= 0 or r[3] - r[1] <= 0:
        return False
    flags = int(_get(annot, "/F", 0) or 0)
    if flags & 0b100010:  # Hidden, NoView
        return False
    ap = _get(annot, "/AP")
    if ap is None:
        # without an appearance, readers draw some subtypes themselves
        return _get(annot, "/Subtype") not in ("/Widget", "/Link", "/Popup")
    normal = _get(ap.get_object(), "/N")
    return normal is not None and _draws(ap.get_object().raw_get("/N"))


def _pages(root: Any) -> Iterator[tuple[int, tuple[int, int] | None, Any]]:
    """(index, reference, page) of every page under ``root``'s page tree."""
    seen: set[tuple[int, int]] = set()
    stack = [(root.raw_get("/Pages"), 0)]
    index = 0
    while stack and index < MAX_PAGES:
        raw, depth = stack.pop()
        key = ref_key(raw)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        node = raw.get_object()
        if "/Kids" in node and depth < 64:
            kids = node.raw_get("/Kids").get_object()
            stack.extend((kids.raw_get(i), depth + 1) for i in reversed(range(len(kids))))
        elif _get(node, "/Type") != "/Pages":
            yield index, key, node
            index += 1


def _annots(page: Any) -> list[tuple[Any, Any]]:
    """(key, annotation) for each entry of a page's /Annots. The key is the reference, or for
    an annotation written directly into the array a digest of its content (and how many equal
    ones came before it), so that direct annotations are compared like the others."""
    annots = _get(page, "/Annots")
    if annots is None:
        return []
    arr = annots.get_object()
    out: list[tuple[Any, Any]] = []
    seen: dict[str, int] = {}
    for i in range(min(len(arr), 10_000)):
        raw = arr.raw_get(i)
        key: Any = ref_key(raw) if hasattr(raw, "idnum") else None
        if key is None:
            digest = hashlib.sha256(repr(_canon(raw, [_CANON_BUDGET])).encode()).hexdigest()
            seen[digest] = seen.get(digest, 0) + 1
            key = ("direct", digest[:32], seen[digest])
        out.append((key, raw.get_object()))
    return out


def _fields(root: Any) -> dict[tuple[int, int], Any]:
    """Every field dictionary (terminal or not) of the form, by reference."""
    form = _get(root, "/AcroForm")
    out: dict[tuple[int, int], Any] = {}
    if form is None:
        return out
    top = _get(form.get_object(), "/Fields")
    if top is None:
        return out
    stack = [(top.get_object(), 0)]
    while stack and len(out) < MAX_FIELDS:
        arr, depth = stack.pop()
        for i in range(min(len(arr), MAX_FIELDS)):
            raw = arr.raw_get(i)
            key = ref_key(raw)
            if key is None or key in out:
                continue
            obj = raw.get_object()
            out[key] = obj
            kids = _get(obj, "/Kids")
            if kids is not None and depth < 32:
                stack.append((kids.get_object(), depth + 1))
    return out


def _canon(value: Any, budget: list[int], depth: int = 0, skip: tuple[str, ...] = ()) -> Any:
    """A comparable rendering of a PDF value, references followed (so an object redefined under
    the same number is seen), streams by the digest of their raw data."""
    budget[0] -= 1
    if budget[0] < 0 or depth > 12:
        return "..."
    raw_key = ref_key(value) if hasattr(value, "idnum") else None
    obj = value.get_object() if hasattr(value, "get_object") else value
    if raw_key is not None and depth > 0 and _get(obj, "/Type") in ("/Page", "/Pages"):
        return ("page", raw_key)
    if hasattr(obj, "data") and hasattr(obj, "keys"):
        try:
            digest = hashlib.sha256(obj.encoded_data or b"").hexdigest()
        except Exception:
            digest = hashlib.sha256(obj.data).hexdigest()
        return ("stream", digest, _canon_dict(obj, budget, depth, skip))
    if hasattr(obj, "keys"):
        return _canon_dict(obj, budget, depth, skip)
    if isinstance(obj, list):
        items = [obj.raw_get(i) if hasattr(obj, "raw_get") else obj[i] for i in range(len(obj))]
        return tuple(_canon(item, budget, depth + 1) for item in items)
    return repr(obj)


def _canon_dict(obj: Any, budget: list[int], depth: int, skip: tuple[str, ...]) -> Any:
    keys = sorted(str(k) for k in obj if str(k) not in skip)
    return tuple(
        (k, _canon(obj.raw_get(k), budget, depth + 1))
        for k in keys
        if k not in ("/Parent", "/P", "/Kids")
    )


def _field_name(field: Any) -> str:
    parts = []
    node = field
    for _ in range(32):
        t = _get(node, "/T")
        if t is not None:
            parts.append(str(t))
        parent = _get(node, "/Parent")
        if parent is None:
            break
        node = parent.get_object()
    return ".".join(reversed(parts))


def _field_type(field: Any) -> Any:
    node = field
    for _ in range(32):
        ft = _get(node, "/FT")
        if ft is not None:
            return ft
        parent = _get(node, "/Parent")
        if parent is None:
            return None
        node = parent.get_object()
    return None


def _widgets(field: Any) -> list[tuple[tuple[int, int] | None, Any]]:
    kids = _get(field, "/Kids")
    if kids is None:
        return [(ref_key(field), field)]
    arr = kids.get_object()
    return [(ref_key(arr.raw_get(i)), arr.raw_get(i).get_object()) for i in range(len(arr))]


def _embedded_files(root: Any) -> Any:
    names = _get(root, "/Names")
    files = _get(names.get_object(), "/EmbeddedFiles") if names is not None else None
    return _canon(files, [_CANON_BUDGET]) if files is not None else None


def _intact(emb: EmbeddedPdfSignature) -> bool:
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        if _get(emb.sig_object, "/Type") == "/DocTimeStamp":
            from pyhanko.sign.validation import validate_pdf_timestamp

            stamp = validate_pdf_timestamp(
                emb, validation_context=ValidationContext(trust_roots=[])
            )
            return bool(stamp.intact and stamp.valid)
        status = validate_pdf_signature(emb, ValidationContext(trust_roots=[]), skip_diff=True)
    except Exception:
        return False
    return bool(status.intact and status.valid)


def _signer(emb: EmbeddedPdfSignature) -> str | None:
    from cryptography import x509

    try:
        return x509.load_der_x509_certificate(emb.signer_cert.dump()).subject.rfc4514_string()
    except Exception:
        return None


_SERIALISH = re.compile(rb"[0-9A-HJKMNP-TV-Z]{22}")
MAX_FORMS = 32
MAX_DECODED = 4 * 1024 * 1024


def _appearance_bytes(widget: Any) -> bytes:
    """The decoded content of a widget's normal appearance and of the forms it names, each
    form read once, at most :data:`MAX_FORMS` forms and :data:`MAX_DECODED` bytes."""
    ap = _get(widget, "/AP")
    normal = _get(ap.get_object(), "/N") if ap is not None else None
    if normal is None:
        return b""
    parts: list[bytes] = []
    seen: set[int] = set()
    todo = [normal.get_object()]
    budget = MAX_DECODED
    while todo and len(seen) < MAX_FORMS and budget > 0:
        form = todo.pop()
        if id(form) in seen or not hasattr(form, "data"):
            continue
        seen.add(id(form))
        data = form.data[:budget]
        budget -= len(data)
        parts.append(data)
        resources = _get(form, "/Resources")
        xobjects = _get(resources.get_object(), "/XObject") if resources is not None else None
        if xobjects is not None:
            for _, ref in list(xobjects.get_object().items())[:MAX_FORMS]:
                todo.append(ref.get_object())
    return b"\n".join(parts)


def _serials_shown(widget: Any) -> set[bytes]:
    """Serial-like words in the widget's appearance (as written in its content streams)."""
    try:
        return set(_SERIALISH.findall(_appearance_bytes(widget)))
    except Exception:
        return set()


def _modified(problems: list[Change], template: str, **params: object) -> None:
    """Record a ``modified-after-stamp`` finding (the code most findings here carry)."""
    problems.append(Change(MODIFIED_AFTER_STAMP, Said(template, **params)))


def after_stamp(reader: PdfFileReader, emb: EmbeddedPdfSignature, widget: Any) -> Changes:
    """What changed between the stamp's revision and the end of the file (see module doc)."""
    revision = emb.signed_revision
    if revision >= reader.xrefs.total_revisions - 1:
        return Changes((), ())
    then = reader.get_historical_resolver(revision)
    then_root, now_root = then.root, reader.root
    problems: list[Change] = []
    _form_state_changes(then_root, now_root, problems)
    stamp_rect = _rect(widget)
    allowed_widgets, later = _field_changes(
        reader, revision, then_root, now_root, widget, stamp_rect, problems
    )
    page_of = _annotation_changes(
        then_root, now_root, widget, stamp_rect, allowed_widgets, problems
    )
    found = [_later_signature(sig, w, page_of) for sig, w in later]
    unique = list(dict.fromkeys(problems))
    return Changes(tuple(unique), tuple(found))


def _form_state_changes(then_root: Any, now_root: Any, problems: list[Change]) -> None:
    """The form's drawing state (class 3): entries that change how every field is drawn, and
    embedded files, compared between the stamp's revision and now."""
    then_form = _get(then_root, "/AcroForm")
    now_form = _get(now_root, "/AcroForm")
    for entry in _FORM_KEYS:
        before = _get(then_form.get_object(), entry) if then_form is not None else None
        after = _get(now_form.get_object(), entry) if now_form is not None else None
        if _canon(before, [_CANON_BUDGET]) != _canon(after, [_CANON_BUDGET]):
            _modified(problems, N_("the form's {entry} was changed after the stamp"), entry=entry)
    if _embedded_files(then_root) != _embedded_files(now_root):
        _modified(problems, N_("embedded files were added or changed after the stamp"))


def _field_changes(
    reader: PdfFileReader,
    revision: int,
    then_root: Any,
    now_root: Any,
    widget: Any,
    stamp_rect: tuple[float, float, float, float] | None,
    problems: list[Change],
) -> tuple[set[tuple[int, int] | None], list[tuple[Any, Any]]]:
    """Fields (classes 2 and 3): existing non-signature fields must be unchanged, no other kind
    of field may be added, and signature fields added or signed later are judged one by one.

    Returns the widgets of those later signature fields (allowed on the pages) and, for each
    shown later signature, its embedded signature and its first visible widget."""
    then_fields = _fields(then_root)
    now_fields = _fields(now_root)
    signatures: dict[Any, Any] = {}
    for other in reader.embedded_signatures:
        if other.signed_revision > revision:
            signatures[ref_key(other.sig_field)] = other
            signatures[str(other.field_name)] = other
    allowed_widgets: set[tuple[int, int] | None] = set()
    stamp_page = _get(widget, "/P")
    later: list[tuple[Any, Any]] = []  # (embedded signature, widget)
    for key, fld in now_fields.items():
        if _get(fld, "/T") is None and _get(fld, "/Parent") is not None:
            continue  # a widget of its parent field, judged with it
        name = _field_name(fld) or f"object {key[0]}"
        is_sig = _field_type(fld) == "/Sig"
        old = then_fields.get(key)
        if old is not None and not is_sig:
            skip = ("/Kids",)
            if _canon(old, [_CANON_BUDGET], skip=skip) != _canon(fld, [_CANON_BUDGET], skip=skip):
                _modified(
                    problems,
                    N_("form field {name} (its value, appearance or style) was changed"),
                    name=repr(name),
                )
            continue
        if old is not None and _get(old, "/V") is not None:
            continue  # a signature field signed before the stamp: pyHanko judges changes to it
        if old is None and not is_sig:
            if _get(fld, "/Kids") is None or _get(fld, "/FT") is not None:
                _modified(
                    problems,
                    N_("form field {name} (not a signature field) was added"),
                    name=repr(name),
                )
            continue
        if not is_sig:
            continue
        # a signature field added, or signed, after the stamp
        if _get(fld, "/Kids") is not None and _get(fld, "/FT") is None:
            continue  # a non-terminal node: its terminal kids are judged
        shown_later = _later_signature_field(
            key, fld, name, signatures, widget, stamp_rect, stamp_page, allowed_widgets, problems
        )
        if shown_later is not None:
            later.append(shown_later)
    return allowed_widgets, later


def _later_signature_field(
    key: tuple[int, int],
    fld: Any,
    name: str,
    signatures: dict[Any, Any],
    widget: Any,
    stamp_rect: tuple[float, float, float, float] | None,
    stamp_page: Any,
    allowed_widgets: set[tuple[int, int] | None],
    problems: list[Change],
) -> tuple[Any, Any] | None:
    """One terminal signature field added, or signed, after the stamp: unsigned it may not
    draw; signed it must be one intact widget without actions, neither overlapping the stamp
    nor showing its serial. Its widgets are added to ``allowed_widgets``.

    Returns (embedded signature, first visible widget) when it is a shown later signature."""
    widgets = _widgets(fld)
    for wkey, _w in widgets:
        allowed_widgets.add(wkey)
    signed = _get(fld, "/V") is not None
    shown = [w for _, w in widgets if _visible(w)]
    if not signed:
        if shown:
            _modified(
                problems,
                N_("unsigned signature field {name} added after the stamp draws on the page"),
                name=repr(name),
            )
        return None
    if len(widgets) != 1 or any(_get(w, "/Subtype") != "/Widget" for _, w in widgets):
        _modified(
            problems,
            N_("signature field {name} added after the stamp has more than its one widget"),
            name=repr(name),
        )
    if any(
        _get(obj, k) is not None for obj in (fld, *(w for _, w in widgets)) for k in ("/A", "/AA")
    ):
        _modified(
            problems,
            N_("signature field {name} added after the stamp carries actions (/A or /AA)"),
            name=repr(name),
        )
    sig = signatures.get(key) or signatures.get(name)
    if sig is None or not _intact(sig):
        _modified(
            problems,
            N_("signature field {name} added after the stamp is not intact"),
            name=repr(name),
        )
    _later_field_over_stamp(name, widgets, shown, widget, stamp_rect, stamp_page, problems)
    if shown and sig is not None:
        return (sig, shown[0])
    return None


def _later_field_over_stamp(
    name: str,
    widgets: list[tuple[tuple[int, int] | None, Any]],
    shown: list[Any],
    widget: Any,
    stamp_rect: tuple[float, float, float, float] | None,
    stamp_page: Any,
    problems: list[Change],
) -> None:
    """A later signature may draw over page content, but not over the stamp (a visible widget
    of it overlapping the stamp on its page) nor show the stamp's serial (a copy of the stamp
    picture elsewhere)."""
    for _, w in widgets:
        r = _rect(w)
        same_page = (
            ref_key(_get(w, "/P")) == ref_key(stamp_page) if stamp_page is not None else True
        )
        hit = r is not None and stamp_rect is not None and _overlap(r, stamp_rect)
        if hit and same_page and _visible(w):
            _modified(
                problems,
                N_("signature field {name} added after the stamp overlaps the stamp"),
                name=repr(name),
            )
    own = _serials_shown(widget)
    if own and any(own & _serials_shown(w) for w in shown):
        _modified(
            problems,
            N_("signature field {name} added after the stamp shows the stamp's serial"),
            name=repr(name),
        )


def _annotation_changes(
    then_root: Any,
    now_root: Any,
    widget: Any,
    stamp_rect: tuple[float, float, float, float] | None,
    allowed_widgets: set[tuple[int, int] | None],
    problems: list[Change],
) -> dict[Any, int]:
    """Annotations and their order (classes 2 and 4), page by page: none added (but the later
    signatures' widgets), removed or reordered, and nothing visible drawn over the stamp.

    Returns the page index of every annotation now in the document, by its key."""
    then_pages = {k: p for _, k, p in _pages(then_root) if k is not None}
    stamp_key = ref_key(widget)
    page_of: dict[Any, int] = {}
    for index, pkey, page in _pages(now_root):
        now_annots = _annots(page)
        for akey, _a in now_annots:
            page_of.setdefault(akey, index)
        old_page = then_pages.get(pkey) if pkey is not None else None
        old_keys = [k for k, _ in _annots(old_page)] if old_page is not None else []
        now_keys = [k for k, _ in now_annots]
        kept = [k for k in now_keys if k is not None and k in old_keys]
        if kept != [k for k in old_keys if k is not None and k in now_keys]:
            _modified(
                problems,
                N_("the annotations of page {page} were reordered after the stamp"),
                page=index + 1,
            )
        if any(k not in now_keys for k in old_keys if k is not None):
            _modified(
                problems,
                N_("an annotation was removed from page {page} after the stamp"),
                page=index + 1,
            )
        for akey, annot in now_annots:
            if akey in old_keys or akey in allowed_widgets:
                continue
            sub = _get(annot, "/Subtype")
            if sub:
                _modified(
                    problems,
                    N_("a {kind} annotation was added to page {page}"),
                    kind=str(sub)[1:],
                    page=index + 1,
                )
            else:
                _modified(problems, N_("a new annotation was added to page {page}"), page=index + 1)
        # z-order: anything visible drawn after the stamp over it hides it
        if stamp_key in now_keys and stamp_rect is not None:
            after = now_annots[now_keys.index(stamp_key) + 1 :]
            problems.extend(_drawn_over(after, stamp_rect))
    return page_of


def _drawn_over(
    after: list[tuple[Any, Any]], stamp_rect: tuple[float, float, float, float]
) -> list[Change]:
    """A ``stamp-not-shown`` finding for each visible annotation, of those drawn after the
    stamp on its page, whose rectangle overlaps the stamp's."""
    found = []
    for _akey, annot in after:
        r = _rect(annot)
        if r is not None and _overlap(r, stamp_rect) and _visible(annot):
            sub = _get(annot, "/Subtype")
            found.append(
                Change(
                    STAMP_NOT_SHOWN,
                    Said(
                        N_("a {kind} annotation is drawn over the stamp"),
                        kind=str(sub)[1:] if sub else "",
                    ),
                )
            )
    return found


def _later_signature(sig: Any, w: Any, page_of: dict[Any, int]) -> LaterSignature:
    """The report entry for a later signature shown by widget ``w`` (its page, if listed)."""
    r = _rect(w)
    page = page_of.get(ref_key(w))
    return LaterSignature(
        field=str(sig.field_name),
        signer=_signer(sig),
        page=page + 1 if page is not None else None,
        rect_pt=r if r is not None else (0.0, 0.0, 0.0, 0.0),
    )
