"""PAdES signing of a stamp with pyHanko (SPEC §4 "Signature" and "Overlay").

The stamp picture becomes the appearance of the stamp's own signature field, written with the
signature in one incremental update, so the input stays a byte-for-byte prefix of the output and
earlier signatures keep validating. The SHA-256 digest of the original document travels inside
the CMS signed attributes (OID_DOCUMENT_DIGEST).
"""

from __future__ import annotations

import hmac
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from asn1crypto import core, keys
from asn1crypto import x509 as ax509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import content, generic, layout
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import CMSAttributeProvider
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from emeterai import speedups
from emeterai.errors import SigningError
from emeterai.render import StampAppearance
from emeterai.wallet import StampKey
from emeterai.x509util import OID_BASE_DIGEST, OID_BASE_LENGTH, OID_DOCUMENT_DIGEST


def _fix_pyhanko_name_escapes() -> None:
    """pyHanko writes a name byte below 0x10 as one hex digit ('/X#4' for '/X\\x04'), which no
    strict reader parses back (ISO 32000 7.3.5 wants two). Replace the writer with one that pads,
    only while the installed pyHanko still has the bug."""
    from pyhanko.pdf_utils import generic

    probe = io.BytesIO()
    generic.NameObject("/X\x04").write_to_stream(probe)
    if probe.getvalue() != b"/X#4":
        return

    def write_to_stream(
        self: Any, stream: Any, handler: Any = None, container_ref: Any = None
    ) -> None:
        raw = self.encode("utf8")
        if not raw.startswith(b"/"):
            raise generic.PdfWriteError(
                f"Could not serialise name object {self!r}, must start with /"
            )
        out = bytearray(b"/")
        for byte in raw[1:]:
            if byte == 0x23 or not 0x21 <= byte <= 0x7E or not generic.is_regular_character(byte):
                out += b"#%02X" % byte
            else:
                out.append(byte)
        stream.write(bytes(out))

    generic.NameObject.write_to_stream = write_to_stream  # type: ignore[method-assign]


_fix_pyhanko_name_escapes()

speedups.install()

# The CMS container is the certificates plus ~0.6 KB (signature, signed attributes, structure);
# an RFC 3161 token adds its own certificates. /Contents holds it hex-encoded.
CMS_OVERHEAD = 1024
TIMESTAMP_ALLOWANCE = 8192
_CHUNK = 1 << 20  # copy and digest the document a megabyte at a time, not pyHanko's 4 KB


def reserved_hex_digits(stamp: StampKey, timestamp: bool) -> int:
    """Room for /Contents, sized up front so pyHanko need not sign twice to estimate it."""
    der = len(stamp.certificate.public_bytes(serialization.Encoding.DER))
    der += sum(len(c.public_bytes(serialization.Encoding.DER)) for c in stamp.chain)
    # The issuer's name appears twice more: issuerAndSerialNumber and the ESS signing certificate.
    name = len(stamp.certificate.issuer.public_bytes())
    size = der + CMS_OVERHEAD + 2 * name + (TIMESTAMP_ALLOWANCE if timestamp else 0)
    return -(-2 * size // 256) * 256


class _Attribute(CMSAttributeProvider):
    """A fixed signed attribute under one of the project's OIDs."""

    def __init__(self, oid: str, value: Any) -> None:
        self.attribute_type = oid
        self.value = value

    async def build_attr_value(self, dry_run: bool = False) -> Any:
        return self.value


class _StampSigner(signers.SimpleSigner):
    """A SimpleSigner that adds the document binding as signed attributes."""

    def __init__(
        self,
        *args: Any,
        document_digest: bytes,
        base_length: int | None = None,
        base_digest: bytes | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._binding = [_Attribute(OID_DOCUMENT_DIGEST, core.OctetString(document_digest))]
        if base_length is not None:
            self._binding.append(_Attribute(OID_BASE_LENGTH, core.Integer(base_length)))
        if base_digest is not None:
            self._binding.append(_Attribute(OID_BASE_DIGEST, core.OctetString(base_digest)))

    def _signed_attr_providers(self, *args: Any, **kwargs: Any) -> Iterator[CMSAttributeProvider]:
        yield from super()._signed_attr_providers(*args, **kwargs)
        yield from self._binding


class _PdfPageBytes(content.PdfContent):
    """pyHanko's ImportedPdfPage, but from bytes in memory rather than a file name."""

    def __init__(self, pdf: bytes) -> None:
        super().__init__()
        self.pdf = pdf

    def render(self) -> bytes:
        writer = self._ensure_writer
        xobj = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(self.pdf)), page_ix=0)
        name = "/Import" + uuid.uuid4().hex
        self.resources.xobject[name] = xobj
        x1, y1, x2, y2 = (float(v) for v in xobj.get_object()["/BBox"])
        self.box = layout.BoxConstraints(width=abs(x2 - x1), height=abs(y2 - y1))
        return name.encode("ascii") + b" Do"


class PrefixChanged(ValueError):
    """The signer tried to change a byte of the document it was updating."""


class _UpdateOutput(io.RawIOBase):
    """The signer's output: the document (kept as given, not copied) plus the update's bytes.

    pyHanko copies its input to the output before appending, and seeks back to fill in
    /ByteRange and /Contents; here the copy of the prefix is only compared, and only the update
    is held in memory, so a 30 MB document is not held twice. A write that would change a byte
    of the prefix raises :class:`PrefixChanged`: the output extends the input, by construction.
    """

    def __init__(self, prefix: bytes) -> None:
        super().__init__()
        self._prefix = memoryview(prefix)
        self._size = len(prefix)
        self.tail = bytearray()
        self._pos = 0

    def holds(self, prefix: bytes) -> bool:
        """Is ``prefix`` (the very object) the document this output extends?"""
        return self._prefix.obj is prefix

    def skip_prefix(self) -> None:
        """Stand where pyHanko's copy of the prefix would have ended."""
        self._pos = self._size

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        end = self._size + len(self.tail)
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: end}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def write(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        n = len(view)
        pos = self._pos
        if pos < self._size:
            k = min(n, self._size - pos)
            if not hmac.compare_digest(self._prefix[pos : pos + k], view[:k]):  # C, no copies
                raise PrefixChanged("the update would change the document's own bytes")
            view = view[k:]
            pos += k
        if len(view):
            at = pos - self._size
            if at > len(self.tail):
                self.tail.extend(bytes(at - len(self.tail)))
            self.tail[at : at + len(view)] = view
            pos += len(view)
        self._pos = pos
        return n

    def readinto(self, b: Any) -> int:
        out = memoryview(b).cast("B")
        pos, done = self._pos, 0
        if pos < self._size:
            k = min(len(out), self._size - pos)
            out[:k] = self._prefix[pos : pos + k]
            done, pos = k, pos + k
        if done < len(out):
            at = pos - self._size
            chunk = self.tail[at : at + len(out) - done]
            out[done : done + len(chunk)] = chunk
            done += len(chunk)
            pos += len(chunk)
        self._pos = pos
        return done


class _AppearanceContent(content.PdfContent):
    """The stamp picture as a form XObject built directly from its drawing (no PDF to parse):
    the same content stream and standard-font resources the rendered picture page has."""

    def __init__(self, drawing: StampAppearance) -> None:
        super().__init__()
        self.drawing = drawing

    def render(self) -> bytes:
        writer = self._ensure_writer
        d = self.drawing
        fonts = generic.DictionaryObject()
        for name, base in d.fonts:
            fonts[generic.NameObject(name)] = writer.add_object(
                generic.DictionaryObject(
                    {
                        generic.NameObject("/Type"): generic.NameObject("/Font"),
                        generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
                        generic.NameObject("/BaseFont"): generic.NameObject("/" + base),
                        generic.NameObject("/Encoding"): generic.NameObject("/WinAnsiEncoding"),
                        generic.NameObject("/Name"): generic.NameObject(name),
                    }
                )
            )
        resources = generic.DictionaryObject(
            {
                generic.NameObject("/Font"): fonts,
                generic.NameObject("/ProcSet"): generic.ArrayObject(
                    generic.NameObject(n)
                    for n in ("/PDF", "/Text", "/ImageB", "/ImageC", "/ImageI")
                ),
            }
        )
        if d.ext_gstates:
            resources[generic.NameObject("/ExtGState")] = generic.DictionaryObject(
                {
                    generic.NameObject(name): generic.DictionaryObject(
                        {generic.NameObject(k): generic.FloatObject(v) for k, v in entries}
                    )
                    for name, entries in d.ext_gstates
                }
            )
        box = generic.ArrayObject(generic.FloatObject(v) for v in (0, 0, d.size_pt, d.size_pt))
        form = generic.StreamObject(
            {
                generic.NameObject("/BBox"): box,
                generic.NameObject("/Resources"): resources,
                generic.NameObject("/Type"): generic.NameObject("/XObject"),
                generic.NameObject("/Subtype"): generic.NameObject("/Form"),
            },
            stream_data=d.content,
        )
        form.compress()
        name = "/Import" + uuid.uuid4().hex
        self.resources.xobject[name] = writer.add_object(form)
        self.box = layout.BoxConstraints(width=d.size_pt, height=d.size_pt)
        return name.encode("ascii") + b" Do"


class _Writer(IncrementalPdfFileWriter):
    """An incremental writer told where the stamp's page is (and copying in large chunks).

    pyHanko finds page N by opening every page before it (twice per signature): a cost that
    grows with the page count. The analysis has already found the page in the same bytes, so
    its reference is used once it checks out: a /Page that its /Parent lists among its /Kids.
    """

    page_hint: tuple[int, int, int] | None = None  # (index, object number, generation)
    source: bytes | None = None  # the bytes the input stream reads
    IO_CHUNK_SIZE = _CHUNK

    def _write_header(self, stream: Any) -> None:
        """pyHanko copies the input to the output first; an output that already extends the
        very same bytes needs no copy."""
        if (
            isinstance(stream, _UpdateOutput)
            and self.source is not None
            and stream.holds(self.source)
        ):
            stream.skip_prefix()
            return
        super()._write_header(stream)

    def _update_meta(self) -> None:
        """pyHanko rewrites the document's XMP stream in place; the stamp writes the updated
        XMP as a new object instead, so that the stamp's revision changes no stream of the
        document (a stream may also serve as page content: see ``stamp_revision``)."""
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
            ref = generic.Reference(hint[1], hint[2], self)
            found = self._hinted_page(ref)
            if found is not None:
                return found
        return super()._walk_page_tree(page_ix, retrieve_parent)

    def _hinted_page(self, ref: generic.Reference) -> Any:
        """(page reference, inherited resources) for the hinted page, if it is a /Page whose
        position in the tree (counted as pyHanko counts, by the nodes' /Count) is the hinted
        index; None otherwise (the caller then walks the tree)."""
        try:
            page = self.get_object(ref)
            if not isinstance(page, generic.DictionaryObject) or page.get("/Type") != "/Page":
                return None
            if _index_in_tree(page, ref) != self.page_hint[0]:  # type: ignore[index]
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


def _index_in_tree(page: Any, ref: Any) -> int | None:
    """The index of ``page`` (object ``ref``) in its page tree, climbing its /Parent chain.

    At each level the siblings on the shorter side are counted (each a page, or a node of
    /Count pages), so a page near either end of a flat tree costs a handful of reads.
    """
    before = 0
    node, node_ref, own = page, ref, 1
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


@dataclass(frozen=True)
class SignOptions:
    field_name: str
    reason: str
    page_index: int
    rect: tuple[float, float, float, float]
    tsa_url: str | None = None
    password: str | None = None
    page_ref: tuple[int, int] | None = None  # the page's (object number, generation), if known


def _asn1_cert(cert: Any) -> ax509.Certificate:
    return ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def make_signer(
    stamp: StampKey,
    document_digest: bytes,
    base_length: int | None = None,
    base_digest: bytes | None = None,
) -> signers.SimpleSigner:
    key = keys.PrivateKeyInfo.load(
        stamp.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return _StampSigner(
        signing_cert=_asn1_cert(stamp.certificate),
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(c) for c in stamp.chain]),
        document_digest=document_digest,
        base_length=base_length,
        base_digest=base_digest,
    )


def sign(
    data: bytes,
    stamp: StampKey,
    picture: bytes | StampAppearance,
    document_digest: bytes,
    options: SignOptions,
    base_length: int | None = None,
    base_digest: bytes | None = None,
) -> bytes:
    """Sign ``data`` with ``stamp``; returns the whole output (``data`` + one incremental update).

    See :func:`sign_update`, which returns only the update.
    """
    return data + sign_update(
        data, stamp, picture, document_digest, options, base_length, base_digest
    )


def stamp_style(background: Any) -> StaticStampStyle:
    """pyHanko's appearance for a stamp: ``background`` stretched over the whole widget, no
    border or text (``picture_check`` expects exactly the frame this draws)."""
    from emeterai.picture_check import picture_layout

    return StaticStampStyle(
        background=background,
        border_width=0,
        background_opacity=1,
        background_layout=picture_layout(),
    )


def sign_update(
    data: bytes,
    stamp: StampKey,
    picture: bytes | StampAppearance,
    document_digest: bytes,
    options: SignOptions,
    base_length: int | None = None,
    base_digest: bytes | None = None,
) -> bytes:
    """Sign ``data`` with ``stamp``; returns the incremental update to append to ``data``.

    ``document_digest`` is the SHA-256 of the document as given; ``base_length`` (default: all
    of ``data``) is how much of the output it covers; ``base_digest`` is given only when ``data``
    is a rewrite of that document.
    """
    if base_length is None:
        base_length = len(data)
    writer = _Writer(io.BytesIO(data), strict=False)
    writer.source = data
    if options.page_ref is not None:
        writer.page_hint = (options.page_index, *options.page_ref)
    if writer.security_handler is not None:
        # The update is written under the document's own encryption; an empty user password
        # (owner-password-only protection) opens it like any reader does.
        result = writer.encrypt(options.password or "")
        if getattr(result, "status", None) is not None and result.status.name == "FAILED":
            if options.password is None:
                raise SigningError("the document is encrypted: give its password with --password")
            raise SigningError("wrong --password for the encrypted document")
    timestamper = None
    if options.tsa_url:
        from pyhanko.sign.timestamps import HTTPTimeStamper

        timestamper = HTTPTimeStamper(options.tsa_url)
    meta = signers.PdfSignatureMetadata(
        field_name=options.field_name,
        md_algorithm="sha256",
        reason=options.reason,
        subfilter=SigSeedSubFilter.PADES,
    )
    style = stamp_style(
        _PdfPageBytes(picture) if isinstance(picture, bytes) else _AppearanceContent(picture)
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=make_signer(stamp, document_digest, base_length, base_digest),
        stamp_style=style,
        timestamper=timestamper,
        new_field_spec=fields.SigFieldSpec(
            options.field_name,
            on_page=options.page_index,
            box=tuple(round(v, 3) for v in options.rect),  # type: ignore[arg-type]  # floats keep the exact place
        ),
    )
    out = _UpdateOutput(data)
    try:
        pdf_signer.sign_pdf(
            writer,
            output=out,
            bytes_reserved=reserved_hex_digits(stamp, timestamper is not None),
            chunk_size=_CHUNK,
        )
    except PrefixChanged as exc:
        raise SigningError(str(exc)) from exc
    return bytes(out.tail)
