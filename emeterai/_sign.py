"""PAdES signing of a stamp with pyHanko (docs/architecture.md, "Stamping").

The stamp picture becomes the appearance of the stamp's own signature field, written with the
signature in one incremental update, so the input stays a byte-for-byte prefix of the output and
earlier signatures keep validating. The SHA-256 digest of the original document travels inside
the CMS signed attributes (OID_DOCUMENT_DIGEST).
"""

from __future__ import annotations

import hmac
import io
import uuid
from dataclasses import dataclass
from typing import Any

from asn1crypto import core, keys
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import content, generic, layout
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import CMSAttributeProvider
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from emeterai import _pyhanko
from emeterai._render import StampAppearance
from emeterai._x509util import OID_BASE_DIGEST, OID_BASE_LENGTH, OID_DOCUMENT_DIGEST
from emeterai.errors import Hint, SigningError
from emeterai.i18n import N_
from emeterai.wallet import StampKey

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


PREFIX_CHANGED = N_("the update would change the document's own bytes")


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
                raise PrefixChanged(PREFIX_CHANGED)
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


@dataclass(frozen=True)
class SignOptions:
    field_name: str
    reason: str
    page_index: int
    rect: tuple[float, float, float, float]
    tsa_url: str | None = None
    password: str | None = None
    page_ref: tuple[int, int] | None = None  # the page's (object number, generation), if known


def _asn1_cert(cert: x509.Certificate) -> ax509.Certificate:
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
    binding = [_Attribute(OID_DOCUMENT_DIGEST, core.OctetString(document_digest))]
    if base_length is not None:
        binding.append(_Attribute(OID_BASE_LENGTH, core.Integer(base_length)))
    if base_digest is not None:
        binding.append(_Attribute(OID_BASE_DIGEST, core.OctetString(base_digest)))
    signer: signers.SimpleSigner = _pyhanko.BindingSigner(
        signing_cert=_asn1_cert(stamp.certificate),
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(c) for c in stamp.chain]),
        extra=binding,
    )
    return signer


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


def stamp_style(background: content.PdfContent) -> StaticStampStyle:
    """pyHanko's appearance for a stamp: ``background`` stretched over the whole widget, no
    border or text (``picture_check`` expects exactly the frame this draws)."""
    from emeterai._picture_check import picture_layout

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
    with _pyhanko.patched():
        writer = _writer(data, options)
        _embed_validation_data(writer, stamp)
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
            raise SigningError(PREFIX_CHANGED) from exc
    return bytes(out.tail)


def _embed_validation_data(writer: _pyhanko.StampWriter, stamp: StampKey) -> None:
    """The stamp's chain and its issuer's CRL in a new DSS of the stamp's own revision, so the
    output carries what a verifier needs offline. A document that already has a DSS (an
    earlier party's) keeps it unchanged: the stamp's revision never rewrites an object of it."""
    if stamp.crl is None or "/DSS" in writer.root:
        return
    from asn1crypto import crl as acrl
    from asn1crypto import x509 as ax509
    from cryptography.hazmat.primitives.serialization import Encoding
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    certs = [
        ax509.Certificate.load(c.public_bytes(Encoding.DER))
        for c in (stamp.certificate, *stamp.chain)
    ]
    DocumentSecurityStore.supply_dss_in_writer(
        writer, None, certs=certs, crls=[acrl.CertificateList.load(stamp.crl)]
    )


def _writer(data: bytes, options: SignOptions) -> _pyhanko.StampWriter:
    """The incremental writer over ``data``, told the page and opened with the document's
    password when it is encrypted."""
    writer = _pyhanko.StampWriter(io.BytesIO(data), strict=False)
    writer.source = data
    if options.page_ref is not None:
        writer.page_hint = (options.page_index, *options.page_ref)
    if writer.security_handler is not None:
        # The update is written under the document's own encryption; an empty user password
        # (owner-password-only protection) opens it like any reader does.
        result = writer.encrypt(options.password or "")
        if getattr(result, "status", None) is not None and result.status.name == "FAILED":
            if options.password is None:
                raise SigningError(
                    N_("the document is encrypted: it needs its password"), hint=Hint.PASSWORD
                )
            raise SigningError(N_("wrong password for the encrypted document"), hint=Hint.PASSWORD)
    return writer
