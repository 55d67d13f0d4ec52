"""Exact incremental updates from a stamp's revision on (SPEC §6).

pyHanko's non-strict reader follows each ``startxref`` and quietly corrects small errors, while
lenient readers (poppler, MuPDF, PDFium, Ghostscript, qpdf, pypdf) rebuild a broken
cross-reference table by scanning the file for objects. Bytes that one reader ignores and
another picks up let a document show other content than the one whose signature was checked.
So from the stamp's revision on, the file must be a chain of updates that every reader reads
the same way: each ``startxref`` points exactly at its xref section, every object in an update's
body (object streams included) is listed in that update's xref at its offset, no object is
defined twice in one update, each ``/Prev`` names the update before, and nothing but whitespace
follows the final ``%%EOF``.

The bytes are read here with a small tokenizer of our own, independent of pyHanko and pypdf,
in time linear in their length.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any

from emeterai._pdfobjects import Said
from emeterai.i18n import N_

MAX_UPDATES = 64  # updates from a stamp's revision on; past it the file is unreadable
MAX_NESTING = 64
MAX_OBJECT_STREAM = 4 * 1024 * 1024  # decoded bytes of one xref or object stream
MAX_PREDICTED = 1024 * 1024  # decoded bytes of one stream with a PNG predictor (undone in Python)

_WS = b"\x00\t\n\x0c\r "
_SPACE = re.compile(rb"[\x00\t\n\x0c\r ]*")
_TOKEN = re.compile(
    rb"[\x00\t\n\x0c\r ]*(?:"
    rb"(?P<comment>%[^\r\n]*)"
    rb"|(?P<num>[+-]?(?:\d+\.?\d*|\.\d+))"
    rb"|(?P<name>/[^\x00\t\n\x0c\r ()<>\[\]{}/%]*)"
    rb"|(?P<dict><<|>>)"
    rb"|(?P<hex><[^<>]*>)"  # readers skip what is not hex and end the string at ">"
    rb"|(?P<str>\()"
    rb"|(?P<arr>[\[\]])"
    rb"|(?P<kw>[A-Za-z]+)"
    rb")"
)
_PAREN = re.compile(rb"[()\\]")
OBJECT_HEADER = re.compile(rb"(\d+)[\x00\t\n\x0c\r ]+(\d+)[\x00\t\n\x0c\r ]+obj(?![A-Za-z])")
ENDSTREAM = re.compile(rb"[\x00\t\n\x0c\r ]*endstream(?![A-Za-z])")
_EOF = re.compile(rb"[\x00\t\n\x0c\r ]*startxref[\x00\t\n\x0c\r ]+(\d+)[\x00\t\n\x0c\r ]+%%EOF")
_XREF_ENTRY = re.compile(rb"[\x00\t\n\x0c\r ]*(\d{1,10})[ ]+(\d{1,5})[ ]+([nf])")
_SUBSECTION = re.compile(rb"[\x00\t\n\x0c\r ]*(\d+)[ ]+(\d+)(?=[\x00\t\n\x0c\r ])")


class LayoutError(Exception):
    """The bytes are not an exact incremental update; the message (a :class:`Said`, so it
    reads in a person's language) says what."""

    def __init__(self, template: str, **params: object) -> None:
        self.said = Said(template, **params)
        super().__init__(self.said)


@dataclass(frozen=True)
class Ref:
    num: int
    gen: int


@dataclass(frozen=True)
class Update:
    """One incremental update, read and checked: where its xref section is and where it ends."""

    xref_offset: int  # what its startxref says, checked to be exact
    end: int  # just past its %%EOF
    prev: int | None  # the trailer's /Prev


@dataclass(frozen=True)
class Layout:
    """The updates read from an offset to the end of the file, or why they are not exact."""

    updates: tuple[Update, ...]
    problem: Said | None
    over_limit: bool = False  # more updates than MAX_UPDATES: nothing past them was read

    @property
    def exact(self) -> bool:
        return self.problem is None


# -- tokenizer --------------------------------------------------------------------------------


class Parser:
    """Reads PDF objects from ``data``; values are ints, floats, bytes (names, with their slash),
    :class:`Ref`, lists, dicts and ``str`` for strings' kind (their content is not needed)."""

    def __init__(self, data: bytes, end: int | None = None) -> None:
        self.data = data
        self.end = len(data) if end is None else end  # nothing at or past it is read

    def token(self, pos: int) -> tuple[str, bytes, int]:
        while True:
            m = _TOKEN.match(self.data, pos, self.end)
            if m is None or m.lastgroup is None:
                end = _SPACE.match(self.data, pos, self.end)
                at = end.end() if end else pos
                if at >= self.end:
                    raise LayoutError(N_("an update ends in the middle of an object"))
                raise LayoutError(N_("unexpected bytes at offset {offset}"), offset=at)
            if m.lastgroup == "comment":
                pos = m.end()
                continue
            return m.lastgroup, m.group(m.lastgroup), m.end()

    def value(self, pos: int) -> tuple[Any, int]:
        """One object (with ``R`` references folded) starting at ``pos``; returns it and the end."""
        stack: list[Any] = []
        keys: list[Any] = []
        while True:
            kind, text, pos = self.token(pos)
            if kind == "str":
                pos = self._skip_string(pos)
                item: Any = "string"
            elif kind == "hex":
                item = "string"
            elif kind == "num":
                item = int(text) if text.lstrip(b"+-").isdigit() else float(text)
                if isinstance(item, int):
                    ref = _maybe_ref(self, item, pos)
                    if ref is not None:
                        item, pos = ref
            elif kind == "name":
                item = text
            elif kind == "arr" and text == b"[" or kind == "dict" and text == b"<<":
                if len(stack) >= MAX_NESTING:
                    raise LayoutError(N_("an update nests objects too deeply"))
                stack.append([] if text == b"[" else {})
                keys.append(None)
                continue
            elif kind == "arr" or kind == "dict":
                if not stack:
                    raise LayoutError(
                        N_("unbalanced {token} at offset {offset}"),
                        token=text.decode(),
                        offset=pos - len(text),
                    )
                item = stack.pop()
                keys.pop()
                if isinstance(item, dict) != (text == b">>"):
                    raise LayoutError(
                        N_("mismatched {token} at offset {offset}"),
                        token=text.decode(),
                        offset=pos - len(text),
                    )
            elif kind == "kw":
                if text in (b"true", b"false"):
                    item = text == b"true"
                elif text == b"null":
                    item = None
                else:
                    raise LayoutError(
                        N_("unexpected keyword {keyword} at offset {offset}"),
                        keyword=repr(text[:20]),
                        offset=pos - len(text),
                    )
            else:  # pragma: no cover - every group is handled above
                raise LayoutError(N_("unexpected bytes at offset {offset}"), offset=pos)
            if not stack:
                return item, pos
            top = stack[-1]
            if isinstance(top, list):
                top.append(item)
            elif keys[-1] is None:
                if not isinstance(item, bytes):
                    raise LayoutError(
                        N_("a dictionary key is not a name, near offset {offset}"), offset=pos
                    )
                keys[-1] = item
            else:
                if keys[-1] in top:  # readers disagree on which of the two counts
                    raise LayoutError(
                        N_("a dictionary names {key} twice, near offset {offset}"),
                        key=keys[-1].decode("latin-1"),
                        offset=pos,
                    )
                top[keys[-1]] = item
                keys[-1] = None

    def _skip_string(self, pos: int) -> int:
        depth = 1
        data = self.data
        while True:
            m = _PAREN.search(data, pos, self.end)
            if m is None:
                raise LayoutError(N_("an update holds a string that never ends"))
            c = m.group()
            pos = m.end()
            if c == b"\\":
                pos += 1
            elif c == b"(":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return pos


_REF_TAIL = re.compile(rb"[\x00\t\n\x0c\r ]+(\d+)[\x00\t\n\x0c\r ]+R(?![A-Za-z])")


def _maybe_ref(parser: Parser, num: int, pos: int) -> tuple[Ref, int] | None:
    m = _REF_TAIL.match(parser.data, pos, parser.end)
    if m is None:
        return None
    return Ref(num, int(m.group(1))), m.end()


# -- one update -------------------------------------------------------------------------------


@dataclass
class _Body:
    offsets: dict[int, int]  # object number -> offset of its "N G obj"
    gens: dict[int, int]
    streams: dict[int, tuple[dict[bytes, Any], bytes]]  # object streams and xref streams


def _object(parser: Parser, pos: int, body: _Body) -> tuple[dict[bytes, Any] | None, int, int]:
    """Reads ``N G obj ... endobj`` at ``pos``; returns its dictionary (if any), its number and
    the position just past ``endobj``."""
    m = OBJECT_HEADER.match(parser.data, pos)
    if m is None:
        raise LayoutError(
            N_("expected an object or an xref section at offset {offset}"), offset=pos
        )
    num, gen = int(m.group(1)), int(m.group(2))
    if num in body.offsets:
        raise LayoutError(N_("object {num} is defined twice in one update"), num=num)
    value, end = parser.value(m.end())
    kind, text, after = parser.token(end)
    stream_data = None
    if kind == "kw" and text == b"stream":
        if not isinstance(value, dict):
            raise LayoutError(N_("object {num}'s stream has no dictionary"), num=num)
        data = parser.data
        start = after + (2 if data[after : after + 2] == b"\r\n" else 1)
        length = value.get(b"/Length")
        if isinstance(length, int) and length >= 0 and start + length <= len(data):
            stop = start + length
            tail = ENDSTREAM.match(data, stop)
            if tail is None:
                raise LayoutError(
                    N_("object {num}'s stream is not as long as its /Length says"), num=num
                )
            after = tail.end()
        else:
            found = data.find(b"endstream", start)
            if found < 0:
                raise LayoutError(N_("object {num}'s stream never ends"), num=num)
            stop = found
            while stop > start and data[stop - 1] in _WS:
                stop -= 1
            after = found + len(b"endstream")
        stream_data = data[start:stop]
        kind, text, after = parser.token(after)
    if kind != "kw" or text != b"endobj":
        raise LayoutError(N_("object {num} does not end with endobj"), num=num)
    body.offsets[num] = pos
    body.gens[num] = gen
    if stream_data is not None and value.get(b"/Type") in (b"/ObjStm", b"/XRef"):
        body.streams[num] = (value, stream_data)
    return value if isinstance(value, dict) else None, num, after


def _decode(dictionary: dict[bytes, Any], raw: bytes, what: Said) -> bytes:
    filters = dictionary.get(b"/Filter")
    if isinstance(filters, bytes):
        filters = [filters]
    if filters in (None, []):
        data = raw
    elif filters == [b"/FlateDecode"]:
        try:
            d = zlib.decompressobj()
            data = d.decompress(raw, MAX_OBJECT_STREAM)
        except zlib.error as exc:
            raise LayoutError(N_("{what} cannot be decompressed"), what=what) from exc
        if d.unconsumed_tail:
            raise LayoutError(N_("{what} is too large"), what=what)
    else:
        raise LayoutError(N_("{what} uses a filter other than FlateDecode"), what=what)
    params = dictionary.get(b"/DecodeParms")
    if isinstance(params, list):
        params = params[0] if len(params) == 1 else None
    predictor = params.get(b"/Predictor", 1) if isinstance(params, dict) else 1
    if predictor in (1, None):
        return data
    if not isinstance(predictor, int) or predictor < 10 or not isinstance(params, dict):
        raise LayoutError(N_("{what} uses an unsupported predictor"), what=what)
    columns = params.get(b"/Columns", 1)
    if not isinstance(columns, int) or columns < 1:
        raise LayoutError(N_("{what} has unusable /Columns"), what=what)
    if len(data) > MAX_PREDICTED:
        raise LayoutError(N_("{what} is too large for its predictor"), what=what)
    return _png_unpredict(data, columns, what)


def _png_unpredict(data: bytes, columns: int, what: Said) -> bytes:
    row = columns + 1
    if len(data) % row:
        raise LayoutError(N_("{what} has a partial row"), what=what)
    out = bytearray()
    prev = bytearray(columns)
    for i in range(0, len(data), row):
        kind = data[i]
        cur = bytearray(data[i + 1 : i + row])
        if kind == 0:
            pass
        elif kind == 1:
            for j in range(1, columns):
                cur[j] = (cur[j] + cur[j - 1]) & 0xFF
        elif kind == 2:
            for j in range(columns):
                cur[j] = (cur[j] + prev[j]) & 0xFF
        elif kind == 3:
            for j in range(columns):
                left = cur[j - 1] if j else 0
                cur[j] = (cur[j] + (left + prev[j]) // 2) & 0xFF
        elif kind == 4:
            for j in range(columns):
                left = cur[j - 1] if j else 0
                corner = prev[j - 1] if j else 0
                guess = left + prev[j] - corner
                pa, pb, pc = abs(guess - left), abs(guess - prev[j]), abs(guess - corner)
                near = left if pa <= pb and pa <= pc else prev[j] if pb <= pc else corner
                cur[j] = (cur[j] + near) & 0xFF
        else:
            raise LayoutError(N_("{what} uses an unsupported PNG predictor row"), what=what)
        out += cur
        prev = cur
    return bytes(out)


def _xref_stream_entries(
    dictionary: dict[bytes, Any], raw: bytes
) -> dict[int, tuple[int, int, int]]:
    """Object number -> (type, field 2, field 3) of a cross-reference stream."""
    widths = dictionary.get(b"/W")
    size = dictionary.get(b"/Size")
    if (
        not isinstance(widths, list)
        or len(widths) != 3
        or not all(isinstance(w, int) and 0 <= w <= 8 for w in widths)
        or not isinstance(size, int)
    ):
        raise LayoutError(N_("an xref stream has no usable /W or /Size"))
    index = dictionary.get(b"/Index", [0, size])
    if (
        not isinstance(index, list)
        or len(index) % 2
        or not all(isinstance(v, int) and v >= 0 for v in index)
    ):
        raise LayoutError(N_("an xref stream has an unusable /Index"))
    data = _decode(dictionary, raw, Said(N_("an xref stream")))
    w0, w1, w2 = widths
    width = w0 + w1 + w2
    if width == 0 or sum(index[1::2]) * width > len(data):
        raise LayoutError(N_("an xref stream is shorter than its /Index says"))
    entries: dict[int, tuple[int, int, int]] = {}
    pos = 0
    for start, count in zip(index[0::2], index[1::2], strict=True):
        for num in range(start, start + count):
            if pos + width > len(data):
                raise LayoutError(N_("an xref stream is shorter than its /Index says"))
            t = int.from_bytes(data[pos : pos + w0], "big") if w0 else 1
            f2 = int.from_bytes(data[pos + w0 : pos + w0 + w1], "big")
            f3 = int.from_bytes(data[pos + w0 + w1 : pos + width], "big")
            pos += width
            if num in entries:
                raise LayoutError(N_("an xref stream lists object {num} twice"), num=num)
            entries[num] = (t, f2, f3)
    return entries


def _xref_table(parser: Parser, pos: int) -> tuple[dict[int, tuple[int, int, int]], int]:
    """Entries of a table starting just past ``xref``, and the position just past ``trailer``."""
    data = parser.data
    entries: dict[int, tuple[int, int, int]] = {}
    while True:
        m = _SUBSECTION.match(data, pos)
        if m is None:
            break
        first, count = int(m.group(1)), int(m.group(2))
        pos = m.end()
        for num in range(first, first + count):
            e = _XREF_ENTRY.match(data, pos)
            if e is None:
                raise LayoutError(N_("an xref table has a malformed entry"))
            pos = e.end()
            if num in entries:
                raise LayoutError(N_("an xref table lists object {num} twice"), num=num)
            entries[num] = (1 if e.group(3) == b"n" else 0, int(e.group(1)), int(e.group(2)))
    kind, text, pos = parser.token(pos)
    if kind != "kw" or text != b"trailer":
        raise LayoutError(N_("an xref table is not followed by its trailer"))
    return entries, pos


def _object_stream_members(num: int, dictionary: dict[bytes, Any], raw: bytes) -> list[int]:
    n = dictionary.get(b"/N")
    first = dictionary.get(b"/First")
    if not isinstance(n, int) or not isinstance(first, int) or n < 0 or first < 0:
        raise LayoutError(N_("object stream {num} has no usable /N or /First"), num=num)
    data = _decode(dictionary, raw, Said(N_("object stream {num}"), num=num))
    header = data[:first].split()
    if len(header) < 2 * n or not all(v.isdigit() for v in header[: 2 * n]):
        raise LayoutError(N_("object stream {num} has a malformed header"), num=num)
    members = [int(v) for v in header[0 : 2 * n : 2]]
    if len(set(members)) != len(members):
        raise LayoutError(N_("object stream {num} lists an object twice"), num=num)
    starts = [first + int(v) for v in header[1 : 2 * n : 2]]
    if starts != sorted(starts):
        raise LayoutError(N_("object stream {num} lists its objects out of order"), num=num)
    for i, start in enumerate(starts):  # each member one value (no duplicate keys), then space
        stop = starts[i + 1] if i + 1 < len(starts) else len(data)
        parser = Parser(data, stop)
        _, after = parser.value(start)
        if data[after:stop].strip(_WS):
            raise LayoutError(
                N_("object {member} in object stream {num} is not one value"),
                member=members[i],
                num=num,
            )
    return members


def _read_update(parser: Parser, pos: int, expected_prev: int | None) -> Update:
    """The update at ``pos``: its body up to its xref section, which must be followed by a
    ``startxref`` naming it exactly and ``%%EOF``, with a trailer that names the catalog, covers
    every listed object with its /Size and names ``expected_prev`` (when given) as /Prev; and
    every object of the body listed exactly where it is."""
    data = parser.data
    start = _SPACE.match(data, pos).end()  # type: ignore[union-attr]
    body = _Body({}, {}, {})
    xref_offset, xref_num, entries, trailer, pos = _body_and_xref(parser, start, body)
    m = _EOF.match(data, pos)
    if m is None:
        raise LayoutError(
            N_("the xref section at offset {offset} is not followed by startxref and %%EOF"),
            offset=xref_offset,
        )
    if int(m.group(1)) != xref_offset:
        raise LayoutError(
            N_("a startxref says {says}, but its xref section begins at {offset}"),
            says=int(m.group(1)),
            offset=xref_offset,
        )
    prev = _checked_prev(trailer, entries, start, expected_prev)
    hybrid = trailer.get(b"/XRefStm")
    if hybrid is not None:
        xref_num = _add_hybrid_entries(body, hybrid, entries)
    _check_listing(body, entries, xref_num)
    return Update(xref_offset, m.end(), prev)


def _body_and_xref(
    parser: Parser, pos: int, body: _Body
) -> tuple[int, int | None, dict[int, tuple[int, int, int]], dict[bytes, Any], int]:
    """Reads the objects from ``pos`` into ``body`` up to the update's xref section: a table
    with its trailer, or an xref stream directly followed by ``startxref``.

    Returns the section's offset, the xref stream's number (None for a table), its entries,
    the trailer and the position just past the section."""
    data = parser.data
    while True:
        if data.startswith(b"xref", pos) and data[pos + 4 : pos + 5] in (b"\r", b"\n", b" "):
            xref_offset = pos
            entries, pos = _xref_table(parser, pos + 4)
            value, pos = parser.value(pos)
            if not isinstance(value, dict):
                raise LayoutError(N_("an update's trailer is not a dictionary"))
            return xref_offset, None, entries, value, pos
        obj_start = pos
        value, num, pos = _object(parser, pos, body)
        if value is not None and value.get(b"/Type") == b"/XRef" and _EOF.match(data, pos):
            if num not in body.streams:
                raise LayoutError(N_("an update's /XRef object has no stream"))
            entries = _xref_stream_entries(value, body.streams[num][1])
            return obj_start, num, entries, value, pos
        pos = _SPACE.match(data, pos).end()  # type: ignore[union-attr]
        if pos >= len(data):
            raise LayoutError(N_("an update's body is not followed by an xref section"))


def _checked_prev(
    trailer: dict[bytes, Any],
    entries: dict[int, tuple[int, int, int]],
    start: int,
    expected_prev: int | None,
) -> int | None:
    """The trailer's /Prev, once the trailer is shown to name a /Root, to list no object past
    its /Size, and to name ``expected_prev`` (when given): the update before."""
    if not isinstance(trailer.get(b"/Root"), Ref):
        raise LayoutError(
            N_("the update at offset {offset} has no /Root in its trailer"), offset=start
        )
    size = trailer.get(b"/Size")
    if not isinstance(size, int) or any(num >= size for num in entries):
        raise LayoutError(
            N_("the update at offset {offset} lists objects beyond its /Size"), offset=start
        )
    prev = trailer.get(b"/Prev")
    if prev is not None and not isinstance(prev, int):
        raise LayoutError(N_("an update's /Prev is not a whole number"))
    if expected_prev is not None and prev != expected_prev:
        raise LayoutError(
            N_("the update at offset {offset} names /Prev {prev}, not the xref at {expected}"),
            offset=start,
            prev=prev,
            expected=expected_prev,
        )
    return prev


def _add_hybrid_entries(body: _Body, hybrid: Any, entries: dict[int, tuple[int, int, int]]) -> int:
    """A hybrid file's /XRefStm must be an xref stream in this update's body; its entries are
    added to the table's (the table's win). Returns the stream's object number."""
    stream_num = next((n for n, off in body.offsets.items() if off == hybrid), None)
    if (
        stream_num is None
        or stream_num not in body.streams
        or body.streams[stream_num][0].get(b"/Type") != b"/XRef"
    ):
        raise LayoutError(N_("an update's /XRefStm does not point at an xref stream in it"))
    for num, entry in _xref_stream_entries(*body.streams[stream_num]).items():
        entries.setdefault(num, entry)
    return stream_num


def _check_listing(
    body: _Body, entries: dict[int, tuple[int, int, int]], xref_num: int | None
) -> None:
    """Every object of the body listed at its own offset; every entry naming the body."""
    for num, offset in body.offsets.items():
        entry = entries.get(num)
        if entry is None or entry[0] != 1:
            if num == xref_num:
                continue
            raise LayoutError(
                N_("object {num} of an update is not listed in that update's xref"), num=num
            )
        if entry[1] != offset or entry[2] != body.gens[num]:
            raise LayoutError(
                N_("the xref gives object {num} offset {given}, but it begins at {offset}"),
                num=num,
                given=entry[1],
                offset=offset,
            )
    members: dict[int, set[int]] = {}
    for num, (dictionary, raw) in body.streams.items():
        if dictionary.get(b"/Type") == b"/ObjStm":
            listed = _object_stream_members(num, dictionary, raw)
            seen = set()
            for member in listed:
                if member in seen or member in body.offsets:
                    raise LayoutError(N_("object {num} is defined twice in one update"), num=member)
                seen.add(member)
            members[num] = seen
    for num, (kind, f2, _f3) in entries.items():
        if kind == 1 and body.offsets.get(num) != f2:
            raise LayoutError(
                N_("the xref lists object {num} at offset {offset}, outside its update"),
                num=num,
                offset=f2,
            )
        if kind == 2 and num not in members.get(f2, ()):
            raise LayoutError(
                N_(
                    "the xref puts object {num} in object stream {stream}, which does not hold it here"
                ),
                num=num,
                stream=f2,
            )
    for stream, held in members.items():
        for member in held:
            entry = entries.get(member)
            if entry is None or entry[0] != 2 or entry[1] != stream:
                raise LayoutError(
                    N_(
                        "object {member} in object stream {stream} is not listed in its update's xref"
                    ),
                    member=member,
                    stream=stream,
                )


# -- the chain --------------------------------------------------------------------------------


def read_updates(data: bytes, start: int, first_prev: int | None = None) -> Layout:
    """The updates from ``start`` to the end of ``data``, each checked to be exact.

    ``first_prev`` is the /Prev the first update must name (None: not checked). Each later
    update must name the one before. After the last ``%%EOF`` only whitespace may follow.
    """
    parser = Parser(data)
    updates: list[Update] = []
    pos = start
    expected = first_prev
    try:
        while True:
            rest = _SPACE.match(data, pos).end()  # type: ignore[union-attr]
            if rest >= len(data):
                break
            if len(updates) > MAX_UPDATES:
                too_many = Said(N_("more than {count} updates after a stamp"), count=MAX_UPDATES)
                return Layout(tuple(updates), too_many, True)
            if updates and data.startswith(b"%", rest):
                raise LayoutError(N_("data after the %%EOF at offset {offset}"), offset=pos)
            update = _read_update(parser, rest, expected)
            updates.append(update)
            expected = update.xref_offset
            pos = update.end
    except LayoutError as exc:
        what = exc.said
        if updates:
            what = Said(N_("{what} (after the %%EOF at offset {offset})"), what=what, offset=pos)
        return Layout(tuple(updates), what)
    except (RecursionError, MemoryError, OverflowError, ValueError) as exc:
        return Layout(
            tuple(updates), Said(N_("an update cannot be read ({kind})"), kind=type(exc).__name__)
        )
    if not updates:
        return Layout((), Said(N_("no update follows the stamped document")))
    return Layout(tuple(updates), None)


def last_startxref(data: bytes, end: int) -> int | None:
    """The value of the last ``startxref`` before ``end``, as written."""
    at = data.rfind(b"startxref", max(0, end - 4096), end)
    if at < 0:
        return None
    m = re.compile(rb"startxref[\x00\t\n\x0c\r ]+(\d+)").match(data, at)
    return int(m.group(1)) if m else None
