"""Repairing documents whose structure pyHanko will not write an incremental update to.

Stamping needs a file that a strict reader accepts: a header, cross-reference data whose offsets
point at the objects they name, indirect page-tree nodes. When the file as given falls short, it
is repaired before anything is spent, preferably by *appending* a rebuilt cross-reference
section (found by scanning the objects themselves), so the bytes as given stay a prefix of the
output; otherwise by a full rewrite with pypdf, which the caller reports. The stamp always binds
to the digest of the file as given.
"""

from __future__ import annotations

import enum
import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emeterai._pdfobjects import Said, entry, field_tree_problem
from emeterai.errors import PdfError, first_line
from emeterai.i18n import N_

if TYPE_CHECKING:
    import pypdf


class RepairMethod(enum.StrEnum):
    """How a damaged file was made readable before stamping."""

    APPENDED = "appended-xref"  # a rebuilt cross-reference section appended: bytes kept
    REWRITTEN = "rewritten"  # the whole file rewritten


APPENDED = RepairMethod.APPENDED
REWRITTEN = RepairMethod.REWRITTEN

_SIGNED = re.compile(rb"/ByteRange\s*\[")
# A rebuilt section has one row per object number (20 bytes each): at most this many rows, or
# one per 4 bytes of the file when that is more.
MAX_REBUILT_ENTRIES = 1 << 20
_TOO_SPARSE = N_(
    "its object numbers run to {last}, too sparse to rebuild its cross-reference table"
)
_DIRECT_ENCRYPT = N_("the encryption dictionary is malformed (not an indirect object)")
_NO_CATALOG = N_("no document catalog (/Root) to rebuild the cross-reference data around")
_OBJ = re.compile(rb"(?<![0-9])(\d{1,10})[ \t\r\n\f\x00]+(\d{1,5})[ \t\r\n\f\x00]+obj(?![A-Za-z])")


@dataclass(frozen=True)
class Repaired:
    data: bytes
    method: RepairMethod
    reason: str  # a Said when emeterai words it (a person reads it translated)


def structure_problem(data: bytes, walk_pages: bool = True) -> str | None:
    """Why a strict writer would refuse ``data`` (None when it is fine).

    ``walk_pages=False`` skips the page-tree walk, which costs about a millisecond per page;
    the stamping pipeline checks the pages through pypdf instead.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    fields_problem = None
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=True)
        problem = _xref_problem(writer, data)
        if problem is not None:
            return problem
        if writer.security_handler is not None:
            return None  # encrypted: objects cannot be checked before decryption
        if walk_pages:
            _walk_pages(writer.root["/Pages"], 0, set())
        fields_problem = field_tree_problem(entry(entry(writer.root, "/AcroForm", {}), "/Fields"))
        if fields_problem is None:
            from pyhanko.sign.fields import enumerate_sig_fields

            for _ in enumerate_sig_fields(writer):
                pass
    except RecursionError:
        return Said(N_("the page tree is nested too deeply"))
    except Exception as exc:
        return first_line(exc)
    if fields_problem is not None:  # no repair restores a field tree: refused as it is
        raise PdfError(N_("the PDF is damaged: {problem}"), problem=fields_problem)
    return None


def _walk_pages(node: Any, depth: int, seen: set[int]) -> None:
    from pyhanko.pdf_utils import generic

    if depth > 64:
        raise PdfError(N_("the page tree is nested too deeply"))
    if "/Kids" not in node:
        return
    kids = node.raw_get("/Kids").get_object()
    for i in range(len(kids)):
        kid = kids.raw_get(i)
        if not isinstance(kid, generic.IndirectObject):
            raise PdfError(N_("a page-tree node has a direct (not indirect) child"))
        if kid.idnum in seen:
            raise PdfError(N_("the page tree is cyclic"))
        seen.add(kid.idnum)
        child = kid.get_object()
        if child.get("/Type") == "/Pages":
            _walk_pages(child, depth + 1, seen)


def _xref_problem(writer: Any, data: bytes) -> str | None:
    """Does every cross-reference section start where startxref says, and every in-use entry
    point at the object it names? (pyHanko and pypdf tolerate both; qpdf does not.)"""
    xrefs = writer.prev.xrefs
    bad = 0
    for revision in range(xrefs.total_revisions):
        start = xrefs.get_startxref_for_revision(revision)
        if not (data.startswith(b"xref", start) or _OBJ.match(data, start)):
            return Said(N_("a startxref offset does not point at its cross-reference section"))
        for ref in xrefs.explicit_refs_in_revision(revision):
            loc = xrefs.get_historical_ref(ref, revision)
            if not isinstance(loc, int):
                continue
            m = _OBJ.match(data, loc) if loc > 0 else None
            if m is None or int(m.group(1)) != ref.idnum or int(m.group(2)) != ref.generation:
                bad += 1
    if bad:
        if bad == 1:
            return Said(N_("1 cross-reference entry points at the wrong place"))
        return Said(N_("{count} cross-reference entries point at the wrong place"), count=bad)
    return None


def append_rebuilt_xref(data: bytes) -> bytes:
    """``data`` plus one complete cross-reference section built from the objects in the file."""
    objects: dict[int, tuple[int, int]] = {}
    for m in _OBJ.finditer(data):
        objects[int(m.group(1))] = (int(m.group(2)), m.start())  # the last definition wins
    reader, trailer = _lenient_trailer(data)
    compressed = {
        num: where
        for num, where in _compressed_objects(data, objects, reader).items()
        if num not in objects
    }
    size = max([*objects, *compressed, 0]) + 1
    if size > max(MAX_REBUILT_ENTRIES, len(data) // 4):
        # one row per object number up to the highest: a 70-byte file naming object 9999999999
        # would otherwise be a 200 GB table (docs/security.md, 8)
        raise PdfError(_TOO_SPARSE, last=size - 1)
    root, extra = _trailer_entries(data, objects, trailer)
    out = bytearray(data)
    if not out.endswith((b"\n", b"\r")):
        out += b"\n"
    start = len(out)
    if not compressed:
        out += _xref_table(objects, size, root, extra)
    else:
        out += _xref_stream(objects, compressed, size, start, root, extra)
    out += b"startxref\n%d\n%%%%EOF\n" % start
    return bytes(out)


def _lenient_trailer(data: bytes) -> tuple[pypdf.PdfReader | None, Any]:
    """pypdf's lenient reader of ``data`` and its trailer, or (None, None) when even it fails:
    the rebuilt section then keeps nothing of the old trailer."""
    import pypdf

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        trailer: Any = reader.trailer
    except Exception:
        reader, trailer = None, None
    return reader, trailer


def _trailer_ref(trailer: Any, key: str) -> bytes | None:
    """``N G R`` for the trailer's ``key`` when it is an indirect reference, else None."""
    raw = trailer.raw_get(key) if trailer is not None and key in trailer else None
    if raw is None or not hasattr(raw, "idnum"):
        return None
    return f"{raw.idnum} {raw.generation} R".encode()


def _trailer_entries(
    data: bytes, objects: dict[int, tuple[int, int]], trailer: Any
) -> tuple[bytes, bytes]:
    """The new trailer's /Root and its other entries (/Info, /Encrypt, /ID), carried over from
    the old trailer; the catalog found among the objects when the trailer names none.

    Raises PdfError for a direct /Encrypt (it cannot be carried over) or no catalog at all."""
    if trailer is not None and "/Encrypt" in trailer and _trailer_ref(trailer, "/Encrypt") is None:
        raise PdfError(_DIRECT_ENCRYPT)
    root = _trailer_ref(trailer, "/Root") or _find_catalog(data, objects)
    if root is None:
        raise PdfError(_NO_CATALOG)
    extra = b""
    for key in ("/Info", "/Encrypt"):
        value = _trailer_ref(trailer, key)
        if value is not None:
            extra += b" " + key.encode() + b" " + value
    ident = trailer.get("/ID") if trailer is not None else None
    if ident is not None and len(ident) == 2:
        a, b = (_raw_bytes(v).hex().encode() for v in ident)
        extra += b" /ID [<" + a + b"> <" + b + b">]"
    return root, extra


def _xref_table(objects: dict[int, tuple[int, int]], size: int, root: bytes, extra: bytes) -> bytes:
    """A classic ``xref`` table and trailer for the objects (used when none is compressed)."""
    out = bytearray(b"xref\n0 %d\n" % size)
    out += b"0000000000 65535 f\r\n"
    for num in range(1, size):
        if num in objects:
            gen, offset = objects[num]
            out += b"%010d %05d n\r\n" % (offset, gen)
        else:
            out += b"0000000000 00000 f\r\n"
    out += b"trailer\n<< /Size %d /Root %s%s >>\n" % (size, root, extra)
    return bytes(out)


def _xref_stream(
    objects: dict[int, tuple[int, int]],
    compressed: dict[int, tuple[int, int]],
    size: int,
    start: int,
    root: bytes,
    extra: bytes,
) -> bytes:
    """An xref stream object, numbered ``size`` and written at ``start``, listing the objects
    and those in object streams (a classic table cannot list compressed objects)."""
    stream_num = size
    size += 1
    rows = bytearray(b"\x00\x00\x00\x00\x00\xff\xff")
    for num in range(1, size):
        if num == stream_num:
            rows += b"\x01" + start.to_bytes(4, "big") + b"\x00\x00"
        elif num in objects:
            gen, offset = objects[num]
            rows += b"\x01" + offset.to_bytes(4, "big") + gen.to_bytes(2, "big")
        elif num in compressed:
            stm, idx = compressed[num]
            rows += b"\x02" + stm.to_bytes(4, "big") + idx.to_bytes(2, "big")
        else:
            rows += b"\x00\x00\x00\x00\x00\x00\x00"
    out = b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root %s%s /Length %d >>\nstream\n" % (
        stream_num,
        size,
        root,
        extra,
        len(rows),
    )
    return out + bytes(rows) + b"\nendstream\nendobj\n"


def _compressed_objects(
    data: bytes, objects: dict[int, tuple[int, int]], reader: pypdf.PdfReader | None
) -> dict[int, tuple[int, int]]:
    """object number -> (object stream, index), read from each object stream's own header.

    (pypdf's table after a rebuild holds byte offsets inside the stream where the index
    belongs, so it cannot be written back as cross-reference entries.)
    """
    found: dict[int, tuple[int, int]] = {}
    if reader is None:
        return found
    from pypdf.generic import IndirectObject

    for num, (gen, offset) in sorted(objects.items(), key=lambda item: item[1][1]):
        head = data[offset : offset + 512].split(b"stream", 1)[0]
        if not re.search(rb"/Type\s*/ObjStm\b", head):
            continue
        try:
            stream: Any = IndirectObject(num, gen, reader).get_object()
            first, count = int(stream["/First"]), int(stream["/N"])
            numbers = stream.get_data()[:first].split()[0::2][:count]
            for index, objnum in enumerate(numbers):
                found[int(objnum)] = (num, index)  # a later stream's copy wins, as in the file
        except Exception:
            continue  # a damaged object stream: its objects stay out of the table
    return found


def _find_catalog(data: bytes, objects: dict[int, tuple[int, int]]) -> bytes | None:
    """The reference of the last object that declares itself the catalog."""
    found = None
    for num, (gen, offset) in sorted(objects.items(), key=lambda item: item[1][1]):
        head = data[offset : offset + 400]
        if re.search(rb"/Type\s*/Catalog\b", head.split(b"endobj", 1)[0]):
            found = f"{num} {gen} R".encode()
    return found


def _raw_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    original = getattr(value, "original_bytes", None)
    return original if isinstance(original, bytes) else str(value).encode("latin-1", "replace")


def rewrite(data: bytes) -> bytes:
    """A fresh, clean file with the same content, written by pypdf."""
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
    try:
        writer = pypdf.PdfWriter(clone_from=reader)
    except Exception:
        # Cloning follows the catalog as it is (e.g. a page given directly in /Kids, with no
        # object number); adding the pages one by one gives each its own object.
        writer = pypdf.PdfWriter()
        for page in reader.pages:
            writer.add_page(page)
        if reader.metadata:
            writer.add_metadata({k: str(v) for k, v in reader.metadata.items()})
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def repair(data: bytes, source: str, problem: str | None = None) -> Repaired | None:
    """None when ``data`` can be stamped as it is; else a repaired copy, or PdfError.

    ``problem``, when the caller already found one, saves looking again.
    """
    problem = problem or structure_problem(data)
    if problem is None:
        return None
    if "EOF marker not found" in problem:
        end = data.rfind(b"%%EOF")
        if end < 0:
            problem = Said(N_("the file is cut short: no %%EOF marker at its end"))
        else:
            problem = Said(
                N_("{count} bytes of something else follow its last %%EOF marker"),
                count=len(data) - end - 5,
            )
    if _SIGNED.search(data):
        # pyHanko's difference analysis reads each signed revision through its own
        # cross-reference data, so no repair, appended or rewritten, can keep it validating.
        raise PdfError(
            N_(
                "the PDF is signed and damaged ({problem}); repairing it would break the "
                "signature already in it: ask the signer for an undamaged copy"
            ),
            path=source,
            problem=problem,
        )
    if re.search(rb"/Encrypt\b", data):
        raise PdfError(
            N_(
                "the PDF is encrypted and damaged ({problem}); repairing it would drop its "
                "protection: re-save it with its producer first"
            ),
            path=source,
            problem=problem,
        )
    if re.match(rb"\s*%PDF-\d\.\d", data):
        try:
            appended = append_rebuilt_xref(data)
        except PdfError as exc:  # the reason is translated with the sentence that holds it
            raise PdfError(
                N_("the PDF is damaged: {problem}"), path=source, hint=exc.hint, problem=exc
            ) from exc
        except Exception:
            appended = None
        if appended is not None and _repaired_problem(appended) is None:
            return Repaired(appended, APPENDED, problem)
    try:
        rewritten = rewrite(data)
    except Exception as exc:
        raise PdfError(
            N_("the PDF is damaged ({problem}) and could not be repaired ({reason})"),
            path=source,
            problem=problem,
            reason=first_line(exc),
        ) from exc
    left = _repaired_problem(rewritten)
    if left is not None:
        raise PdfError(
            N_("the PDF is damaged ({problem}) and could not be repaired ({reason})"),
            path=source,
            problem=problem,
            reason=left,
        )
    return Repaired(rewritten, REWRITTEN, problem)


def _repaired_problem(data: bytes) -> str | None:
    """What is still wrong with a repaired file: its structure, or any object in it that a
    strict reader cannot parse (a repair keeps or rewrites what the lenient reader let through,
    such as a cut-off stream or a malformed name, and the stamp's verifier must read it all)."""
    problem = structure_problem(data)
    if problem is not None:
        return problem
    return unparseable_object(data)


class JoinedBytes(io.RawIOBase):
    """Several byte strings read as one seekable file, without joining them in memory (a stamped
    document is the input plus the stamp's update)."""

    def __init__(self, parts: tuple[bytes, ...]) -> None:
        super().__init__()
        self._parts = [memoryview(p).cast("B") for p in parts]
        self._size = sum(len(p) for p in self._parts)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        out = memoryview(buffer).cast("B")
        done, pos = 0, self._pos
        start = 0
        for part in self._parts:
            end = start + len(part)
            if pos < end and done < len(out):
                take = min(end - pos, len(out) - done)
                out[done : done + take] = part[pos - start : pos - start + take]
                done += take
                pos += take
            start = end
        self._pos = pos
        return done


def unparseable_object(
    data: bytes | tuple[bytes, ...], password: str | None = None, rewritten_only: bool = False
) -> str | None:
    """The first object of the last revision that a strict reader cannot parse, or a stream cut
    short (None: all fine). ``data`` may be given in parts (input, update). An encrypted file is
    opened with ``password`` (or the empty user password) first; a file that does not open is
    left to the caller's own checks. ``rewritten_only`` checks just the objects that the last
    revision writes anew over earlier ones (after signing: the page, the catalog, the form,
    copied from the document with whatever names it holds; the stamp's own objects are ours)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.reader import PdfFileReader

    stream = io.BytesIO(data) if isinstance(data, bytes) else io.BufferedReader(JoinedBytes(data))
    try:
        reader = PdfFileReader(stream, strict=True)
        if reader.security_handler is not None:
            result = reader.decrypt(password or "")
            if result.status.name == "FAILED":
                return None
        xrefs = reader.xrefs
        last = xrefs.total_revisions - 1
        refs = xrefs.explicit_refs_in_revision(last)
        for ref in sorted(refs, key=lambda r: (r.idnum, r.generation)):
            if ref.generation < 0 or xrefs.get_historical_ref(ref, last) is None:
                continue  # a free entry
            if rewritten_only and not _defined_before(xrefs, ref, last):
                continue
            obj = reader.get_object(ref)
            if isinstance(obj, generic.StreamObject) and reader.security_handler is None:
                # (decrypted data is shorter than /Length: the IV and padding are gone)
                length = obj.get("/Length")
                if isinstance(length, int) and len(obj.encoded_data) < length:
                    return Said(N_("object {num} is cut short"), num=ref.idnum)
    except RecursionError:
        return Said(N_("objects nested too deeply"))
    except Exception as exc:
        return first_line(exc)
    return None


def _defined_before(xrefs: Any, ref: Any, revision: int) -> bool:
    if revision == 0:
        return False
    try:
        return xrefs.get_historical_ref(ref, revision - 1) is not None
    except Exception:
        return False
