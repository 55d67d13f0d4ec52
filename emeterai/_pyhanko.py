"""Every use of pyHanko's internals, and every change emeterai makes to pyHanko, in one place.

These hooks are tied to the pyHanko version that ``pyproject.toml`` pins; ``HOOKS`` lists each
private name relied on and ``tests/test_pyhanko.py`` is the contract test that fails first when
an upgrade removes one.

Nothing here changes pyHanko on import. Two fixes replace pyHanko functions while emeterai's
own calls run (signing, stamping, verifying each enter :func:`patched`), or for the whole
process once a program that owns its process calls :func:`install`:

- a name byte below 0x10 is written with two hex digits ('/X#04'), as ISO 32000 7.3.5 requires
  and strict readers expect (pyHanko writes '/X#4'), and only while pyHanko still has the bug;
- hex strings (``<...>``) are read in chunks: every stamp's /Contents is one of several
  kilobytes, and pyHanko's byte-at-a-time reader was a third of verifying a letter. Anything out
  of the ordinary goes to pyHanko's own reader from the start of the string.

More are speed fixes in the libraries under pyHanko, each giving exactly the bytes or the
answer the original gives (bench/results.md, "Where the time goes", has their effect):

- asn1crypto's ``Asn1Value.dump`` reads ``self.contents`` up to three times; on a value built
  from Python data (every CMS structure a signer builds) each read re-serialises the whole
  subtree, so the cost doubles with each level of nesting: 20 ms of a letter's 25 ms CMS. The
  fix reads it once (upstream: use the local ``contents`` in ``Asn1Value.dump``);
- asn1crypto compares X.509 names by preparing every attribute with stringprep, each time;
  two names with the same DER are equal without that (RFC 5280 7.1), and a name's prepared form
  depends only on its DER, so it is kept (upstream: a DER fast path in ``Name.__eq__`` and a
  cached ``Name.hashable``);
- pyHanko reads every token up to its delimiter one byte at a time through a generator, and
  decodes every name byte by byte looking for escapes: together a tenth of verifying a letter.
  Tokens are now read in chunks, and a name with no escape is decoded at once (upstream: the
  same two changes in ``misc.read_until_delimiter`` and ``generic._decode_name``); names and
  tokens out of the ordinary still go to pyHanko's own code;
- pyhanko-certvalidator builds its "every name is permitted" subtrees from scratch for each
  certificate of each path; they are now copied from one made once (upstream: a module-level
  template in ``default_permitted_subtrees``).
"""

from __future__ import annotations

import binascii
import functools
import io
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko_certvalidator import validate as certvalidator_validate

if TYPE_CHECKING:
    from pyhanko.sign.attributes import CMSAttributeProvider

# (object, private attribute) pairs this module relies on: the contract test checks each. An
# object named by its dotted path is one only signing imports (see ``emeterai._lazy``).
HOOKS: tuple[tuple[object, str], ...] = (
    (generic, "read_hex_string_from_stream"),
    (generic, "_decode_name"),
    (generic, "read_until_delimiter"),
    (generic.NameObject, "write_to_stream"),
    (IncrementalPdfFileWriter, "_write_header"),
    (IncrementalPdfFileWriter, "_update_meta"),
    (IncrementalPdfFileWriter, "_walk_page_tree"),
    ("pyhanko.sign.signers.SimpleSigner", "_signed_attr_providers"),  # imported when signing
    (asn1_core, "_dump_header"),
    (asn1_core.Asn1Value, "dump"),
    (asn1_x509.Name, "__eq__"),
    (certvalidator_validate, "default_permitted_subtrees"),
)

# -- the two fixes ----------------------------------------------------------------------------

_CHUNK = 64 * 1024
_WHITESPACE = b" \n\r\t\f\x00"  # pyhanko.pdf_utils.misc.PDF_WHITESPACE
_UNUSUAL = re.compile(rb"[^0-9a-fA-F \n\r\t\f\x00]")
ORIGINAL_HEX_READER = generic.read_hex_string_from_stream
ORIGINAL_DECODE_NAME: Callable[[bytes], generic.NameObject] = generic._decode_name
ORIGINAL_READ_UNTIL_DELIMITER: Callable[[Any], bytes] = generic.read_until_delimiter
ORIGINAL_NAME_WRITER: Callable[..., None] = generic.NameObject.write_to_stream


def read_hex_string_from_stream(stream: Any) -> generic.ByteStringObject | generic.TextStringObject:
    """pyHanko's ``read_hex_string_from_stream``, a chunk at a time: same value, same position."""
    start = stream.tell()
    stream.read(1)  # the '<'
    parts = []
    while True:
        chunk = stream.read(_CHUNK)
        end = chunk.find(b">")
        body = chunk if end < 0 else chunk[:end]
        if not chunk or _UNUSUAL.search(body):
            stream.seek(start)
            return ORIGINAL_HEX_READER(stream)
        parts.append(body)
        if end >= 0:
            stream.seek(end + 1 - len(chunk), 1)  # just after the '>'
            break
    digits = b"".join(parts).translate(None, _WHITESPACE)
    if len(digits) % 2:
        digits += b"0"
    return generic.pdf_string(binascii.unhexlify(digits))


def _escaped(byte: int) -> bool:
    return byte == 0x23 or not 0x21 <= byte <= 0x7E or not generic.is_regular_character(byte)


# A name byte that must be written as '#XX'; a name with none (nearly all) is written as it is.
_NEEDS_ESCAPE = re.compile(
    b"[" + b"".join(re.escape(bytes([b])) for b in range(256) if _escaped(b)) + b"]"
)


def write_name_to_stream(
    self: generic.NameObject, stream: Any, handler: Any = None, container_ref: Any = None
) -> None:
    """pyHanko's ``NameObject.write_to_stream`` with every escape two hex digits long."""
    raw = self.encode("utf8")
    if not raw.startswith(b"/"):
        raise generic.PdfWriteError(f"Could not serialise name object {self!r}, must start with /")
    if _NEEDS_ESCAPE.search(raw, 1) is None:
        stream.write(raw)
        return
    out = bytearray(b"/")
    for byte in raw[1:]:
        if _escaped(byte):
            out += b"#%02X" % byte
        else:
            out.append(byte)
    stream.write(bytes(out))


def decode_name(name_bytes: bytes) -> generic.NameObject:
    """pyHanko's ``_decode_name``: a name with nothing escaped (nearly all) decoded at once;
    anything else (an escape, a byte that should have been one) by pyHanko's own loop."""
    if _NEEDS_ESCAPE.search(name_bytes) is None:
        return generic.NameObject("/" + name_bytes.decode("ascii"))
    return ORIGINAL_DECODE_NAME(name_bytes)


_DELIMITER = re.compile(b"[" + re.escape(misc.PDF_WHITESPACE + misc.PDF_DELIMITERS) + b"]")
_TOKEN_CHUNK = 64


def read_until_delimiter(stream: Any) -> bytes:
    """pyHanko's ``read_until_delimiter`` a chunk at a time, not a byte at a time: the same
    bytes, and the stream left on the delimiter (or at the end) as pyHanko leaves it."""
    parts: list[bytes] = []
    while True:
        chunk = stream.read(_TOKEN_CHUNK)
        if not chunk:
            return b"".join(parts)
        found = _DELIMITER.search(chunk)
        if found is not None:
            parts.append(chunk[: found.start()])
            stream.seek(found.start() - len(chunk), io.SEEK_CUR)
            return b"".join(parts)
        parts.append(chunk)


@functools.cache
def _name_writer_has_bug() -> bool:
    probe = io.BytesIO()
    ORIGINAL_NAME_WRITER(generic.NameObject("/X\x04"), probe)
    return probe.getvalue() == b"/X#4"


# -- the speed fixes -------------------------------------------------------------------------

ORIGINAL_DUMP: Callable[..., bytes] = asn1_core.Asn1Value.dump
ORIGINAL_NAME_EQ: Callable[..., bool] = asn1_x509.Name.__eq__
ORIGINAL_NAME_HASHABLE: property = asn1_x509.Name.hashable
ORIGINAL_PERMITTED: Callable[[], Any] = certvalidator_validate.default_permitted_subtrees


def asn1_dump(self: Any, force: bool = False) -> bytes:
    """asn1crypto's ``Asn1Value.dump``, reading ``self.contents`` once."""
    contents = self.contents
    if self._header is not None and self._header[-1:] == b"\x80":
        force = True  # an indefinite length is re-encoded
    if self._header is None or force:
        if isinstance(self, asn1_core.Constructable) and self._indefinite:
            self.method = 0
        header = asn1_core._dump_header(self.class_, self.method, self.tag, contents)
        if self.explicit is not None:
            for class_, tag in self.explicit:
                header = asn1_core._dump_header(class_, 1, tag, header + contents) + header
        self._header = header
        self._trailer = b""
    return self._header + contents + self._trailer  # type: ignore[no-any-return]


_HASHABLE: dict[bytes, str] = {}
_HASHABLE_MAX = 4096


def name_hashable(self: Any) -> str:
    """asn1crypto's ``Name.hashable`` (the RFC 5280 prepared form), kept per DER encoding."""
    der = self.dump()
    found = _HASHABLE.get(der)
    if found is None:
        found = ORIGINAL_NAME_HASHABLE.fget(self)  # type: ignore[misc]
        if len(_HASHABLE) >= _HASHABLE_MAX:
            _HASHABLE.clear()
        _HASHABLE[der] = found
    return found


_KEYS: dict[bytes, tuple[tuple[int, tuple[tuple[str, str], ...]], ...]] = {}


def _name_key(name: Any) -> tuple[tuple[int, tuple[tuple[str, str], ...]], ...]:
    """What asn1crypto's ``Name.__eq__`` compares, worked out once per DER encoding: per RDN in
    order, its attribute count and its prepared value per attribute type."""
    der = name.dump()
    key = _KEYS.get(der)
    if key is None:
        rdns = []
        for rdn in name.chosen:
            values = {ntv["type"].native: ntv.prepped_value for ntv in rdn}
            rdns.append((len(rdn), tuple(sorted(values.items()))))
        key = tuple(rdns)
        if len(_KEYS) >= _HASHABLE_MAX:
            _KEYS.clear()
        _KEYS[der] = key
    return key


def name_eq(self: Any, other: Any) -> bool:
    """asn1crypto's ``Name.__eq__`` (RFC 5280 7.1): equal DER is equal; otherwise the names'
    prepared forms, kept per DER, decide."""
    if not isinstance(other, asn1_x509.Name):
        return False
    if self.dump() == other.dump():
        return True
    try:
        return _name_key(self) == _name_key(other)
    except Exception:  # a value stringprep refuses: the original decides, and raises as it does
        return ORIGINAL_NAME_EQ(self, other)


@functools.cache
def _permitted_template() -> Any:
    return ORIGINAL_PERMITTED()


def default_permitted_subtrees() -> Any:
    """pyhanko-certvalidator's "every name permitted" subtrees: fresh sets of the same frozen
    ``NameSubtree`` values, copied from one template."""
    return {name_type: set(trees) for name_type, trees in _permitted_template().items()}


def _apply_speed(on: bool) -> None:
    asn1_core.Asn1Value.dump = asn1_dump if on else ORIGINAL_DUMP
    asn1_x509.Name.__eq__ = name_eq if on else ORIGINAL_NAME_EQ
    asn1_x509.Name.hashable = property(name_hashable) if on else ORIGINAL_NAME_HASHABLE
    certvalidator_validate.default_permitted_subtrees = (
        default_permitted_subtrees if on else ORIGINAL_PERMITTED
    )


_lock = threading.Lock()
_users = 0  # emeterai calls running under patched(), plus one for install()
_installed = False


def _apply(on: bool) -> None:
    _apply_speed(on)
    generic.read_hex_string_from_stream = read_hex_string_from_stream if on else ORIGINAL_HEX_READER
    generic._decode_name = decode_name if on else ORIGINAL_DECODE_NAME  # type: ignore[assignment]
    reader = read_until_delimiter if on else ORIGINAL_READ_UNTIL_DELIMITER
    generic.read_until_delimiter = reader  # type: ignore[assignment]
    if _name_writer_has_bug():
        writer = write_name_to_stream if on else ORIGINAL_NAME_WRITER
        generic.NameObject.write_to_stream = writer  # type: ignore[method-assign]


def install() -> None:
    """Keep both fixes in place for the rest of the process (idempotent), for a program that
    owns its process and wants pyHanko fixed for its own pyHanko calls too."""
    global _users, _installed
    with _lock:
        if not _installed:
            _installed = True
            _users += 1
            if _users == 1:
                _apply(True)


def is_installed() -> bool:
    """Are the fixes in place right now (installed, or inside :func:`patched`)?"""
    return generic.read_hex_string_from_stream is read_hex_string_from_stream


@contextmanager
def patched() -> Iterator[None]:
    """Both fixes in place for the duration (re-entrant, thread-safe); pyHanko as it was after,
    unless :func:`install` was called."""
    global _users
    with _lock:
        _users += 1
        if _users == 1:
            _apply(True)
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                _apply(False)


# -- reading: where each object of a revision lives ---------------------------------------------


@dataclass(frozen=True)
class InStream:
    """An object stored in an object stream: the stream's number and the member's index."""

    stream: int
    index: int


Location = int | InStream  # a byte offset in the file, or a place in an object stream


def live_objects(reader: PdfFileReader, revision: int) -> dict[tuple[int, int], Location]:
    """(number, generation) -> location of every object that resolves at ``revision`` as pyHanko
    resolves it: a later section overrides an earlier one, a free entry removes only the
    generation it names, and within a revision the main section takes precedence over a hybrid
    file's cross-reference stream.

    pyHanko knows this per revision but exposes only which objects a revision lists; the stamp's
    own-revision check needs every object as it was just before the stamp."""
    live: dict[tuple[int, int], Location] = {}
    for section in reader.xrefs._xref_sections[: revision + 1]:
        data = section.xref_data
        layers = [] if data.hybrid is None else [(data.hybrid.xref_data, False)]
        layers.append((data, True))
        for layer, main in layers:
            if main:
                for num, next_gen in layer.freed.items():
                    live.pop((num, next_gen - 1), None)
            for num, (gen, offset) in layer.standard_xrefs.items():
                live[(num, gen)] = offset
            for num, loc in layer.xrefs_in_objstm.items():
                live[(num, 0)] = InStream(loc.obj_stream_id, loc.ix_in_stream)
    return live


# -- signing: the writer and signer emeterai extends --------------------------------------------


@functools.cache
def _binding_signer() -> type:
    """The signer class, made on first use: ``pyhanko.sign.signers`` is the heaviest import of
    pyHanko and verifying never needs it."""
    from pyhanko.sign import signers

    class BindingSigner(signers.SimpleSigner):
        """A SimpleSigner that adds fixed signed attributes (the stamp's document binding)."""

        def __init__(
            self, *args: Any, extra: Sequence[CMSAttributeProvider], **kwargs: Any
        ) -> None:
            super().__init__(*args, **kwargs)
            self.extra = extra

        def _signed_attr_providers(
            self, *args: Any, **kwargs: Any
        ) -> Iterator[CMSAttributeProvider]:
            yield from super()._signed_attr_providers(*args, **kwargs)
            yield from self.extra

    return BindingSigner


def __getattr__(name: str) -> Any:
    if name == "BindingSigner":
        return _binding_signer()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@runtime_checkable
class PrefixOutput(Protocol):
    """An output that already extends the input's bytes (``_sign``'s update output)."""

    def holds(self, prefix: bytes) -> bool: ...

    def skip_prefix(self) -> None: ...


class StampWriter(IncrementalPdfFileWriter):
    """An incremental writer told where the stamp's page is (and copying in large chunks).

    pyHanko finds page N by opening every page before it (twice per signature): a cost that
    grows with the page count. The analysis has already found the page in the same bytes, so
    its reference is used once it checks out: a /Page that its /Parent lists among its /Kids.
    """

    page_hint: tuple[int, int, int] | None = None  # (index, object number, generation)
    source: bytes | None = None  # the bytes the input stream reads
    IO_CHUNK_SIZE = 1 << 20  # a megabyte at a time, not pyHanko's 4 KB

    def _write_header(self, stream: Any) -> None:
        """pyHanko copies the input to the output first; an output that already extends the
        very same bytes needs no copy."""
        source = self.source
        if isinstance(stream, PrefixOutput) and source is not None and stream.holds(source):
            stream.skip_prefix()
            return
        super()._write_header(stream)

    def _update_meta(self) -> None:
        """pyHanko rewrites the document's XMP stream in place; the stamp writes the updated
        XMP as a new object instead, so that the stamp's revision changes no stream of the
        document (a stream may also serve as page content: see docs/security.md, 6b)."""
        try:
            from pyhanko.pdf_utils.metadata import xmp_xml

            meta = self.root["/Metadata"] if "/Metadata" in self.root else None  # noqa: SIM401  (get() does not resolve)
            if isinstance(meta, xmp_xml.MetadataStream):
                fresh = xmp_xml.MetadataStream.from_xmp(meta.xmp)
                fresh._handler = self.security_handler
                if self.security_handler is not None and not self.security_handler.encrypt_metadata:
                    fresh.add_crypt_filter()
                self.root["/Metadata"] = self.add_object(fresh)
                self.update_root()
        except Exception:  # unreadable XMP: pyHanko's own handling decides
            pass
        super()._update_meta()

    def _walk_page_tree(self, page_ix: int, retrieve_parent: bool) -> Any:
        hint = self.page_hint
        if hint is not None and not retrieve_parent and page_ix == hint[0]:
            found = self._hinted_page(generic.Reference(hint[1], hint[2], self), hint[0])
            if found is not None:
                return found
        return super()._walk_page_tree(page_ix, retrieve_parent)

    def _hinted_page(self, ref: generic.Reference, index: int) -> Any:
        """(page reference, inherited resources) for the hinted page, if it is a /Page whose
        position in the tree (counted as pyHanko counts, by the nodes' /Count) is ``index``;
        None otherwise (the caller then walks the tree)."""
        try:
            page = self.get_object(ref)
            if not isinstance(page, generic.DictionaryObject) or page.get("/Type") != "/Page":
                return None
            if _index_in_tree(page, ref) != index:
                return None
            node: Any = page
            resources: Any = generic.DictionaryObject()
            for _ in range(64):
                if "/Resources" in node:
                    resources = node.raw_get("/Resources")
                    break
                if "/Parent" not in node:
                    break
                node = node["/Parent"]
            return generic.IndirectObject(ref.idnum, ref.generation, self), resources
        except Exception:
            return None


def _index_in_tree(page: generic.DictionaryObject, ref: generic.Reference) -> int | None:
    """The index of ``page`` (object ``ref``) in its page tree, climbing its /Parent chain.

    At each level the siblings on the shorter side are counted (each a page, or a node of
    /Count pages), so a page near either end of a flat tree costs a handful of reads.
    """
    before = 0
    node: Any = page
    node_ref, own = ref, 1
    for _ in range(64):
        if "/Parent" not in node:
            return before if node_ref == ref else None
        parent_ref = node.raw_get("/Parent")
        parent = parent_ref.get_object()
        kids = parent.raw_get("/Kids").get_object()
        raws = [kids.raw_get(i) for i in range(len(kids))]
        positions = [
            i
            for i, k in enumerate(raws)
            if isinstance(k, generic.IndirectObject) and k.reference == node_ref
        ]
        if len(positions) != 1:
            return None
        pos = positions[0]
        if pos <= len(raws) - 1 - pos:
            before += sum(_pages_under(k) for k in raws[:pos])
        else:
            after = sum(_pages_under(k) for k in raws[pos + 1 :])
            before += int(parent["/Count"]) - own - after
        node, node_ref, own = parent, parent_ref.reference, int(parent["/Count"])
        if "/Parent" not in node:
            return before
    return None


def _pages_under(kid: Any) -> int:
    if not isinstance(kid, generic.IndirectObject):
        raise ValueError("a direct page-tree child")
    obj = kid.get_object()
    return int(obj["/Count"]) if obj.get("/Type") == "/Pages" else 1
