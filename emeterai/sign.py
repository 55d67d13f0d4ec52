"""PAdES signing of a stamp with pyHanko (SPEC §4 "Signature" and "Overlay").

The stamp picture becomes the appearance of the stamp's own signature field, written with the
signature in one incremental update, so the input stays a byte-for-byte prefix of the output and
earlier signatures keep validating. The SHA-256 digest of the original document travels inside
the CMS signed attributes (OID_DOCUMENT_DIGEST).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from asn1crypto import core, keys
from asn1crypto import x509 as ax509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import content, layout
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import CMSAttributeProvider
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from emeterai.errors import SigningError
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

# The CMS container is the certificates plus ~0.6 KB (signature, signed attributes, structure);
# an RFC 3161 token adds its own certificates. /Contents holds it hex-encoded.
CMS_OVERHEAD = 1024
TIMESTAMP_ALLOWANCE = 8192


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


@dataclass(frozen=True)
class SignOptions:
    field_name: str
    reason: str
    page_index: int
    rect: tuple[float, float, float, float]
    tsa_url: str | None = None
    password: str | None = None


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
    picture_pdf: bytes,
    document_digest: bytes,
    options: SignOptions,
    base_length: int | None = None,
    base_digest: bytes | None = None,
) -> bytes:
    """Sign ``data`` with ``stamp``; returns the whole output (``data`` + one incremental update).

    ``document_digest`` is the SHA-256 of the document as given; ``base_length`` (default: all
    of ``data``) is how much of the output it covers; ``base_digest`` is given only when ``data``
    is a rewrite of that document.
    """
    if base_length is None:
        base_length = len(data)
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
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
    style = StaticStampStyle(
        background=_PdfPageBytes(picture_pdf),
        border_width=0,
        background_opacity=1,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(),
            inner_content_scaling=layout.InnerScaling.STRETCH_FILL,
        ),
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
    out = io.BytesIO()
    pdf_signer.sign_pdf(
        writer,
        output=out,
        bytes_reserved=reserved_hex_digits(stamp, timestamper is not None),
    )
    return out.getvalue()
