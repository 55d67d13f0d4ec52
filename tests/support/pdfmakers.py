"""Real fixture PDFs for the stamping tests, made with reportlab, pypdf and pyHanko.

Every maker writes a small but genuine PDF to ``path`` and returns the path (or, for the signed
document, what a test needs to validate the existing signature). The pages carry ordinary text
so that they look like letters to every reader; the odd geometry (``/Rotate``, a MediaBox away
from the origin, a smaller CropBox) is set with pypdf exactly as real producers write it.

Geometry helpers:
- ``A4`` is (595.2756, 841.8898) pt.
- ``PLACEHOLDER`` is the text the stamping pipeline looks for ("Meterai 10.000").
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MM = 72 / 25.4
A4 = (210 * MM, 297 * MM)
PLACEHOLDER = "Meterai 10.000"


def _letter_page(
    c: Any,
    width: float,
    height: float,
    title: str,
    placeholder_at: tuple[float, float] | None = None,
) -> None:
    """Draw a simple letter on the current reportlab page.

    ``placeholder_at`` is the placeholder's centre in mm from the top-left of the page (the
    page is drawn upright, so user space and reader space differ only by the y flip).
    """
    c.setFont("Times-Roman", 12)
    c.drawString(25 * MM, height - 25 * MM, title)
    y = height - 40 * MM
    for i in range(8):
        c.drawString(25 * MM, y, f"Baris {i + 1}: isi surat untuk keperluan pengujian.")
        y -= 16
    if placeholder_at is not None:
        cx, cy = placeholder_at[0] * MM, height - placeholder_at[1] * MM
        c.saveState()
        c.setDash(3, 2)
        c.setLineWidth(0.5)
        c.rect(cx - 12.5 * MM, cy - 12.5 * MM, 25 * MM, 25 * MM)
        c.setFont("Helvetica", 9)
        c.drawCentredString(cx, cy - 9 * 0.35, PLACEHOLDER)
        c.restoreState()


def letter_pdf(
    pages: int = 1,
    size: tuple[float, float] = A4,
    placeholder_page: int | None = None,
    placeholder_at: tuple[float, float] = (150.0, 240.0),
    title: str = "Surat pengujian",
) -> bytes:
    """A plain letter of ``pages`` upright pages; a placeholder on ``placeholder_page`` (1-based)."""
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=size, invariant=1)
    for n in range(1, pages + 1):
        _letter_page(
            c,
            size[0],
            size[1],
            f"{title} - halaman {n}",
            placeholder_at if n == placeholder_page else None,
        )
        c.showPage()
    c.save()
    return buf.getvalue()


def _rewrite(data: bytes, edit: Callable[[int, Any], None]) -> bytes:
    """Apply ``edit(page_index, page)`` to every page of ``data`` and return the new PDF."""
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(data))
    writer = pypdf.PdfWriter()
    for i, page in enumerate(reader.pages):
        new = writer.add_page(page)
        edit(i, new)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def plain_pdf(path: Path, pages: int = 1, placeholder_page: int | None = None) -> Path:
    """A letter of ``pages`` A4 pages, with the placeholder on ``placeholder_page`` if given."""
    path.write_bytes(letter_pdf(pages, placeholder_page=placeholder_page))
    return path


def multi_page_pdf(path: Path, pages: int = 3, placeholder_page: int | None = None) -> Path:
    """Several A4 pages, each titled with its page number."""
    return plain_pdf(path, pages=pages, placeholder_page=placeholder_page)


def rotated_pdf(path: Path, rotation: int, placeholder: bool = False) -> Path:
    """One A4 portrait page (user space) with ``/Rotate rotation``.

    The content is drawn in user space as usual, so readers show it turned; the stamping
    pipeline must still put the stamp upright at reader coordinates.
    """
    from pypdf.generic import NameObject, NumberObject

    def edit(_i: int, page: Any) -> None:
        page[NameObject("/Rotate")] = NumberObject(rotation)

    data = letter_pdf(1, placeholder_page=1 if placeholder else None)
    path.write_bytes(_rewrite(data, edit))
    return path


def shifted_mediabox_pdf(path: Path, offset: tuple[float, float] = (200.0, 300.0)) -> Path:
    """One A4 page whose MediaBox is [ox oy ox+w oy+h]: the content is moved along with it,
    so the page looks like any other letter while no box starts at the origin."""
    from pypdf import Transformation
    from pypdf.generic import RectangleObject

    ox, oy = offset

    def edit(_i: int, page: Any) -> None:
        page.add_transformation(Transformation().translate(ox, oy))
        page.mediabox = RectangleObject([ox, oy, ox + A4[0], oy + A4[1]])

    path.write_bytes(_rewrite(letter_pdf(1), edit))
    return path


def cropped_pdf(path: Path, cropbox: Sequence[float] = (60.0, 90.0, 500.0, 760.0)) -> Path:
    """One A4 page (MediaBox at the origin) showing only ``cropbox``."""
    from pypdf.generic import RectangleObject

    def edit(_i: int, page: Any) -> None:
        page.cropbox = RectangleObject(list(cropbox))

    path.write_bytes(_rewrite(letter_pdf(1), edit))
    return path


def not_a_pdf(path: Path) -> Path:
    path.write_text("Ini bukan PDF, hanya teks biasa.\n")
    return path


# -- a document already signed by someone else -------------------------------------------------


@dataclass(frozen=True)
class OtherSigner:
    """A small PKI unrelated to any stamp issuer: a root CA and an applicant's signing key."""

    root_der: bytes
    cert_der: bytes
    key_der: bytes  # PKCS#8, unencrypted (test material only)

    @property
    def root_pem(self) -> bytes:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        return x509.load_der_x509_certificate(self.root_der).public_bytes(
            serialization.Encoding.PEM
        )


def make_other_signer(name: str = "Rina Ayu Lestari") -> OtherSigner:
    """A root CA and a personal signing certificate (ECDSA P-256), valid around now."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Personal Test CA"),
        ]
    )
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
                    x509.NameAttribute(NameOID.COMMON_NAME, name),
                ]
            )
        )
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=300))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
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
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    der = serialization.Encoding.DER
    return OtherSigner(
        root_der=root.public_bytes(der),
        cert_der=cert.public_bytes(der),
        key_der=key.private_bytes(
            der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def signed_by_other_pdf(
    path: Path,
    signer: OtherSigner | None = None,
    field_name: str = "TandaTanganPemohon",
    box: tuple[float, float, float, float] | None = (70.0, 60.0, 250.0, 120.0),
    placeholder: bool = True,
) -> tuple[Path, OtherSigner]:
    """A letter signed (PAdES, pyHanko) by an applicant's personal key, not a stamp key.

    ``box`` is the visible signature field in user space (None: an invisible signature). The
    letter keeps its "Meterai 10.000" placeholder so a stamp can be added afterwards.
    """
    from asn1crypto import keys
    from asn1crypto import x509 as ax509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    signer = signer or make_other_signer()
    data = letter_pdf(1, placeholder_page=1 if placeholder else None)
    simple = signers.SimpleSigner(
        signing_cert=ax509.Certificate.load(signer.cert_der),
        signing_key=keys.PrivateKeyInfo.load(signer.key_der),
        cert_registry=SimpleCertificateStore.from_certs([ax509.Certificate.load(signer.root_der)]),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        reason="Saya menyetujui isi surat ini",
        subfilter=SigSeedSubFilter.PADES,
    )
    spec = None
    if box is not None:
        spec = fields.SigFieldSpec(field_name, on_page=0, box=box)  # type: ignore[arg-type]
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=simple, new_field_spec=spec).sign_pdf(writer, output=out)
    path.write_bytes(out.getvalue())
    return path, signer


# -- documents on which a stamp used to be spent on an output that does not verify ------------


def direct_annotation_pdf(path: Path) -> Path:
    """A letter whose page /Annots holds a direct annotation dictionary (a text note)."""
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        TextStringObject,
    )

    def edit(_i: int, page: Any) -> None:
        note = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Text"),
                NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (20, 20, 40, 40)]),
                NameObject("/Contents"): TextStringObject("catatan"),
            }
        )
        page[NameObject("/Annots")] = ArrayObject([note])  # the dictionary itself, no reference

    path.write_bytes(_rewrite(letter_pdf(1), edit))
    return path


def form_fields_pdf(path: Path, names: Sequence[str | None]) -> Path:
    """A letter with one text field per entry of ``names`` (None: a field without /T), each an
    indirect merged field/widget in /AcroForm /Fields and the page's /Annots."""
    import pypdf
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(letter_pdf(1)))
    page = writer.pages[0]
    fields = ArrayObject()
    annots = ArrayObject()
    for i, name in enumerate(names):
        field = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Widget"),
                NameObject("/FT"): NameObject("/Tx"),
                NameObject("/F"): NumberObject(4),
                NameObject("/Rect"): ArrayObject(
                    [FloatObject(v) for v in (60, 60 + 30 * i, 200, 80 + 30 * i)]
                ),
                NameObject("/V"): TextStringObject(f"isian {i}"),
                NameObject("/P"): page.indirect_reference,
            }
        )
        if name is not None:
            field[NameObject("/T")] = TextStringObject(name)
        ref = writer._add_object(field)
        fields.append(ref)
        annots.append(ref)
    page[NameObject("/Annots")] = annots
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): fields})
    buf = io.BytesIO()
    writer.write(buf)
    path.write_bytes(buf.getvalue())
    return path


# -- letters written with LibreOffice Writer (soffice --convert-to pdf) -------------------------

_FODT_ALIGN = {"left": "start", "center": "center", "right": "end"}


def _fodt(paragraphs: Sequence[tuple[str, str]]) -> str:
    """A flat ODF text document: one paragraph per (alignment, text), as a person types them."""
    from xml.sax.saxutils import escape

    styles = "".join(
        f'<style:style style:name="{name}" style:family="paragraph">'
        f'<style:paragraph-properties fo:text-align="{align}"/></style:style>'
        for name, align in _FODT_ALIGN.items()
    )
    body = "".join(
        f'<text:p text:style-name="{align}">{escape(text)}</text:p>' for align, text in paragraphs
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
        'office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.text">'
        f"<office:automatic-styles>{styles}</office:automatic-styles>"
        f"<office:body><office:text>{body}</office:text></office:body></office:document>"
    )


def libreoffice_letters(
    folder: Path, letters: dict[str, Sequence[tuple[str, str]]], soffice: str
) -> dict[str, Path]:
    """``name -> paragraphs`` as PDFs written by LibreOffice Writer, in one soffice run.

    Each paragraph is (alignment: "left", "center" or "right", text); the PDFs are
    ``folder/name.pdf``. LibreOffice gets a profile of its own (parallel runs never share a lock).
    """
    import subprocess

    sources = []
    for name, paragraphs in letters.items():
        source = folder / f"{name}.fodt"
        source.write_text(_fodt(paragraphs), encoding="utf-8")
        sources.append(str(source))
    profile = (folder / "soffice-profile").resolve().as_uri()
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(folder), *sources],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    return {name: folder / f"{name}.pdf" for name in letters}


def placeholder_letter_pdf(
    path: Path,
    text: str,
    at_mm: tuple[float, float],
    font_size: float = 10.0,
    align: str = "center",
    lines: Sequence[str] = (),
) -> Path:
    """An A4 letter (reportlab, exact geometry) with ``text`` at ``at_mm`` (mm from the
    top-left: the centre, the left end or the right end of its baseline, by ``align``) and
    each of ``lines`` on a line of its own below it."""
    from reportlab.pdfgen.canvas import Canvas

    c = Canvas(str(path), pagesize=A4, invariant=1)
    c.setFont("Times-Roman", 12)
    c.drawString(25 * MM, A4[1] - 25 * MM, "Surat pengujian")
    c.setFont("Helvetica", font_size)
    draw = {"center": c.drawCentredString, "left": c.drawString, "right": c.drawRightString}
    x, y = at_mm[0] * MM, A4[1] - at_mm[1] * MM
    for n, line in enumerate([text, *lines]):
        draw[align](x, y - n * font_size * 1.2, line)
    c.showPage()
    c.save()
    return path


# Letters as applicants write them in LibreOffice Writer: (alignment, text) per line. Each
# places its "Meterai" placeholder the way the users did, or has the word in a sentence.
PLACEHOLDER_LETTERS: dict[str, list[tuple[str, str]]] = {
    "centred": [
        ("left", "Surat lamaran"),
        ("left", "Dengan hormat, saya mengajukan lamaran."),
        ("left", ""),
        ("center", "Meterai Rp10.000"),
        ("center", ""),
        ("center", "Rina Ayu Lestari"),
    ],
    "right": [
        ("left", "Surat lamaran"),
        ("left", "Dengan hormat, saya mengajukan lamaran."),
        ("right", "(materai 10.000)"),
        ("right", "Rina Ayu Lestari"),
    ],
    "sentence": [
        ("left", "Surat pernyataan"),
        ("left", "Tanda tangan di atas meterai"),
        ("left", ""),
        ("right", "Rina Ayu Lestari"),
    ],
    "sentence-and-placeholder": [
        ("left", "Surat pernyataan"),
        ("left", "Tanda tangan di atas meterai"),
        ("right", "MATERAI Rp 10.000,-"),
        ("right", "Rina Ayu Lestari"),
    ],
}
