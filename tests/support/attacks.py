"""Attack documents for the verify tests, built with real tools (pypdf, pyHanko, reportlab).

Every function takes and returns PDF bytes (or writes a file) so that tests can chain them:
stamp a document with the library, then tamper with it the way a fraudster would. Nothing here
mocks PDF or cryptographic parts; the stamp keys are real stamp keys (from a wallet or made with
an issuer CA key), and signatures are made by pyHanko.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from emeterai._render import render
from emeterai.issuer import Issuer
from emeterai.wallet import StampKey

MM = 72 / 25.4

# -- documents --------------------------------------------------------------------------------


def make_letter(path: Path, lines: list[str] | None = None, compress: bool = False) -> Path:
    """A one-page A4 letter with a "Meterai" placeholder; page content uncompressed by default,
    so that tests can change one meaningful byte of it (a digit of an amount)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    c = Canvas(str(path), pagesize=A4, invariant=1, pageCompression=1 if compress else 0)
    y = 780.0
    for line in lines or [
        "Surakarta, 2 September 2024",
        "Perihal: Lamaran CPNS",
        "Dengan hormat, saya mengajukan lamaran. Gaji yang diminta: Rp10.000.000",
    ]:
        c.drawString(72, y, line)
        y -= 18
    c.drawString(420, 200, "Meterai")
    c.drawString(420, 120, "Rina Ayu Lestari")
    c.showPage()
    c.save()
    return path


# -- bytes inside the signed range ------------------------------------------------------------


def byte_ranges(data: bytes) -> list[list[int]]:
    """The /ByteRange arrays of all signatures, in file order (raw parse, no PDF library)."""
    return [
        [int(v) for v in m.group(1).split()]
        for m in re.finditer(rb"/ByteRange\s*\[([\d\s]+)\]", data)
    ]


def change_byte(data: bytes, offset: int) -> bytes:
    """``data`` with the byte at ``offset`` replaced by a different byte of the same kind
    (a digit by a digit, an ASCII85 character by an ASCII85 character)."""
    old = data[offset]
    if 0x30 <= old <= 0x39:
        new = 0x30 + (old - 0x30 + 1) % 10
    else:
        new = old + 1 if old + 1 <= ord("u") else old - 1
    assert new != old
    return data[:offset] + bytes([new]) + data[offset + 1 :]


def content_stream_offset(original: bytes, page_index: int = 0) -> tuple[int, int]:
    """(start, end) byte offsets of the raw data of a page's first content stream in the
    *original* document (which stays a prefix of the stamped file)."""
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(original))
    contents = reader.pages[page_index].raw_get("/Contents")
    if isinstance(contents, pypdf.generic.ArrayObject):
        contents = contents[0]
    num = contents.idnum
    header = re.search(rb"(?:^|[\r\n])%d 0 obj" % num, original)
    assert header is not None, f"object {num} not found"
    start = original.index(b"stream", header.end())
    start += len(b"stream")
    while original[start : start + 1] in (b"\r", b"\n"):
        start += 1
    end = original.index(b"endstream", start)
    return start, end


def change_page_content_byte(stamped: bytes, original: bytes, needle: bytes | None = None) -> bytes:
    """Change one byte of the original page content inside the stamped file: at ``needle``
    (first occurrence inside the content stream) or in the middle of the stream."""
    start, end = content_stream_offset(original)
    offset = (start + end) // 2 if needle is None else stamped.index(needle, start, end)
    ranges = byte_ranges(stamped)
    assert ranges and offset < ranges[0][1], "the byte must lie inside the signed range"
    return change_byte(stamped, offset)


# -- incremental updates after stamping -------------------------------------------------------


def _incremental(data: bytes, change: Callable[[Any], None]) -> bytes:
    """``data`` + one incremental update written by pypdf after ``change(writer)``."""
    import pypdf

    writer = pypdf.PdfWriter(io.BytesIO(data), incremental=True)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    result = out.getvalue()
    assert result.startswith(data), "pypdf did not write an incremental update"
    assert len(result) > len(data)
    return result


def append_page_text(stamped: bytes, text: str = "DISETUJUI Rp 99.000.000") -> bytes:
    """An incremental update that adds a line of text to page 1's content stream."""
    from pypdf.generic import ContentStream, DictionaryObject, NameObject

    def change(writer: Any) -> None:
        page = writer.pages[0]
        content = page.get_contents()
        assert content is not None
        extra = f"\nBT /FAtk 14 Tf 72 500 Td ({text}) Tj ET\n".encode("latin-1")
        stream = ContentStream(None, None)
        stream.set_data(content.get_data() + extra)
        page.replace_contents(stream)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica-Bold"),
            }
        )
        resources = page["/Resources"].get_object()
        fonts = resources.get("/Font")
        if fonts is None:
            resources[NameObject("/Font")] = DictionaryObject()
            fonts = resources["/Font"]
        fonts.get_object()[NameObject("/FAtk")] = writer._add_object(font)

    return _incremental(stamped, change)


def replace_content_object(stamped: bytes, new_content: bytes) -> bytes:
    """An incremental update that redefines the page's existing content stream object (same
    object number, new data): the "replaced objects" attack."""
    from pypdf.generic import NameObject, StreamObject

    def change(writer: Any) -> None:
        ref = writer.pages[0].raw_get("/Contents")
        obj = ref.get_object()
        assert isinstance(obj, StreamObject)
        for key in ("/Filter", "/DecodeParms"):
            obj.pop(NameObject(key), None)
        obj._data = new_content
        obj.decoded_self = None

    return _incremental(stamped, change)


SHADOW_TEXT = "Gaji yang diminta: Rp99.000.000"


def plant_shadow_content(original: bytes, text: str = SHADOW_TEXT) -> tuple[bytes, int]:
    """Before stamping ("hide"): add an unused alternative content stream to the document,
    kept alive from the catalog under a private key as attackers do; returns the new document
    and the planted object's number. The page itself is unchanged."""
    from pypdf.generic import DecodedStreamObject, NameObject

    planted: list[int] = []

    def change(writer: Any) -> None:
        page = writer.pages[0]
        current = page.get_contents()
        assert current is not None
        stream = DecodedStreamObject()
        stream.set_data(
            current.get_data() + f"\nBT /F1 16 Tf 72 480 Td ({text}) Tj ET\n".encode("latin-1")
        )
        ref = writer._add_object(stream)
        writer._root_object[NameObject("/PieceInfoShadow")] = ref
        planted.append(ref.idnum)

    return _incremental(original, change), planted[0]


def swap_page_contents(stamped: bytes, object_number: int) -> bytes:
    """After stamping ("replace"): an incremental update pointing page 1's /Contents at the
    planted object."""
    from pypdf.generic import IndirectObject, NameObject

    def change(writer: Any) -> None:
        page = writer.pages[0]
        page[NameObject("/Contents")] = IndirectObject(object_number, 0, writer)

    return _incremental(stamped, change)


def _stamp_widget_ref(writer: Any) -> Any:
    for ref in writer._root_object["/AcroForm"]["/Fields"]:
        obj = ref.get_object()
        if str(obj.get("/T", "")).startswith("eMeterai"):
            kids = obj.get("/Kids")
            return kids[0] if kids else ref
    raise AssertionError("no stamp field")


def edit_stamp_widget(stamped: bytes, change: Callable[[Any], None]) -> bytes:
    """An incremental update that edits the stamp's widget annotation with ``change(widget)``."""

    def edit(writer: Any) -> None:
        change(_stamp_widget_ref(writer).get_object())

    return _incremental(stamped, edit)


def set_widget_flags(stamped: bytes, flags: int) -> bytes:
    """An incremental update that changes the stamp widget's /F (annotation flags)."""
    from pypdf.generic import NameObject, NumberObject

    def change(widget: Any) -> None:
        widget[NameObject("/F")] = NumberObject(flags)

    return edit_stamp_widget(stamped, change)


def move_widget(stamped: bytes, rect: tuple[float, float, float, float]) -> bytes:
    """An incremental update that moves the stamp widget to ``rect``."""
    from pypdf.generic import ArrayObject, FloatObject, NameObject

    def change(widget: Any) -> None:
        widget[NameObject("/Rect")] = ArrayObject([FloatObject(v) for v in rect])

    return edit_stamp_widget(stamped, change)


def drop_appearance(stamped: bytes) -> bytes:
    """An incremental update that removes the stamp widget's appearance (/AP)."""

    def change(widget: Any) -> None:
        del widget["/AP"]

    return edit_stamp_widget(stamped, change)


def swap_appearance(stamped: bytes, content: bytes = b"") -> bytes:
    """An incremental update that gives the stamp widget another normal appearance (a new form
    XObject drawing ``content``, blank by default): the swapped-appearance attack."""
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        StreamObject,
    )

    def change(writer: Any) -> None:
        widget = _stamp_widget_ref(writer).get_object()
        x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
        form = StreamObject()
        form.set_data(content)
        form.update(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Form"),
                NameObject("/BBox"): ArrayObject(
                    [FloatObject(0), FloatObject(0), FloatObject(x1 - x0), FloatObject(y1 - y0)]
                ),
            }
        )
        widget[NameObject("/AP")] = DictionaryObject({NameObject("/N"): writer._add_object(form)})

    return _incremental(stamped, change)


def add_annotation_over_page(stamped: bytes, text: str = "LUNAS") -> bytes:
    """An incremental update that adds a FreeText annotation on page 1 (e.g. over the text)."""
    from pypdf.annotations import FreeText

    def change(writer: Any) -> None:
        writer.add_annotation(0, FreeText(text=text, rect=(72, 600, 300, 640)))

    return _incremental(stamped, change)


def add_file_attachment(stamped: bytes) -> bytes:
    """An incremental update that attaches a file to page 1 through a FileAttachment
    annotation (its paperclip icon is drawn on the page; the file travels with the letter)."""
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    def change(writer: Any) -> None:
        data = DecodedStreamObject()
        data.set_data(b"surat asli yang sebenarnya")
        data[NameObject("/Type")] = NameObject("/EmbeddedFile")
        spec = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Filespec"),
                NameObject("/F"): TextStringObject("asli.txt"),
                NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(data)}),
            }
        )
        annot = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/FileAttachment"),
                NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (60, 700, 80, 720)]),
                NameObject("/F"): NumberObject(4),
                NameObject("/FS"): writer._add_object(spec),
                NameObject("/Contents"): TextStringObject("asli.txt"),
            }
        )
        page = writer.pages[0]
        annots = page.get("/Annots")
        ref = writer._add_object(annot)
        if annots is None:
            page[NameObject("/Annots")] = ArrayObject([ref])
        else:
            annots.get_object().append(ref)

    return _incremental(stamped, change)


def add_direct_annotation(stamped: bytes, text: str = "LUNAS", change_first: bool = False) -> bytes:
    """An incremental update that writes a FreeText annotation *directly* into page 1's
    /Annots array (no reference), or (``change_first``) rewrites the page's first direct
    annotation's text in place."""
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    def change(writer: Any) -> None:
        page = writer.pages[0]
        annots = page["/Annots"].get_object()
        if change_first:
            first = next(a for a in annots if not hasattr(a, "idnum"))
            first[NameObject("/Contents")] = TextStringObject(text)
        else:
            annots.append(
                DictionaryObject(
                    {
                        NameObject("/Type"): NameObject("/Annot"),
                        NameObject("/Subtype"): NameObject("/FreeText"),
                        NameObject("/Rect"): ArrayObject(
                            [FloatObject(v) for v in (72, 600, 300, 640)]
                        ),
                        NameObject("/F"): NumberObject(4),
                        NameObject("/DA"): TextStringObject("/Helv 24 Tf 0 g"),
                        NameObject("/Contents"): TextStringObject(text),
                    }
                )
            )
        page[NameObject("/Annots")] = annots

    return _incremental(stamped, change)


def change_metadata(stamped: bytes, title: str = "Lamaran (final)") -> bytes:
    """An incremental update that changes only the document information dictionary."""

    def change(writer: Any) -> None:
        writer.add_metadata({"/Title": title})

    return _incremental(stamped, change)


# -- keys and certificates --------------------------------------------------------------------


def self_signed(name: str = "Budi Santoso") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-made personal signing key and certificate (not a stamp)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def stamp_key_from_issuer(
    issuer: Issuer,
    passphrase: str,
    serial: str,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    value: int = 10000,
) -> StampKey:
    """A stamp key whose certificate ``issuer`` signs for ``serial`` (any serial, even one the
    issuer never sold, or one of another issuer), with the given validity period."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ca_key = issuer._key(passphrase)
    key = ec.generate_private_key(ec.SECP256R1())
    root_ski = issuer.root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski)
    cert = issuer._stamp_certificate(
        ca_key,
        key,
        serial,
        x509.random_serial_number(),
        value,
        not_before or now - dt.timedelta(minutes=5),
        not_after or now + dt.timedelta(days=30),
        aki,
    )
    return StampKey(serial, key, cert, (issuer.root,))


# -- signing ----------------------------------------------------------------------------------


def picture(
    serial: str, document_sha256: str, issuer_name: str = "Test Issuer", specimen: bool = True
) -> bytes:
    """The genuine-looking stamp picture for ``serial`` on a document (one-page PDF)."""
    return render(serial, 10000, issuer_name, document_sha256, specimen=specimen).pdf


def _is_specimen(key: StampKey) -> bool:
    """The specimen flag the key's stamp certificate carries (what the product draws)."""
    from emeterai._x509util import stamp_info

    return stamp_info(key.certificate).specimen


def stamp_with_key(
    data: bytes,
    key: StampKey,
    *,
    picture_serial: str | None = None,
    reason_serial: str | None = None,
    claimed_sha256: str | None = None,
    picture_sha256: str | None = None,
    rect: tuple[float, float, float, float] = (412.5, 148.8, 483.4, 219.7),
    page_index: int = 0,
    field_name: str | None = None,
) -> bytes:
    """Sign ``data`` through ``emeterai._sign.sign`` with ``key``: a stamp exactly like the
    product makes, except that the picture and /Reason may name other serials, the signed
    attributes may claim another original document (``claimed_sha256``), and the picture's
    QR code may carry another document's digest (``picture_sha256``; default: the claimed
    one)."""
    from emeterai._sign import SignOptions, sign

    digest = claimed_sha256 or hashlib.sha256(data).hexdigest()
    shown = picture_serial or key.serial
    return sign(
        data,
        key,
        picture(shown, picture_sha256 or digest, specimen=_is_specimen(key)),
        bytes.fromhex(digest),
        SignOptions(
            field_name=field_name or f"eMeterai_{shown}",
            reason=f"[{reason_serial or key.serial}] e-Meterai Rp10000",
            page_index=page_index,
            rect=rect,
        ),
    )


def stamp_with_field(
    data: bytes,
    key: StampKey,
    *,
    rect: tuple[float, float, float, float] = (412.5, 148.8, 483.4, 219.7),
    print_flag: bool = True,
    tweak_widget: Callable[[Any, Any], None] | None = None,
) -> bytes:
    """A stamp signed by pyHanko like ``emeterai._sign.sign`` (same picture, signer, /Reason,
    document digest), but into a field created here, so that the *signed* revision itself can
    carry a wrong widget: not printable, hidden (``tweak_widget(writer, widget)``), off the page.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.fields import SigSeedSubFilter

    from emeterai._sign import _PdfPageBytes, make_signer, stamp_style

    digest = hashlib.sha256(data).hexdigest()
    name = f"eMeterai_{key.serial}"
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    fields.append_signature_field(
        writer,
        fields.SigFieldSpec(
            name,
            on_page=0,
            box=rect,  # type: ignore[arg-type]
            visible_sig_settings=fields.VisibleSigSettings(print_signature=print_flag),
        ),
    )
    if tweak_widget is not None:
        for ref in writer.root["/AcroForm"]["/Fields"]:
            field = ref.get_object()
            if field.get("/T") == name:
                tweak_widget(writer, field)
                writer.update_container(field)
                break
        else:
            raise AssertionError("field not created")
    style = stamp_style(_PdfPageBytes(picture(key.serial, digest)))
    meta = signers.PdfSignatureMetadata(
        field_name=name,
        md_algorithm="sha256",
        reason=f"[{key.serial}] e-Meterai Rp10000",
        subfilter=SigSeedSubFilter.PADES,
    )
    out = io.BytesIO()
    signers.PdfSigner(
        meta, signer=make_signer(key, bytes.fromhex(digest), len(data)), stamp_style=style
    ).sign_pdf(writer, output=out, bytes_reserved=16384)
    return out.getvalue()


def hidden_widget(writer: Any, field: Any) -> None:
    """``tweak_widget`` for :func:`stamp_with_field`: Hidden + Print flags."""
    from pyhanko.pdf_utils import generic

    field[generic.pdf_name("/F")] = generic.NumberObject(0b110)


def widget_on_optional_layer(writer: Any, field: Any) -> None:
    """``tweak_widget`` for :func:`stamp_with_field`: the widget belongs to an optional-content
    group (a layer the reader can switch off)."""
    from pyhanko.pdf_utils import generic

    ocg = writer.add_object(
        generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/OCG"),
                generic.pdf_name("/Name"): generic.pdf_string("Meterai"),
            }
        )
    )
    writer.root[generic.pdf_name("/OCProperties")] = generic.DictionaryObject(
        {
            generic.pdf_name("/OCGs"): generic.ArrayObject([ocg]),
            generic.pdf_name("/D"): generic.DictionaryObject(
                {generic.pdf_name("/OFF"): generic.ArrayObject([ocg])}
            ),
        }
    )
    writer.update_root()
    field[generic.pdf_name("/OC")] = ocg


def cosign(data: bytes, name: str = "Budi Santoso", field: str = "Signature2") -> bytes:
    """A genuine later signature (PAdES, incremental, new visible field) by someone's own key."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.fields import SigSeedSubFilter

    signer = _pyhanko_signer(name)
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    out = io.BytesIO()
    signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name=field, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES
        ),
        signer=signer,
        new_field_spec=fields.SigFieldSpec(field, on_page=0, box=(72, 72, 272, 122)),
    ).sign_pdf(writer, output=out)
    return out.getvalue()


def resign_byte_range(stamped: bytes, key: StampKey, new_range: list[int]) -> bytes:
    """The stamp holder's own coverage anomaly: rewrite the stamp's /ByteRange to
    ``new_range`` (same width in the file) and sign the bytes it now names with the genuine
    stamp key, so the CMS signature itself is correct for the odd range."""

    from emeterai._sign import make_signer

    m = list(re.finditer(rb"/ByteRange\s*\[([\d\s]+)\]", stamped))[-1]
    old_len = m.end(1) - m.start(1)
    text = " ".join(str(v) for v in new_range).encode()
    assert len(text) <= old_len, "new /ByteRange does not fit"
    text = text + b" " * (old_len - len(text))
    doc = stamped[: m.start(1)] + text + stamped[m.end(1) :]
    # the /Contents hex string of the last signature: from the first '<' after '/Contents'
    contents = list(re.finditer(rb"/Contents\s*<([0-9a-fA-F]+)>", doc))[-1]
    covered = b"".join(
        doc[new_range[i] : new_range[i] + new_range[i + 1]] for i in range(0, len(new_range), 2)
    )
    document_digest = bytes.fromhex(_recorded_document_digest(stamped))
    signer = make_signer(key, document_digest, _recorded_base_length(stamped))
    cms = asyncio.run(signer.async_sign(hashlib.sha256(covered).digest(), "sha256", use_pades=True))
    der = cms.dump().hex().encode()
    width = contents.end(1) - contents.start(1)
    assert len(der) <= width
    der = der + b"0" * (width - len(der))
    return doc[: contents.start(1)] + der + doc[contents.end(1) :]


def _recorded_base_length(stamped: bytes) -> int:
    from asn1crypto import core
    from pyhanko.pdf_utils.reader import PdfFileReader

    from emeterai._x509util import OID_BASE_LENGTH
    from emeterai.verify import _attribute

    reader = PdfFileReader(io.BytesIO(stamped), strict=False)
    length = _attribute(reader.embedded_signatures[-1], OID_BASE_LENGTH, core.Integer)
    assert isinstance(length, int)
    return length


def _recorded_document_digest(stamped: bytes) -> str:
    from pyhanko.pdf_utils.reader import PdfFileReader

    from emeterai.verify import _document_digest

    reader = PdfFileReader(io.BytesIO(stamped), strict=False)
    digest = _document_digest(reader.embedded_signatures[-1])
    assert digest is not None
    return digest


def with_crop_box(
    data: bytes, box: tuple[float, float, float, float], inherited: bool = False
) -> bytes:
    """``data`` rewritten by pypdf with a CropBox on page 1 (or on the page tree's root, from
    which every page inherits it)."""
    import pypdf
    from pypdf.generic import NameObject, RectangleObject

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    if inherited:
        writer._root_object["/Pages"][NameObject("/CropBox")] = RectangleObject(box)
    else:
        writer.pages[0].cropbox = RectangleObject(box)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypt(data: bytes, password: str) -> bytes:
    """``data`` rewritten by pypdf with AES-256 encryption under ``password``."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.encrypt(password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- pictures without signatures --------------------------------------------------------------


def paste_picture(
    target: bytes, picture_pdf: bytes, at: tuple[float, float] = (412.5, 148.8)
) -> bytes:
    """The stamp picture merged into page 1's content of ``target``: no signature at all."""
    import pypdf
    from pypdf import Transformation

    reader = pypdf.PdfReader(io.BytesIO(target))
    writer = pypdf.PdfWriter(clone_from=reader)
    stamp_page = pypdf.PdfReader(io.BytesIO(picture_pdf)).pages[0]
    writer.pages[0].merge_transformed_page(stamp_page, Transformation().translate(*at))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def print_and_scan(pdf: Path, workdir: Path, dpi: int = 150) -> bytes:
    """A stamped letter printed and scanned: rendered by pdftoppm, wrapped back into a PDF by
    reportlab as one image per page."""
    from PIL import Image
    from reportlab.pdfgen.canvas import Canvas

    prefix = workdir / "scan"
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True, timeout=120
    )
    images = sorted(workdir.glob("scan*.png"))
    assert images, "pdftoppm produced no image"
    out = io.BytesIO()
    c = Canvas(out)
    for image in images:
        with Image.open(image) as im:
            w, h = im.size
        size = (w * 72 / dpi, h * 72 / dpi)
        c.setPageSize(size)
        c.drawImage(str(image), 0, 0, width=size[0], height=size[1])
        c.showPage()
    c.save()
    return out.getvalue()


def resign_byte_range_text(
    stamped: bytes, stamp: Any, make: Callable[[int, int, int], tuple[bytes, list[tuple[int, int]]]]
) -> bytes:
    """The stamped file with its /ByteRange rewritten as text (``make(a, b, c)`` gives the text
    and the (offset, length) pieces really signed; a, b, c are the honest values) and re-signed
    with the genuine stamp key over exactly those pieces: the CMS is correct, the range is not.
    /Contents is shortened a little to give a longer /ByteRange text room."""
    from emeterai._sign import make_signer

    br = list(re.finditer(rb"/ByteRange\s*\[([^\]]+)\]", stamped))[-1]
    contents = list(re.finditer(rb"/Contents\s*<([0-9a-fA-F]+)>", stamped))[-1]
    assert contents.end() < br.start(), "expected /Contents before /ByteRange"
    a = contents.start(1) - 1
    size = len(stamped)
    room = br.end(1) - br.start(1)
    for shrink in range(0, 40, 2):
        b = a + (contents.end(1) - contents.start(1) - shrink) + 2
        text, pieces = make(a, b, size - b)
        if len(text) <= room + shrink:
            break
    text += b" " * (room + shrink - len(text))
    zeros = b"0" * (contents.end(1) - contents.start(1) - shrink)
    doc = (
        stamped[: contents.start(1)]
        + zeros
        + stamped[contents.end(1) : br.start(1)]
        + text
        + stamped[br.end(1) :]
    )
    assert len(doc) == size
    covered = b"".join(doc[lo : lo + n] for lo, n in pieces)
    signer = make_signer(
        stamp,
        bytes.fromhex(_recorded_document_digest(stamped)),
        _recorded_base_length(stamped),
    )
    cms = asyncio.run(signer.async_sign(hashlib.sha256(covered).digest(), "sha256", use_pades=True))
    der = cms.dump().hex().encode()
    assert len(der) <= len(zeros)
    der += b"0" * (len(zeros) - len(der))
    return doc[: contents.start(1)] + der + doc[contents.start(1) + len(zeros) :]


# -- what changed after a stamp: fields, form state, annotation order (docs/security.md, 2-4) --------

NIK_RECT = (230.0, 563.0, 335.0, 580.0)  # the applicant's NIK on the sample letter, in points
WHITE_BOX = b"q 1 1 1 rg 0 0 %.2f %.2f re f Q"


def _form(writer: Any, rect: tuple[float, float, float, float], content: bytes | None) -> Any:
    """An indirect form XObject the size of ``rect`` drawing ``content`` (default: white)."""
    from pypdf.generic import ArrayObject, FloatObject, NameObject, StreamObject

    w, h = rect[2] - rect[0], rect[3] - rect[1]
    form = StreamObject()
    form.set_data(content if content is not None else WHITE_BOX % (w, h))
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject([FloatObject(v) for v in (0, 0, w, h)]),
        }
    )
    return writer._add_object(form)


def _add_widget_field(
    writer: Any,
    rect: tuple[float, float, float, float],
    entries: dict[str, Any],
    content: bytes | None = None,
    page_index: int = 0,
) -> Any:
    """Add a merged field/widget dictionary on a page and in /AcroForm /Fields (pypdf)."""
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, NumberObject

    page = writer.pages[page_index]
    field = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in rect]),
            NameObject("/F"): NumberObject(4),
            NameObject("/P"): page.indirect_reference,
        }
    )
    if content is not False:
        field[NameObject("/AP")] = DictionaryObject(
            {NameObject("/N"): _form(writer, rect, content)}
        )
    field.update({NameObject(k): v for k, v in entries.items()})
    ref = writer._add_object(field)
    if "/Annots" not in page:
        page[NameObject("/Annots")] = ArrayObject()
    page["/Annots"].get_object().append(ref)
    root = writer._root_object
    if "/AcroForm" not in root:
        root[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): ArrayObject()})
    root["/AcroForm"].get_object()["/Fields"].get_object().append(ref)
    return ref


def unsigned_field_painting(
    stamped: bytes, rect: tuple[float, float, float, float], content: bytes | None = None
) -> bytes:
    """An incremental update adding an *unsigned* signature field whose appearance paints
    ``content`` (a white box by default) over ``rect``."""
    from pypdf.generic import NameObject, TextStringObject

    def change(writer: Any) -> None:
        _add_widget_field(
            writer,
            rect,
            {"/FT": NameObject("/Sig"), "/T": TextStringObject("Paraf")},
            content,
        )

    return _incremental(stamped, change)


def unsigned_field_without_appearance(stamped: bytes) -> bytes:
    """An incremental update adding an empty, invisible signature field (allowed)."""
    from pypdf.generic import NameObject, TextStringObject

    def change(writer: Any) -> None:
        _add_widget_field(
            writer,
            (0, 0, 0, 0),
            {"/FT": NameObject("/Sig"), "/T": TextStringObject("SignHere")},
            False,  # type: ignore[arg-type]
        )

    return _incremental(stamped, change)


def _pyhanko_signer(name: str) -> Any:
    from asn1crypto import keys
    from asn1crypto import x509 as ax509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key, cert = self_signed(name)
    return signers.SimpleSigner(
        signing_cert=ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=SimpleCertificateStore(),
    )


def white_pdf() -> bytes:
    """A one-page PDF that is a white square: a signature background that hides what is under it."""
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(100, 100), invariant=1)
    c.setFillColorRGB(1, 1, 1)
    c.rect(0, 0, 100, 100, stroke=0, fill=1)
    c.showPage()
    c.save()
    return buf.getvalue()


def self_signed_field(
    data: bytes,
    rect: tuple[float, float, float, float],
    *,
    background: bytes | None = None,
    tweak: Callable[[Any, Any], None] | None = None,
    name: str = "Budi Santoso",
    field: str = "Signature2",
) -> bytes:
    """A later signature by a self-made key, in one pyHanko incremental update, into a field
    made here at ``rect``: its appearance shows ``background`` (a one-page PDF, e.g. a white
    square or a copy of the stamp picture), and ``tweak(writer, field)`` may add to the field
    or the document (actions, kids, embedded files) inside the signed revision."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.fields import SigSeedSubFilter

    from emeterai._sign import _PdfPageBytes, stamp_style

    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    fields.append_signature_field(writer, fields.SigFieldSpec(field, on_page=0, box=rect))  # type: ignore[arg-type]
    if tweak is not None:
        for ref in writer.root["/AcroForm"]["/Fields"]:
            obj = ref.get_object()
            if obj.get("/T") == field:
                tweak(writer, obj)
                writer.update_container(obj)
                break
    style = None
    if background is not None:
        style = stamp_style(_PdfPageBytes(background))
    out = io.BytesIO()
    signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name=field, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES
        ),
        signer=_pyhanko_signer(name),
        stamp_style=style,
    ).sign_pdf(writer, output=out)
    return out.getvalue()


def uri_action(writer: Any, field: Any) -> None:
    """``tweak`` for :func:`self_signed_field`: clicking the signature opens a web page."""
    from pyhanko.pdf_utils import generic

    field[generic.pdf_name("/A")] = generic.DictionaryObject(
        {
            generic.pdf_name("/S"): generic.pdf_name("/URI"),
            generic.pdf_name("/URI"): generic.pdf_string("https://example.invalid/verify"),
        }
    )


def javascript_aa(writer: Any, field: Any) -> None:
    """``tweak`` for :func:`self_signed_field`: JavaScript run when the page opens."""
    from pyhanko.pdf_utils import generic

    field[generic.pdf_name("/AA")] = generic.DictionaryObject(
        {
            generic.pdf_name("/PO"): generic.DictionaryObject(
                {
                    generic.pdf_name("/S"): generic.pdf_name("/JavaScript"),
                    generic.pdf_name("/JS"): generic.pdf_string("app.alert('sah')"),
                }
            )
        }
    )


def embedded_file(writer: Any, field: Any) -> None:
    """``tweak`` for :func:`self_signed_field`: an attachment in the document's names tree."""
    from pyhanko.pdf_utils import generic

    ef = generic.StreamObject(
        generic.DictionaryObject({generic.pdf_name("/Type"): generic.pdf_name("/EmbeddedFile")}),
        stream_data=b"surat asli yang sebenarnya",
    )
    spec = writer.add_object(
        generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Filespec"),
                generic.pdf_name("/F"): generic.pdf_string("asli.txt"),
                generic.pdf_name("/EF"): generic.DictionaryObject(
                    {generic.pdf_name("/F"): writer.add_object(ef)}
                ),
            }
        )
    )
    writer.root[generic.pdf_name("/Names")] = generic.DictionaryObject(
        {
            generic.pdf_name("/EmbeddedFiles"): generic.DictionaryObject(
                {
                    generic.pdf_name("/Names"): generic.ArrayObject(
                        [generic.pdf_string("asli.txt"), spec]
                    )
                }
            )
        }
    )
    writer.update_root()


def prepare_text_field(
    path: Path, value: str = "DIBATALKAN", rect: tuple[float, float, float, float] = NIK_RECT
) -> Path:
    """Rewrite ``path`` (before stamping) with a text field whose /V is ``value`` but whose
    appearance is empty: nothing shows, until a reader is told to redraw fields."""
    import pypdf
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = pypdf.PdfWriter(clone_from=str(path))
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica-Bold"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
    )
    _add_widget_field(
        writer,
        rect,
        {
            "/FT": NameObject("/Tx"),
            "/T": TextStringObject("catatan"),
            "/V": TextStringObject(value),
            "/DA": TextStringObject("/HeBo 12 Tf 1 0 0 rg"),
        },
        b"",
    )
    form = writer._root_object["/AcroForm"].get_object()
    form[NameObject("/DR")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/HeBo"): font})}
    )
    form[NameObject("/DA")] = TextStringObject("/HeBo 12 Tf 0 g")
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


def set_need_appearances(stamped: bytes) -> bytes:
    """An incremental update setting /NeedAppearances true in /AcroForm."""
    from pypdf.generic import BooleanObject, NameObject

    def change(writer: Any) -> None:
        form = writer._root_object["/AcroForm"].get_object()
        form[NameObject("/NeedAppearances")] = BooleanObject(True)

    return _incremental(stamped, change)


def change_field_da(stamped: bytes, da: str = "/HeBo 30 Tf 1 0 0 rg") -> bytes:
    """An incremental update changing the /DA of the text field ``catatan``."""
    from pypdf.generic import NameObject, TextStringObject

    def change(writer: Any) -> None:
        for ref in writer._root_object["/AcroForm"]["/Fields"]:
            obj = ref.get_object()
            if obj.get("/T") == "catatan":
                obj[NameObject("/DA")] = TextStringObject(da)

    return _incremental(stamped, change)


def add_square(path: Path, rect: tuple[float, float, float, float]) -> Path:
    """Rewrite ``path`` (before stamping) with an opaque black Square annotation at ``rect``."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=str(path))
    _add_square(writer, rect)
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


def _add_square(writer: Any, rect: tuple[float, float, float, float]) -> Any:
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, NumberObject

    page = writer.pages[0]
    w, h = rect[2] - rect[0], rect[3] - rect[1]
    annot = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Square"),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in rect]),
            NameObject("/F"): NumberObject(4),
            NameObject("/IC"): ArrayObject([FloatObject(0)] * 3),
            NameObject("/AP"): DictionaryObject(
                {NameObject("/N"): _form(writer, rect, b"0 g 0 0 %.2f %.2f re f" % (w, h))}
            ),
        }
    )
    ref = writer._add_object(annot)
    if "/Annots" not in page:
        page[NameObject("/Annots")] = ArrayObject()
    page["/Annots"].get_object().append(ref)
    return ref


def square_over_stamp(stamped: bytes, rect: tuple[float, float, float, float]) -> bytes:
    """An incremental update adding an opaque Square annotation, last in /Annots, at ``rect``."""
    return _incremental(stamped, lambda writer: _add_square(writer, rect))


def move_first_annotation_last(stamped: bytes) -> bytes:
    """An incremental update that moves page 1's first annotation to the end of /Annots
    (drawn on top of everything), nothing else."""

    def change(writer: Any) -> None:
        annots = writer.pages[0]["/Annots"].get_object()
        first = annots.pop(0)
        annots.append(first)

    return _incremental(stamped, change)


# -- readers that disagree about the file (docs/security.md, 1) -----------------------------------

HIDDEN_TEXT = "DISETUJUI Rp 99.000.000"


def _tail_facts(data: bytes) -> dict[str, Any]:
    """What a hand-written update needs: the final trailer's /Root, /Info, /Size, the last
    startxref, and page 1's content stream object number (pyHanko's reader, final view)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    contents = page.raw_get("/Contents")
    trailer = reader.trailer
    info = trailer.raw_get("/Info") if "/Info" in trailer else None
    root = trailer.raw_get("/Root")
    m = list(re.finditer(rb"startxref\s+(\d+)", data))[-1]
    return {
        "root": f"{root.idnum} {root.generation} R",
        "info": info.idnum if info is not None else None,
        "size": int(trailer["/Size"]),
        "prev": int(m.group(1)),
        "content": contents.idnum,
    }


def _content_with_text(text: str = HIDDEN_TEXT) -> bytes:
    return (
        f"BT /Helv 28 Tf 60 600 Td ({text}) Tj ET\nBT /Helv 28 Tf 60 560 Td ({text}) Tj ET\n"
    ).encode("latin-1")


def hand_update(
    data: bytes,
    *,
    hidden_content: bool = True,
    list_hidden: bool = False,
    startxref_delta: int = 0,
    define_twice: bool = False,
    tail: bytes = b"",
) -> bytes:
    """``data`` + one hand-written incremental update whose xref lists only a new /Info, while
    its body may also redefine page 1's content stream (``hidden_content``) with large text,
    and whose ``startxref`` may be ``startxref_delta`` bytes off; ``define_twice`` defines
    the /Info object twice; ``tail`` is appended after the final %%EOF. The page content is
    drawn with the page's /Helv font (see :func:`page_font_resource`)."""
    facts = _tail_facts(data)
    out = bytearray(data)
    if not out.endswith(b"\n"):
        out += b"\n"
    size = facts["size"]
    info_num = size
    entries: dict[int, int] = {}
    if hidden_content:
        stream = _content_with_text()
        content_at = len(out)
        out += b"%d 0 obj\n<< /Length %d >>\nstream\n" % (facts["content"], len(stream))
        out += stream + b"\nendstream\nendobj\n"
        if list_hidden:
            entries[facts["content"]] = content_at
    if define_twice:
        out += b"%d 0 obj\n<< /Title (Lamaran v1) >>\nendobj\n" % info_num
    entries[info_num] = len(out)
    out += b"%d 0 obj\n<< /Title (Lamaran) /Producer (editor) >>\nendobj\n" % info_num
    xref_at = len(out)
    out += b"xref\n0 1\n0000000000 65535 f\r\n"
    for num in sorted(entries):
        out += b"%d 1\n%010d 00000 n\r\n" % (num, entries[num])
    out += b"trailer\n<< /Size %d /Root %s /Info %d 0 R /Prev %d >>\n" % (
        info_num + 1,
        facts["root"].encode(),
        info_num,
        facts["prev"],
    )
    out += b"startxref\n%d\n%%%%EOF\n" % (xref_at + startxref_delta)
    out += tail
    return bytes(out)


def page_font_resource(data: bytes) -> bytes:
    """An update that gives page 1 a /Helv font resource (legitimately, before stamping), so
    that a later hidden content stream can draw text with it."""

    def change(writer: Any) -> None:
        from pypdf.generic import DictionaryObject, NameObject

        page = writer.pages[0]
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica-Bold"),
            }
        )
        resources = page["/Resources"].get_object()
        if "/Font" not in resources:
            resources[NameObject("/Font")] = DictionaryObject()
        resources["/Font"].get_object()[NameObject("/Helv")] = writer._add_object(font)

    return _incremental(data, change)


def sign_over_rewrite(original: bytes, key: StampKey, text: str = HIDDEN_TEXT) -> bytes:
    """Class 6: sign ``original`` + an update that rewrites the letter, while recording the
    original's digest and length as the stamped document (and drawing its QR)."""
    from emeterai._sign import SignOptions, sign

    rewritten = append_page_text(original, text)
    digest = hashlib.sha256(original).hexdigest()
    return sign(
        rewritten,
        key,
        picture(key.serial, digest),
        bytes.fromhex(digest),
        SignOptions(
            field_name=f"eMeterai_{key.serial}",
            reason=f"[{key.serial}] e-Meterai Rp10000",
            page_index=0,
            rect=(412.5, 148.8, 483.4, 219.7),
        ),
        base_length=len(original),
    )


def reader_texts(pdf: Path) -> dict[str, str]:
    """Page 1's text as poppler, MuPDF and PDFium read the file (each with its own parser and
    its own repair of a broken cross-reference table)."""
    import pypdfium2

    out = {}
    out["poppler"] = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True
    ).stdout
    out["mupdf"] = subprocess.run(
        ["mutool", "draw", "-q", "-F", "txt", "-o", "-", str(pdf), "1"],
        capture_output=True,
        text=True,
    ).stdout
    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        textpage = doc[0].get_textpage()
        out["pdfium"] = textpage.get_text_range()
    finally:
        doc.close()
    return out


# -- stamp pictures made by a stamp-file holder (docs/security.md, 5 and 8) ---------------------
#
# Each builds the appearance content a fraudster holding a genuine stamp .p12 would sign in
# place of the picture emeterai draws; ``stamp_with_appearance`` signs it with the real key,
# through the product's own signer, so that the wrapper pyHanko writes around it is genuine.


def genuine_drawing(
    serial: str, document_sha256: str, issuer_name: str = "Test Issuer", specimen: bool = True
) -> Any:
    """The picture emeterai draws for ``serial`` on the document (a StampAppearance)."""
    from emeterai._render import appearance

    return appearance(serial, 10000, issuer_name, document_sha256, specimen)


def _serial_text(serial: str, prefix: bytes = b"", suffix: bytes = b"") -> bytes:
    """The serial where the genuine picture writes it, with extra state in front."""
    return (
        b"\nq BT "
        + prefix
        + b" /F3 4.5 Tf 1 0 0 1 5.733071 7.4 Tm ("
        + serial.encode()
        + b") Tj ET "
        + suffix
        + b"Q\n"
    )


def other_picture_with_hidden_serial(real: str, other: str, digest: str, how: str) -> bytes:
    """The genuine picture of ``other`` (its serial and QR code, as text and ``re f`` paths) plus
    the real serial drawn so that no reader shows it: ``how`` is one of ``invisible`` (render mode
    3), ``white`` (white on white), ``clipped`` (clipped away by ``W n``), ``zero-font``."""
    hidden = {
        "invisible": _serial_text(real, b"3 Tr"),
        "white": _serial_text(real, b"1 1 1 rg"),
        "clipped": b"\nq 0 0 0 0 re W n" + _serial_text(real) + b"Q\n",
        "zero-font": _serial_text(real).replace(b"/F3 4.5 Tf", b"/F3 0 Tf"),
    }[how]
    return genuine_drawing(other, digest).content + hidden


def unfilled_qr(serial: str, digest: str) -> bytes:
    """The genuine picture whose QR rectangles are built but never filled (``re`` ... ``n``)."""
    content = genuine_drawing(serial, digest).content
    assert content.endswith(b" re\nf*\n \n")
    return content[: -len(b"f*\n \n")] + b"n\n \n"


def qr_of_another_payload(serial: str, digest: str, other: str) -> bytes:
    """The real serial in text, but the QR code of ``other``'s stamp on this document."""
    mine = genuine_drawing(serial, digest).content
    theirs = genuine_drawing(other, digest).content
    at = mine.index(b"(" + serial.encode() + b")")
    cut = mine.index(b" re ", at)  # the QR's rectangles start after the serial
    cut = mine.rfind(b"\n", 0, cut) + 1
    other_at = theirs.index(b"(" + other.encode() + b")")
    other_cut = theirs.rfind(b"\n", 0, theirs.index(b" re ", other_at)) + 1
    return mine[:cut] + theirs[other_cut:]


def hex_string_serial(real: str, other: str, digest: str) -> bytes:
    """The genuine picture whose serial is shown as a hex string of ``other`` (``<...> Tj``),
    with the real serial kept as invisible text."""
    content = genuine_drawing(real, digest).content
    shown = b"<" + other.encode().hex().encode() + b"> Tj"
    content = content.replace(b"(" + real.encode() + b") Tj", shown)
    return content + _serial_text(real, b"3 Tr")


def unbalanced_parens(serial: str, digest: str, n: int = 40_000) -> bytes:
    """The genuine picture followed by ``n`` unbalanced ``(``: quadratic for a text regex."""
    return genuine_drawing(serial, digest).content + b"(" * n


def stamp_with_appearance(
    data: bytes,
    key: StampKey,
    content: bytes,
    *,
    nested: tuple[int, int] | None = None,
    rect: tuple[float, float, float, float] = (412.5, 148.8, 483.4, 219.7),
) -> bytes:
    """A stamp made exactly like the product's (signer, /Reason, document digest, pyHanko's
    wrapper), but whose picture form draws ``content`` with the genuine picture's resources.
    ``nested=(depth, names)``: the picture's resources also name one child form ``names`` times,
    which names one grandchild ``names`` times, ``depth`` levels deep (a 15 kB file that costs
    ``names ** depth`` visits without a memo)."""
    from pyhanko.pdf_utils import generic

    from emeterai import _sign as signing
    from emeterai._render import StampAppearance

    digest = hashlib.sha256(data).hexdigest()
    drawing = genuine_drawing(key.serial, digest)
    fake = StampAppearance(
        content, drawing.size_pt, drawing.fonts, drawing.ext_gstates, key.serial, ""
    )

    class _Fake(signing._AppearanceContent):
        def render(self) -> bytes:
            out = super().render()
            if nested is not None:
                depth, names = nested
                writer = self._ensure_writer
                child = None
                for level in range(depth):
                    resources = generic.DictionaryObject()
                    ops = b""
                    if child is not None:
                        resources[generic.NameObject("/XObject")] = generic.DictionaryObject(
                            {generic.NameObject(f"/C{i}"): child for i in range(names)}
                        )
                        ops = b" ".join(b"/C%d Do" % i for i in range(names))
                    form = generic.StreamObject(
                        {
                            generic.NameObject("/Type"): generic.NameObject("/XObject"),
                            generic.NameObject("/Subtype"): generic.NameObject("/Form"),
                            generic.NameObject("/BBox"): generic.ArrayObject(
                                generic.FloatObject(v) for v in (0, 0, 1, 1)
                            ),
                            generic.NameObject("/Resources"): resources,
                        },
                        stream_data=ops + b" %d" % level,
                    )
                    child = writer.add_object(form)
                ref = self.resources.xobject[next(iter(self.resources.xobject))]
                picture = ref.get_object()
                picture["/Resources"][generic.NameObject("/XObject")] = generic.DictionaryObject(
                    {generic.NameObject("/N0"): child}
                )
            return out

    original = signing._AppearanceContent
    signing._AppearanceContent = _Fake  # type: ignore[misc]
    try:
        return signing.sign(
            data,
            key,
            fake,
            bytes.fromhex(digest),
            signing.SignOptions(
                field_name=f"eMeterai_{key.serial}",
                reason=f"[{key.serial}] e-Meterai Rp10000",
                page_index=0,
                rect=rect,
            ),
        )
    finally:
        signing._AppearanceContent = original  # type: ignore[misc]


def render_widget(data: bytes, rect: tuple[float, float, float, float], scale: float = 4.0) -> Any:
    """Page 1 as PDFium shows it with its form widgets drawn, cropped to ``rect`` plus a white
    margin (a PIL image)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    pdf.init_forms()
    page = pdf[0]
    height = page.get_height()
    image = page.render(scale=scale, may_draw_forms=True).to_pil()
    x0, y0, x1, y1 = rect
    margin = 12
    box = (
        int((x0 - margin) * scale),
        int((height - y1 - margin) * scale),
        int((x1 + margin) * scale),
        int((height - y0 + margin) * scale),
    )
    return image.crop(box)


def qr_texts(image: Any) -> list[str]:
    """The QR codes zxing-cpp reads in ``image``."""
    import zxingcpp

    return [
        r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode
    ]


def widget_text(data: bytes, rect: tuple[float, float, float, float]) -> str:
    """The text PDFium finds inside ``rect`` on page 1 once its annotations are flattened into
    the page (what a reader's copy-paste or a search of a printed copy gets)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    pdf.init_forms()
    pdf[0].flatten()
    out = io.BytesIO()
    pdf.save(out)
    page = pdfium.PdfDocument(out.getvalue())[0]
    return str(page.get_textpage().get_text_bounded(*rect))


# -- the stamp's own revision carries more than the stamp (docs/security.md, 6) ---------------------
#
# A stamp-file holder writes the stamp's incremental update themselves. Each edit below runs on
# pyHanko's incremental writer before the product's signer adds the stamp, so that the edit and
# the stamp are one revision over the untouched bound document.


def stamp_with_own_edit(original: bytes, key: StampKey, edit: Callable[[Any], None]) -> bytes:
    """``original`` stamped through ``emeterai._sign`` with ``key``, the stamp's revision also
    carrying ``edit(writer)``; the stamp records ``original`` as its document."""
    from emeterai import _pyhanko

    plain = _pyhanko.StampWriter

    class Edited(plain):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            edit(self)

    _pyhanko.StampWriter = Edited  # type: ignore[misc]
    try:
        return stamp_with_key(original, key)
    finally:
        _pyhanko.StampWriter = plain  # type: ignore[misc]


def _first_page(writer: Any) -> Any:
    return writer.root["/Pages"]["/Kids"][0].get_object()


def rewrite_content_in_place(writer: Any) -> None:
    """Page 1's content stream object, redefined with new text."""
    from pyhanko.pdf_utils import generic

    ref = _first_page(writer).raw_get("/Contents")
    writer.mark_update(ref)  # before replacing: marking loads the object from the file
    writer.objects[(ref.generation, ref.idnum)] = generic.StreamObject(
        stream_data=_content_with_text()
    )


def append_content_stream(writer: Any) -> None:
    """Page 1 gains a second content stream with new text."""
    from pyhanko.pdf_utils import generic

    page = _first_page(writer)
    old = page.raw_get("/Contents")
    new = writer.add_object(generic.StreamObject(stream_data=_content_with_text()))
    page["/Contents"] = generic.ArrayObject([old, new])
    writer.update_container(page)


def replace_page_tree(writer: Any) -> None:
    """The catalog points at a new page tree whose one page shows new text."""
    from pyhanko.pdf_utils import generic

    old_page = _first_page(writer)
    pages_ref = writer.root.raw_get("/Pages")
    content = writer.add_object(generic.StreamObject(stream_data=_content_with_text()))
    page = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/MediaBox"): old_page["/MediaBox"],
            generic.NameObject("/Resources"): old_page.raw_get("/Resources"),
            generic.NameObject("/Contents"): content,
        }
    )
    page_ref = writer.add_object(page)
    tree = writer.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Pages"),
                generic.NameObject("/Kids"): generic.ArrayObject([page_ref]),
                generic.NameObject("/Count"): generic.NumberObject(1),
            }
        )
    )
    page["/Parent"] = tree
    assert pages_ref is not None
    writer.root["/Pages"] = tree
    writer.update_root()


def add_free_text(writer: Any) -> None:
    """Page 1 gains a FreeText annotation whose appearance shows new text (before the stamp's
    widget, which the signer appends after it)."""
    from pyhanko.pdf_utils import generic

    page = _first_page(writer)
    font = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Font"),
            generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
            generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica-Bold"),
        }
    )
    look = generic.StreamObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/XObject"),
            generic.NameObject("/Subtype"): generic.NameObject("/Form"),
            generic.NameObject("/BBox"): generic.ArrayObject(
                [generic.NumberObject(v) for v in (0, 0, 500, 120)]
            ),
            generic.NameObject("/Resources"): generic.DictionaryObject(
                {
                    generic.NameObject("/Font"): generic.DictionaryObject(
                        {generic.NameObject("/Helv"): writer.add_object(font)}
                    )
                }
            ),
        },
        stream_data=f"BT /Helv 28 Tf 10 40 Td ({HIDDEN_TEXT}) Tj ET".encode("latin-1"),
    )
    annot = writer.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
                generic.NameObject("/Rect"): generic.ArrayObject(
                    [generic.NumberObject(v) for v in (60, 500, 560, 620)]
                ),
                generic.NameObject("/F"): generic.NumberObject(4),
                generic.NameObject("/DA"): generic.pdf_string("/Helv 28 Tf 0 g"),
                generic.NameObject("/Contents"): generic.pdf_string(HIDDEN_TEXT),
                generic.NameObject("/AP"): generic.DictionaryObject(
                    {generic.NameObject("/N"): writer.add_object(look)}
                ),
            }
        )
    )
    annots = page.get("/Annots")
    page["/Annots"] = generic.ArrayObject([*(annots or []), annot])
    writer.update_container(page)


_HELV = b"/Helv << /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>"


def _two_content_letter(catalog_extra: bytes, extra_objects: list[tuple[int, bytes]]) -> bytes:
    """A one-page letter (objects 1 to 4) whose page lists content streams 4 and 6, and has the
    fonts /F1 and /Helv."""
    from tests.support.producers import raw_pdf

    content = b"BT /F1 12 Tf 72 720 Td (Surat lamaran) Tj ET"
    return raw_pdf(
        [
            (1, b"<< /Type /Catalog /Pages 2 0 R" + catalog_extra + b" >>"),
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            (
                3,
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [4 0 R 6 0 R]"
                b" /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont"
                b" /Helvetica >> " + _HELV + b" >> >> >>",
            ),
            (4, b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"),
            *extra_objects,
        ]
    )


def dangling_reference_letter() -> bytes:
    """A one-page letter whose page lists, after its content stream, a second one that no
    object defines (object 6, the first number pyHanko's writer gives a new object: the file's
    /Size is 5): readers draw it as nothing."""
    return _two_content_letter(b"", [])


def define_dangling_object(writer: Any) -> None:
    """Defines the next free object number (which a dangling reference may name) as a content
    stream with new text."""
    from pyhanko.pdf_utils import generic

    writer.add_object(generic.StreamObject(stream_data=_content_with_text()))


_XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
    b' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>\n'
    b'<?xpacket end="w"?>'
)


def metadata_as_content_letter() -> bytes:
    """A one-page letter whose XMP metadata stream (object 6) is also listed as the page's
    second content stream (readers draw the XML as nothing)."""
    stream = b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(_XMP)
    return _two_content_letter(b" /Metadata 6 0 R", [(6, stream + _XMP + b"\nendstream")])


def rewrite_metadata_as_content(writer: Any) -> None:
    """Rewrites the catalog's XMP stream (in place, still /Type /Metadata /Subtype /XML) with
    content operators that draw new text."""
    from pyhanko.pdf_utils import generic

    ref = writer.root.raw_get("/Metadata")
    writer.mark_update(ref)
    writer.objects[(ref.generation, ref.idnum)] = generic.StreamObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Metadata"),
            generic.NameObject("/Subtype"): generic.NameObject("/XML"),
        },
        stream_data=_content_with_text(),
    )


def array_contents_letter(entry: bytes) -> bytes:
    """A one-page letter whose page's /Contents is object 5, an array ``[4 0 R <entry>]``:
    ``entry`` names object 7 (the stamp's first new object: /Size is 6) in a syntax that some
    readers take for a reference, or hides it behind a stray token."""
    from tests.support.producers import raw_pdf

    content = b"BT /F1 12 Tf 72 720 Td (Surat lamaran) Tj ET"
    return raw_pdf(
        [
            (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            (
                3,
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 5 0 R"
                b" /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont"
                b" /Helvetica >> " + _HELV + b" >> >> >>",
            ),
            (4, b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"),
            (5, b"[4 0 R " + entry + b"]"),
        ]
    )


def object_stream_letter(members: list[bytes], length_delta: int = 0) -> bytes:
    """A one-page letter whose page's /Contents is object 6, stored in object stream 5 as each
    of ``members`` in turn (the header lists object 6 once per member; the xref stream names the
    last); the object stream's /Length may be ``length_delta`` bytes off."""
    import struct

    content = b"BT /F1 12 Tf 72 720 Td (Surat lamaran) Tj ET"
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}

    def obj(num: int, body: bytes) -> None:
        offsets[num] = len(out)
        out.extend(b"%d 0 obj\n" % num + body + b"\nendobj\n")

    obj(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    obj(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    obj(
        3,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 6 0 R /Resources"
        b" << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> "
        + _HELV
        + b" >> >> >>",
    )
    obj(4, b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    head = body = b""
    for member in members:
        head += b"6 %d " % len(body)
        body += member + b" "
    packed = head + body
    obj(
        5,
        b"<< /Type /ObjStm /N %d /First %d /Length %d >>\nstream\n"
        % (len(members), len(head), len(packed) + length_delta)
        + packed
        + b"\nendstream",
    )
    rows = [(0, 0, 255)] + [(1, offsets[i], 0) for i in (1, 2, 3, 4, 5)]
    rows += [(2, 5, len(members) - 1), (1, len(out), 0)]
    raw = b"".join(struct.pack(">BIH", *r) for r in rows)
    xref_at = len(out)
    out += b"7 0 obj\n<< /Type /XRef /Size 8 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(
        raw
    )
    out += raw + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def stamp_with_duplicate_page_key(original: bytes, key: StampKey) -> bytes:
    """The stamp's revision rewrites the stamp's page with /Annots gaining the widget, as the
    signer does, and a second /Contents key naming new text: pyHanko keeps the first /Contents,
    readers the second."""
    from pyhanko.pdf_utils import generic

    made: dict[str, Any] = {}
    plain = generic.DictionaryObject.write_to_stream

    def write(self: Any, stream: Any, handler: Any = None, container_ref: Any = None) -> None:
        if self.get("/Type") != "/Page" or "/Annots" not in self or "new" not in made:
            return plain(self, stream, handler, container_ref)
        buf = io.BytesIO()
        plain(self, buf, handler, container_ref)
        text = buf.getvalue()
        at = text.rindex(b">>")
        stream.write(text[:at] + b"\n/Contents %d 0 R\n" % made["new"].idnum + text[at:])

    def edit(writer: Any) -> None:
        made["new"] = writer.add_object(generic.StreamObject(stream_data=_content_with_text()))

    generic.DictionaryObject.write_to_stream = write  # type: ignore[method-assign]
    try:
        return stamp_with_own_edit(original, key, edit)
    finally:
        generic.DictionaryObject.write_to_stream = plain  # type: ignore[method-assign]


def unterminated_strings_letter(count: int) -> bytes:
    """A one-page letter whose objects 5 on each open a string, all closed only at the end of
    the file: read one by one to the end of the file, the work would be quadratic."""
    content = b"BT /F1 12 Tf 72 720 Td (Surat lamaran) Tj ET"
    out = bytearray(b"%PDF-1.7\n")
    offsets: dict[int, int] = {}
    for num, body in (
        (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>"),
        (4, b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"),
    ):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    for num in range(5, 5 + count):
        offsets[num] = len(out)
        out += b"%d 0 obj\n(" % num
    out += b")" * count + b"\nendobj\n"
    size = 5 + count
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for num in range(1, size):
        out += b"%010d 00000 n \n" % offsets[num]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref_at)
    return bytes(out)


def one_stamp_on_two_letters(p12: Path, roots: list[Any], folder: Path) -> list[Path]:
    """One stamp file imported into two wallets (two applicants' machines) and spent on two
    different letters: the serial reuse a ledger must catch. The two stamped letters."""
    from emeterai.stamp import StampOptions, stamp_file
    from emeterai.wallet import Wallet
    from tests.support.common import PASSPHRASE

    outputs = []
    for name in ("first", "second"):
        wallet = Wallet(folder / name / "wallet.db")
        wallet.import_stamps([(str(p12), p12.read_bytes())], PASSPHRASE, roots)
        src = make_letter(folder / f"{name}.pdf", [f"Surat lamaran {name}"])
        out = folder / f"{name}.emeterai.pdf"
        stamp_file(src, out, wallet, wallet.unlock(PASSPHRASE), StampOptions())
        outputs.append(out)
    return outputs
