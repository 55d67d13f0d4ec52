"""What a stamp's own revision may change (docs/security.md, 6b: the bound document is exactly the bytes
before the stamp's own revision, and that revision adds the stamp and nothing else).

A stamp is an incremental update over the bound document. A stamp-file holder writes that update
themselves, so it may carry more than the stamp: new page content, a replaced font, a deleted
object, an object that the bound document refers to but does not define (it reads as null before
the stamp and as new content after). Readers then show a letter that the stamp's binding, its QR
code and the ledger do not describe. So each object of the stamp's revision is compared with the
bound document's, and only what emeterai's signer (pyHanko) writes is accepted:

- new objects: the signature field, its widget, signature dictionary and appearance, a form
  dictionary where there was none, XMP metadata, cross-reference and object streams; none of them
  may be named by the bound document;
- the catalog: only ``/AcroForm``, ``/Metadata``, ``/Version``, ``/Extensions`` and a new
  ``/DSS`` holding only arrays of streams (the stamp's chain and its issuer's CRL);
- the form: ``/Fields`` gaining this field at its end, ``/SigFlags``, and ``/NeedAppearances``
  cleared (a signed form must not ask readers to redraw its fields);
- the stamp's page: ``/Annots`` gaining the widget at its end;
- the document information dictionary: ``/ModDate`` and ``/Producer``;
- the catalog's XMP metadata stream.

A changed array or stream could serve the document in another role too (an ``/Annots`` array
that is also a page's ``/Contents``, XMP that is also a content stream), so those must have no
other referrer in the bound document. Finding referrers means reading every object of the bound
document. :func:`_referrers` first searches each object's bytes (up to the next object, or to
the ``stream`` keyword of a plain stream dictionary) for any whole number equal to a watched
object number; only an object holding one is read with the tokenizer of
:mod:`emeterai._revisions`, strictly and within its own bytes. Whatever the tokenizer cannot read
with certainty (an unknown keyword, a duplicate key, anything after the value but ``endobj``, an
object stream whose header disagrees with the cross-reference table) makes the revision
uncomparable (:class:`Uncomparable`): the check never takes an unreadable object for one that
refers to nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pyhanko.pdf_utils import generic

from emeterai import _pyhanko
from emeterai import _revisions as revisions
from emeterai._pdfobjects import Said, ref_key
from emeterai._pdfobjects import entry as _get
from emeterai.i18n import N_

if TYPE_CHECKING:
    from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
    from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

_CATALOG_KEYS = frozenset({"/AcroForm", "/Metadata", "/Version", "/Extensions", "/DSS"})
_DSS_KEYS = frozenset({"/Type", "/Certs", "/CRLs", "/OCSPs"})
_FORM_KEYS = frozenset({"/Fields", "/SigFlags", "/NeedAppearances"})
_INFO_KEYS = frozenset({"/ModDate", "/Producer"})
_METADATA_KEYS = frozenset({"/Length", "/Filter", "/DecodeParms", "/Type", "/Subtype"})

MAX_SLOW_READS = 1_000  # objects read through pyHanko when the tokenizer cannot place them
MAX_DEPTH = 64  # nesting of one object's value

_EOL = (b"\r", b"\n")

Key = tuple[int, int]

# What the sentences below name, each a noun phrase of its own for the catalog.
_INFO = N_("the document information")
_CATALOG = N_("the catalog")
_FORM_DICT = N_("the form dictionary")
_FORM = N_("the form")
_FIELD_LIST = N_("the form's field list")
_PAGE = N_("the stamp's page")
_ANNOTS = N_("the page's annotation list")
_XMP = N_("the XMP metadata")


class Uncomparable(Exception):
    """The bound document or the stamp's revision cannot be read with certainty, or not within
    the check's limits (the message, a :class:`Said`, says why)."""

    def __init__(self, template: str, **params: object) -> None:
        self.said = Said(template, **params)
        super().__init__(self.said)


def problems(
    reader: PdfFileReader, emb: EmbeddedPdfSignature, data: bytes, page_key: Key | None
) -> tuple[Said, ...]:
    """What the stamp's revision in ``data`` changes beyond adding the stamp (each a sentence
    "the stamp's revision ..., beyond adding the stamp"), or nothing. ``page_key`` is the stamp's
    page."""
    revision = emb.signed_revision
    if revision < 1:
        return (
            Said(
                N_(
                    "the stamp's revision is the whole file, not an update of a document, beyond adding the stamp"
                )
            ),
        )
    return tuple(dict.fromkeys(_Check(reader, emb, data, revision, page_key).run()))


class _Check:
    def __init__(
        self,
        reader: PdfFileReader,
        emb: EmbeddedPdfSignature,
        data: bytes,
        revision: int,
        page_key: Key | None,
    ) -> None:
        self.reader = reader
        self.data = data
        self.before = reader.get_historical_resolver(revision - 1)
        last = revision == reader.xrefs.total_revisions - 1
        # the reader itself when nothing follows the stamp: its objects are already parsed
        self.after = reader if last else reader.get_historical_resolver(revision)
        self.revision = revision
        self.page_key = page_key
        self.field_key = ref_key(emb.sig_field)
        kids = _get(emb.sig_field, "/Kids")
        self.widget_key = _ref(kids.raw_get(0)) if kids else self.field_key
        self.out: list[Said] = []

    def _say(self, template: str, **params: object) -> None:
        """Record one thing the revision does beyond adding the stamp, as a whole sentence."""
        self.out.append(Said(template, **params))

    def run(self) -> list[Said]:
        xrefs = self.reader.xrefs
        live = _pyhanko.live_objects(self.reader, self.revision - 1)
        live_numbers = {num for num, _ in live}
        tb, ta = self.before.trailer_view, self.after.trailer_view
        root_key = _ref(_raw(tb, "/Root"))
        if root_key is None or _ref(_raw(ta, "/Root")) != root_key:
            self._say(
                N_("the stamp's revision replaces the document catalog, beyond adding the stamp")
            )
        if _canon(_raw(tb, "/Encrypt")) != _canon(_raw(ta, "/Encrypt")):
            self._say(
                N_(
                    "the stamp's revision changes the document's encryption, beyond adding the stamp"
                )
            )
        info_key = _ref(_raw(tb, "/Info"))
        if info_key is not None and _ref(_raw(ta, "/Info")) != info_key:
            self._say(
                N_(
                    "the stamp's revision replaces the document information dictionary, beyond adding the stamp"
                )
            )

        freed = {(r.idnum, r.generation) for r in xrefs.refs_freed_in_revision(self.revision)}
        for key in sorted(freed):
            if key in live:
                self._say(
                    N_(
                        "the stamp's revision deletes object {num} of the document, beyond adding the stamp"
                    ),
                    num=key[0],
                )
        new: set[int] = set()
        changed: list[Key] = []
        for ref in xrefs.explicit_refs_in_revision(self.revision):
            key = (int(ref.idnum), int(ref.generation))
            if key in freed:
                continue
            if key not in live:
                if key[0] in live_numbers:
                    self._say(
                        N_(
                            "the stamp's revision redefines object {num} with another generation, beyond adding the stamp"
                        ),
                        num=key[0],
                    )
                else:
                    new.add(key[0])
                continue
            ref = generic.Reference(key[0], key[1])
            if _canon(self.before.get_object(ref)) != _canon(self.after.get_object(ref)):
                changed.append(key)
        for own in (self.field_key, self.widget_key):
            if own is None or own[0] not in new:
                self._say(
                    N_(
                        "the stamp's revision does not add the stamp's field and widget as new objects, beyond adding the stamp"
                    )
                )
                break
        if self.widget_key is not None and isinstance(
            self.after.get_object(generic.Reference(*self.widget_key)), generic.StreamObject
        ):
            self._say(
                N_(
                    "the stamp's revision makes the stamp's widget a stream, beyond adding the stamp"
                )
            )

        only_referred_by = self._judge(changed, root_key, info_key)
        watched = set(new) | set(only_referred_by)
        if watched:
            found = _referrers(self.data, self.before, live, watched)
            for num in sorted(new):
                for who in sorted(found.get(num, ())):
                    self._say(
                        N_(
                            "the stamp's revision defines object {num}, which object {who} of the document refers to, beyond adding the stamp"
                        ),
                        num=num,
                        who=who,
                    )
            for num, allowed in sorted(only_referred_by.items()):
                others = sorted(found.get(num, set()) - allowed)
                if others:
                    self._say(
                        N_(
                            "the stamp's revision changes object {num}, which object {other} of the document also uses, beyond adding the stamp"
                        ),
                        num=num,
                        other=others[0],
                    )
        return self.out

    # -- the changed objects of the bound document --------------------------------------------

    def _judge(
        self, changed: list[Key], root_key: Key | None, info_key: Key | None
    ) -> dict[int, set[int]]:
        """Checks each changed object against its role; returns the changed arrays and streams
        with the objects allowed to refer to them."""
        old_root = self.before.root
        form_raw = _raw(old_root, "/AcroForm")
        form_key = _ref(form_raw)
        old_form = form_raw.get_object() if form_raw is not None else None
        fields_key = _ref(_raw(old_form, "/Fields"))
        meta_key = _ref(_raw(old_root, "/Metadata"))
        annots_key = None
        if self.page_key is not None:
            old_page = self.before.get_object(generic.Reference(*self.page_key))
            annots_key = _ref(_raw(old_page, "/Annots"))
        holder = form_key if form_key is not None else root_key
        form_holder = {holder[0]} if holder is not None else set()
        watched: dict[int, set[int]] = {}
        for key in changed:
            ref = generic.Reference(*key)
            old, now = self.before.get_object(ref), self.after.get_object(ref)
            if key == root_key:
                self._catalog(old, now)
            elif key == form_key:  # (some files use one dictionary as form and information)
                self._form(old, now, also=_INFO_KEYS if key == info_key else frozenset())
            elif key == info_key:
                self._keys(old, now, _INFO_KEYS, Said(_INFO), strings=True)
            elif key == fields_key:
                self._appends(old, now, self.field_key, Said(_FIELD_LIST))
                watched[key[0]] = form_holder
            elif key == self.page_key:
                self._page(old, now)
            elif key == annots_key and self.page_key is not None:
                self._appends(old, now, self.widget_key, Said(_ANNOTS))
                watched[key[0]] = {self.page_key[0]}
            elif key == meta_key and root_key is not None:
                self._metadata(old, now)
                watched[key[0]] = {root_key[0]}
            else:
                self._say(
                    N_(
                        "the stamp's revision changes object {num} of the document ({kind}), beyond adding the stamp"
                    ),
                    num=key[0],
                    kind=_kind(old),
                )
        return watched

    def _keys(
        self, old: Any, now: Any, allowed: frozenset[str], what: Said, strings: bool = False
    ) -> set[str]:
        """Reports keys changed outside ``allowed``; returns the changed keys."""
        stream = isinstance(old, generic.StreamObject)
        if (
            not isinstance(now, generic.DictionaryObject)
            or isinstance(now, generic.StreamObject) is not stream
        ):
            self._say(
                N_(
                    "the stamp's revision turns {what} into another kind of object, beyond adding the stamp"
                ),
                what=what,
            )
            return set()
        diff = {str(k) for k in set(old) | set(now) if _canon(_raw(old, k)) != _canon(_raw(now, k))}
        for k in sorted(diff - allowed):
            self._say(
                N_("the stamp's revision changes {key} in {what}, beyond adding the stamp"),
                key=k,
                what=what,
            )
        if strings:
            for k in sorted(diff & allowed):
                if k in now and not isinstance(
                    _raw(now, k), generic.TextStringObject | generic.ByteStringObject
                ):
                    self._say(
                        N_(
                            "the stamp's revision sets {key} in {what} to something other than text, beyond adding the stamp"
                        ),
                        key=k,
                        what=what,
                    )
        return diff

    def _catalog(self, old: Any, now: Any) -> None:
        diff = self._keys(old, now, _CATALOG_KEYS, Said(_CATALOG))
        if "/DSS" in diff:
            self._dss(old, now)
        if "/AcroForm" in diff:
            self._entry(
                old, now, "/AcroForm", Said(_FORM_DICT), generic.DictionaryObject(), self._form
            )
        if "/Metadata" in diff:
            meta = _raw(now, "/Metadata")
            stream = meta.get_object() if meta is not None else None
            if not isinstance(stream, generic.StreamObject) or _get(stream, "/Type") != "/Metadata":
                self._say(
                    N_(
                        "the stamp's revision sets the catalog's /Metadata to something other than XMP, beyond adding the stamp"
                    )
                )
        if "/Version" in diff and not isinstance(_raw(now, "/Version"), generic.NameObject):
            self._say(
                N_(
                    "the stamp's revision sets the catalog's /Version to something other than a name, beyond adding the stamp"
                )
            )

    def _dss(self, old: Any, now: Any) -> None:
        """A DSS the stamp's revision brings (its chain and CRL) is new and holds only arrays
        of streams: never one the document had, never anything a reader draws."""
        bad = N_(
            "the stamp's revision sets the catalog's /DSS to something other than new "
            "validation data, beyond adding the stamp"
        )
        if _raw(old, "/DSS") is not None:
            self._say(bad)
            return
        dss = _raw(now, "/DSS")
        dss = dss.get_object() if dss is not None else None
        if not isinstance(dss, generic.DictionaryObject) or isinstance(dss, generic.StreamObject):
            self._say(bad)
            return
        if {str(k) for k in dss} - _DSS_KEYS:
            self._say(bad)
            return
        for key in ("/Certs", "/CRLs", "/OCSPs"):
            items = _raw(dss, key)
            items = items.get_object() if items is not None else []
            if not isinstance(items, list):
                self._say(bad)
                return
            for item in items:
                if not isinstance(item, generic.IndirectObject) or not isinstance(
                    item.get_object(), generic.StreamObject
                ):
                    self._say(bad)
                    return

    def _form(self, old: Any, now: Any, also: frozenset[str] = frozenset()) -> None:
        diff = self._keys(old, now, _FORM_KEYS | also, Said(_FORM))
        if "/Fields" in diff:
            self._list_entry(old, now, "/Fields", self.field_key, Said(_FIELD_LIST))
        if "/NeedAppearances" in diff and _raw(now, "/NeedAppearances") not in (None, False):
            self._say(
                N_("the stamp's revision sets the form's /NeedAppearances, beyond adding the stamp")
            )  # the signer only clears it
        if "/SigFlags" in diff and not isinstance(_raw(now, "/SigFlags"), int):
            self._say(
                N_(
                    "the stamp's revision sets the form's /SigFlags to something other than a number, beyond adding the stamp"
                )
            )

    def _page(self, old: Any, now: Any) -> None:
        diff = self._keys(old, now, frozenset({"/Annots"}), Said(_PAGE))
        if "/Annots" in diff:
            self._list_entry(old, now, "/Annots", self.widget_key, Said(_ANNOTS))

    def _list_entry(self, old: Any, now: Any, key: str, item: Key | None, what: Said) -> None:
        """``now[key]`` must be ``old[key]`` with ``item`` appended."""

        def appends(before: HistoricalResolver, after: Any) -> None:
            self._appends(before, after, item, what)

        self._entry(old, now, key, what, generic.ArrayObject(), appends)

    def _entry(
        self,
        old: Any,
        now: Any,
        key: str,
        what: Said,
        empty: Any,
        judge: Callable[[Any, Any], None],
    ) -> None:
        """A changed ``key`` whose value is direct, or new: ``judge(before, after)`` with
        ``empty`` standing for a missing old value. A value that is an object of the document
        keeps its reference (the object itself is judged as a changed object)."""
        before, after = _raw(old, key), _raw(now, key)
        if _ref(before) is not None:
            self._say(
                N_("the stamp's revision replaces {what}, beyond adding the stamp"), what=what
            )
        elif after is None:
            self._say(N_("the stamp's revision removes {what}, beyond adding the stamp"), what=what)
        else:
            judge(before if before is not None else empty, after.get_object())

    def _metadata(self, old: Any, now: Any) -> None:
        self._keys(old, now, _METADATA_KEYS, Said(_XMP))
        if _get(now, "/Type") != "/Metadata" or _get(now, "/Subtype") != "/XML":
            self._say(
                N_(
                    "the stamp's revision turns the XMP metadata into another kind of stream, beyond adding the stamp"
                )
            )

    def _appends(self, old: Any, now: Any, item: Key | None, what: Said) -> None:
        """``now`` must be ``old`` with ``item`` appended (and nothing else)."""
        if not isinstance(old, generic.ArrayObject) or not isinstance(now, generic.ArrayObject):
            self._say(
                N_(
                    "the stamp's revision turns {what} into another kind of object, beyond adding the stamp"
                ),
                what=what,
            )
            return
        first = [_canon(old.raw_get(i)) for i in range(len(old))]
        then = [_canon(now.raw_get(i)) for i in range(len(now))]
        if item is None or then != [*first, ("R", *item)]:
            self._say(
                N_(
                    "the stamp's revision changes {what} beyond adding the stamp at its end, beyond adding the stamp"
                ),
                what=what,
            )


# -- referrers in the bound document ----------------------------------------------------------


def _referrers(
    data: bytes, before: HistoricalResolver, live: dict[Key, _pyhanko.Location], targets: set[int]
) -> dict[int, set[int]]:
    """Target object number -> the numbers of the live objects that refer to it (see the
    module's docstring); raises :class:`Uncomparable`."""
    watch = watched_numbers(targets)
    found: dict[int, set[int]] = {}
    slow = [0]

    def pyhanko_refs(key: Key) -> list[int]:
        slow[0] += 1
        if slow[0] > MAX_SLOW_READS:
            raise Uncomparable(
                N_("more than {count} objects are not where the cross-reference table says"),
                count=MAX_SLOW_READS,
            )
        return _pyhanko_refs(before, key)

    def hit(key: Key, nums: Iterable[int]) -> None:
        for num in nums:
            if num in targets:
                found.setdefault(num, set()).add(key[0])

    in_file: list[tuple[int, Key]] = []
    in_streams: dict[int, list[tuple[Key, int]]] = {}
    for key, place in live.items():
        if isinstance(place, _pyhanko.InStream):
            in_streams.setdefault(place.stream, []).append((key, place.index))
        else:
            in_file.append((place, key))
    in_file.sort()
    for i, (loc, key) in enumerate(in_file):
        limit = in_file[i + 1][0] if i + 1 < len(in_file) else len(data)
        head = revisions.OBJECT_HEADER.match(data, loc, limit)
        if head is None or (int(head.group(1)), int(head.group(2))) != key:
            hit(key, pyhanko_refs(key))
            continue
        start = head.end()
        if watch.search(data, start, _value_end(data, start, limit)):
            hit(key, _exact_refs(data, start, limit, key, in_stream=False))

    for stream_num, members in in_streams.items():
        table = _object_stream(data, before, live, stream_num)
        for key, index in members:
            if index not in table or table[index][0] != key[0]:
                raise Uncomparable(
                    N_(
                        "object stream {stream} does not hold object {num} where the "
                        "cross-reference table says"
                    ),
                    stream=stream_num,
                    num=key[0],
                )
            _, body, start, end = table[index]
            if watch.search(body, start, end):
                hit(key, _exact_refs(body, start, end, key, in_stream=True))
    return found


def _value_end(data: bytes, start: int, limit: int) -> int:
    """Where the search for references in the object at ``start`` may stop: at the ``stream``
    keyword of a dictionary that every reader ends there (it begins with ``<<``, ends with
    ``>>``, holds as many ``<<`` as ``>>`` and no string or comment), else at ``limit``."""
    s = data.find(b"stream", start, limit)
    if s < 0 or data[s + 6 : s + 7] not in _EOL:
        return limit
    head = data[start:s].strip(b"\x00\t\n\x0c\r ")
    if not (head.startswith(b"<<") and head.endswith(b">>")):
        return limit
    if b"(" in head or b"%" in head or head.count(b"<<") != head.count(b">>"):
        return limit
    return s


def watched_numbers(targets: set[int]) -> re.Pattern[bytes]:
    """A search for any whole number equal to one of ``targets`` (leading zeros and a sign
    aside): a superset of the references to them that any reader may see. The look-arounds and
    the possessive quantifier keep it linear on long runs of digits (a signature's zero-padded
    /Contents is one)."""
    alternatives = b"|".join(b"%d" % t for t in sorted(targets, reverse=True) if t > 0)
    return re.compile(rb"(?<![0-9.])0*+(?:" + (alternatives or b"(?!)") + rb")(?![0-9.])")


def _exact_refs(data: bytes, start: int, end: int, key: Key, in_stream: bool) -> list[int]:
    """Object numbers referred to by the value at ``start``, read by the tokenizer within
    ``data[:end]``; the value must be followed by ``endobj`` (or ``stream`` after a dictionary),
    or in an object stream by nothing. Raises :class:`Uncomparable` otherwise."""
    parser = revisions.Parser(data, end)
    try:
        value, after = parser.value(start)
        if in_stream:
            if data[after:end].strip(b"\x00\t\n\x0c\r "):
                raise revisions.LayoutError(N_("more than one value"))
        else:
            kind, text, _ = parser.token(after)
            if (
                kind != "kw"
                or text not in (b"endobj", b"stream")
                or (text == b"stream" and not isinstance(value, dict))
            ):
                raise revisions.LayoutError(N_("more than one value"))
    except (revisions.LayoutError, RecursionError, ValueError) as exc:
        reason = exc.said if isinstance(exc, revisions.LayoutError) else type(exc).__name__
        raise Uncomparable(
            N_("object {num} of the document cannot be read exactly ({reason})"),
            num=key[0],
            reason=reason,
        ) from exc
    out: list[int] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, revisions.Ref):
            out.append(item.num)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _pyhanko_refs(before: HistoricalResolver, key: Key) -> list[int]:
    """The references in an object that pyHanko found away from its xref offset; raises
    :class:`Uncomparable` when pyHanko cannot read it either."""
    try:
        value = before.get_object(generic.Reference(*key))
    except Exception as exc:
        raise Uncomparable(N_("object {num} of the document cannot be read"), num=key[0]) from exc
    out: list[int] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, generic.IndirectObject):
            out.append(int(item.idnum))
        elif isinstance(item, generic.DictionaryObject):
            stack.extend(item.raw_get(k) for k in item)
        elif isinstance(item, generic.ArrayObject):
            stack.extend(item.raw_get(i) for i in range(len(item)))
    return out


def _object_stream(
    data: bytes, before: HistoricalResolver, live: dict[Key, _pyhanko.Location], num: int
) -> dict[int, tuple[int, bytes, int, int]]:
    """Member index -> (object number, decoded stream, start, end) of an object stream whose
    /Length ends at its ``endstream`` and whose header names each object once, in order;
    raises :class:`Uncomparable` otherwise."""
    where = live.get((num, 0))
    if not isinstance(where, int) or not _length_is_exact(data, where, live):
        raise Uncomparable(
            N_("object stream {num}'s /Length does not end at its endstream"), num=num
        )
    try:
        stream = before.get_object(generic.Reference(num, 0))
        body = stream.data
        first = int(stream["/First"])
        count = int(stream["/N"])
        head = body[:first].split()
        numbers = [int(head[2 * i]) for i in range(count)]
        offsets = [first + int(head[2 * i + 1]) for i in range(count)]
    except Exception as exc:
        raise Uncomparable(N_("object stream {num} cannot be read"), num=num) from exc
    if len(set(numbers)) != count or offsets != sorted(offsets) or len(set(offsets)) != count:
        raise Uncomparable(N_("object stream {num} lists an object twice or out of order"), num=num)
    ends = [*offsets[1:], len(body)]
    return {i: (numbers[i], body, offsets[i], ends[i]) for i in range(count)}


def _length_is_exact(data: bytes, offset: int, live: dict[Key, _pyhanko.Location]) -> bool:
    """Does the stream object at ``offset`` have a /Length (direct, or an indirect whole number
    in the file) that ends exactly at its ``endstream``?"""
    head = revisions.OBJECT_HEADER.match(data, offset)
    if head is None:
        return False
    parser = revisions.Parser(data)
    try:
        value, after = parser.value(head.end())
        _, text, after = parser.token(after)
    except revisions.LayoutError:
        return False
    if not isinstance(value, dict) or text != b"stream":
        return False
    start = after + (2 if data[after : after + 2] == b"\r\n" else 1)
    length = value.get(b"/Length")
    if isinstance(length, revisions.Ref):
        where = live.get((length.num, length.gen))
        if not isinstance(where, int):
            return False
        inner = revisions.OBJECT_HEADER.match(data, where)
        try:
            length, _ = parser.value(inner.end()) if inner else (None, 0)
        except revisions.LayoutError:
            return False
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        return False
    return revisions.ENDSTREAM.match(data, start + length) is not None


# -- values ---------------------------------------------------------------------------------


def _ref(raw: Any) -> Key | None:
    """(number, generation) of a reference; None for a direct value (even one read from
    inside an indirect object, which pyHanko marks with its container's reference)."""
    if isinstance(raw, generic.IndirectObject):
        return (int(raw.idnum), int(raw.generation))
    return None


def _raw(d: Any, key: str) -> Any:
    try:
        return d.raw_get(key) if d is not None and key in d else None
    except Exception:
        return None


def _kind(obj: Any) -> Said:
    """What an object is, as a noun: "a /Page dictionary", "a stream", "a array"."""
    kind = _get(obj, "/Type") if isinstance(obj, generic.DictionaryObject) else None
    if isinstance(obj, generic.StreamObject):
        return Said(N_("a {type} stream"), type=kind) if kind else Said(N_("a stream"))
    if kind:
        return Said(N_("a {type} dictionary"), type=kind)
    # TRANSLATORS: {name} is pyHanko's name of a PDF value: array, name, numeric, boolean...
    return Said(N_("a {name}"), name=type(obj).__name__.removesuffix("Object").lower() or "value")


def _canon(value: Any, depth: int = 0) -> Any:
    """A comparable form of a value without following references (a stream by its raw data)."""
    if depth > MAX_DEPTH:
        raise Uncomparable(N_("an object of the stamp's revision is nested too deeply"))
    if isinstance(value, generic.IndirectObject):
        return ("R", int(value.idnum), int(value.generation))
    if isinstance(value, generic.StreamObject):
        return (
            "S",
            _canon(generic.DictionaryObject({k: value.raw_get(k) for k in value}), depth + 1),
            bytes(value.encoded_data),
        )
    if isinstance(value, generic.DictionaryObject):
        return ("D", tuple(sorted((str(k), _canon(value.raw_get(k), depth + 1)) for k in value)))
    if isinstance(value, generic.ArrayObject):
        return ("A", tuple(_canon(value.raw_get(i), depth + 1) for i in range(len(value))))
    if value is None or isinstance(value, generic.NullObject):
        return ("null",)
    if isinstance(value, int | generic.FloatObject) and not isinstance(value, bool):
        return ("num", value)  # 0 and 0.0 are one value (pyHanko writes 0.0 back as 0)
    return (type(value).__name__, bytes(value) if isinstance(value, bytes) else value)
