"""Fixture PDFs made by real producers, and hostile inputs, for the robustness tests (docs/robustness.md).

Three families, all written to a folder given by the caller:

- :func:`make_producer_files`: genuine documents from the producers installed here:
  Ghostscript ``pdfwrite`` (PDF 1.7 default and ``-dCompatibilityLevel=1.3``), a scan wrapped as
  PDF (img2pdf when importable, else Pillow's PDF writer), qpdf (``--linearize``,
  ``--object-streams=generate``), MuPDF (``mutool clean``), reportlab (Letter, F4, landscape,
  45 pages, an AcroForm text field), pypdf edits (``/Rotate`` 90 and 270, a CropBox inside the
  MediaBox, annotations, an attachment) and pyHanko (a document already signed with a
  self-made key). LibreOffice and Chromium are used only when installed; otherwise the entry says
  "producer not installed".
- :data:`BAD_INPUTS`: things that are not stampable PDFs (not a PDF, empty, truncated, zero
  pages, a PNG named .pdf, a deflate bomb, deep nesting, cyclic objects, absurd page sizes).
- :func:`throwaway_wallet`: a specimen issuer and a wallet full of stamps in a folder of its own,
  independent of ``$EMETERAI_HOME``.

Nothing here mocks PDF parts: each file is what the named tool writes.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import random
import shutil
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

MM = 72 / 25.4
A4 = (210 * MM, 297 * MM)
LETTER = (612.0, 792.0)
F4 = (215 * MM, 330 * MM)  # "folio", the Indonesian government paper size
PLACEHOLDER = "Meterai 10.000"
TOOL_TIMEOUT = 120


# -- small tool helpers ---------------------------------------------------------------------------


def tool(name: str) -> str | None:
    return shutil.which(name)


def pdfinfo_rc(path: Path, password: str | None = None) -> int | None:
    """poppler ``pdfinfo`` exit code (0: it opens the file), None when poppler is missing."""
    exe = tool("pdfinfo")
    if exe is None:
        return None
    args = [exe]
    if password is not None:
        args += ["-upw", password]
    try:
        return subprocess.run(
            [*args, str(path)], capture_output=True, timeout=60, check=False
        ).returncode
    except subprocess.TimeoutExpired:
        return -9


def qpdf_check(path: Path, password: str | None = None) -> tuple[int | None, str]:
    """``qpdf --check`` exit code and its last non-empty output line (None when qpdf is missing)."""
    exe = tool("qpdf")
    if exe is None:
        return None, "qpdf not installed"
    args = [exe, "--check"]
    if password is not None:
        args.append(f"--password={password}")
    try:
        proc = subprocess.run(
            [*args, str(path)], capture_output=True, text=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired:
        return -9, "timed out"
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    return proc.returncode, (lines[-1] if lines else "")


def _run(args: list[str], cwd: Path | None = None) -> None:
    proc = subprocess.run(
        args, capture_output=True, text=True, timeout=TOOL_TIMEOUT, cwd=cwd, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:3])}... failed ({proc.returncode}): {proc.stderr[-300:]}"
        )


def _version(args: list[str]) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].strip() if text else "?"


# -- reportlab letters ----------------------------------------------------------------------------


def letter_pdf(
    pages: int = 1,
    size: tuple[float, float] = A4,
    title: str = "Surat lamaran CPNS",
    placeholder: bool = True,
    compress: bool = True,
) -> bytes:
    """A plain letter (reportlab): text lines on each page, "Meterai 10.000" on the last one."""
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=size, invariant=1, pageCompression=1 if compress else 0)
    width, height = size
    for n in range(1, pages + 1):
        c.setFont("Times-Roman", 12)
        c.drawString(25 * MM, height - 25 * MM, f"{title} - halaman {n} dari {pages}")
        y = height - 40 * MM
        for i in range(10):
            c.drawString(25 * MM, y, f"Baris {i + 1}: dengan hormat, saya mengajukan lamaran.")
            y -= 16
        if placeholder and n == pages:
            c.setFont("Helvetica", 9)
            c.drawString(width - 60 * MM, 50 * MM, PLACEHOLDER)
            c.drawString(width - 60 * MM, 30 * MM, "Rina Ayu Lestari")
        c.showPage()
    c.save()
    return buf.getvalue()


def _pypdf_rewrite(data: bytes, edit: Callable[[Any], None]) -> bytes:
    """``data`` loaded into a pypdf writer, changed by ``edit(writer)``, and written again."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    edit(writer)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


# -- producers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Produced:
    """One fixture: ``path`` is None when its producer is not installed (``note`` says which)."""

    name: str
    producer: str
    path: Path | None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


_POSTSCRIPT = b"""%!PS-Adobe-3.0
%%Title: Surat lamaran (Ghostscript)
%%Pages: 2
<< /PageSize [595 842] >> setpagedevice
/line { moveto show } def
/Times-Roman findfont 12 scalefont setfont
(Surat lamaran CPNS - Ghostscript pdfwrite, halaman 1) 72 770 line
(Dengan hormat, saya yang bertanda tangan di bawah ini mengajukan lamaran.) 72 740 line
(Nama: Rina Ayu Lestari     NIK: 3372000000000001) 72 720 line
0.2 setgray 72 600 moveto 523 600 lineto stroke
showpage
/Times-Roman findfont 12 scalefont setfont
(Halaman 2) 72 770 line
/Helvetica findfont 9 scalefont setfont
(Meterai 10.000) 430 150 line
(Rina Ayu Lestari) 430 100 line
showpage
%%EOF
"""


def _ghostscript(folder: Path, name: str, compat: str | None) -> Path:
    ps = folder / "gs-source.ps"
    ps.write_bytes(_POSTSCRIPT)
    out = folder / name
    args = ["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite"]
    if compat:
        args.append(f"-dCompatibilityLevel={compat}")
    _run([*args, f"-sOutputFile={out}", str(ps)])
    return out


def _scan(folder: Path, name: str) -> tuple[Path, str]:
    """A 'scanned' A4 letter: noisy grayscale page image with dark text bars, wrapped as PDF."""
    import random

    from PIL import Image, ImageDraw

    dpi = 100
    w, h = round(210 / 25.4 * dpi), round(297 / 25.4 * dpi)
    image = Image.effect_noise((w, h), 24).point(lambda v: min(255, v + 70))
    draw = ImageDraw.Draw(image)
    rng = random.Random(5)
    y = 90
    while y < h - 200:
        draw.rectangle((90, y, 90 + rng.randint(300, w - 200), y + 9), fill=rng.randint(20, 60))
        y += 28
    path = folder / name
    try:
        import img2pdf

        jpeg = io.BytesIO()
        image.save(jpeg, format="JPEG", quality=70, dpi=(dpi, dpi))
        path.write_bytes(img2pdf.convert(jpeg.getvalue()))
        return path, f"img2pdf {getattr(img2pdf, '__version__', '?')} (noisy grayscale JPEG)"
    except ImportError:
        import PIL

        image.save(path, format="PDF", resolution=dpi)
        return path, (
            f"Pillow {PIL.__version__} PDF writer (img2pdf not installed): noisy grayscale "
            f"{w}x{h} scan at {dpi} dpi"
        )


def _self_signed_signer() -> tuple[Any, bytes]:
    """A pyHanko SimpleSigner with a self-made, self-signed ECDSA key; and the certificate (DER)."""
    from asn1crypto import keys
    from asn1crypto import x509 as ax509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Rina Ayu Lestari"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = signers.SimpleSigner(
        signing_cert=ax509.Certificate.load(der),
        signing_key=keys.PrivateKeyInfo.load(pkcs8),
        cert_registry=SimpleCertificateStore.from_certs([]),
    )
    return signer, der


def signed_pdf(data: bytes, visible: bool = True, strict: bool = True) -> bytes:
    """``data`` signed (PAdES, pyHanko) by an applicant's self-made key, in one incremental
    update; ``strict=False`` lets pyHanko sign files with sloppy cross-reference data, as
    lenient signing tools do."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.fields import SigSeedSubFilter

    signer, _ = _self_signed_signer()
    meta = signers.PdfSignatureMetadata(
        field_name="TandaTanganPemohon",
        md_algorithm="sha256",
        reason="Saya menyetujui isi surat ini",
        subfilter=SigSeedSubFilter.PADES,
    )
    spec = (
        fields.SigFieldSpec("TandaTanganPemohon", on_page=0, box=(70, 60, 250, 120))
        if visible
        else None
    )
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=signer, new_field_spec=spec).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(data), strict=strict), output=out
    )
    return out.getvalue()


def sloppy_xref(data: bytes, entry: int = 2, by: int = 1) -> bytes:
    """``data`` with cross-reference entry ``entry`` of its first table pointing ``by`` bytes
    past its object, as sloppy producers write: readers find the object anyway."""
    import re

    m = re.search(rb"xref\s+0 \d+\s+", data)
    assert m is not None, "no classic cross-reference table"
    start = m.end() + 20 * entry
    offset = int(data[start : start + 10])
    return data[:start] + b"%010d" % (offset + by) + data[start + 10 :]


def _acroform(size: tuple[float, float] = A4) -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=size, invariant=1)
    c.setFont("Times-Roman", 12)
    c.drawString(72, 770, "Formulir pendaftaran (reportlab AcroForm)")
    c.drawString(72, 722, "Nama lengkap:")
    c.acroForm.textfield(
        name="nama_lengkap",
        tooltip="Nama lengkap",
        x=170,
        y=715,
        width=300,
        height=20,
        value="Rina Ayu Lestari",
        borderStyle="inset",
        forceBorder=True,
    )
    c.drawString(420, 150, PLACEHOLDER)
    c.showPage()
    c.save()
    return buf.getvalue()


def _annotated() -> bytes:
    from pypdf.annotations import FreeText, Link, Text

    def edit(writer: Any) -> None:
        writer.add_annotation(
            0,
            FreeText(text="Catatan: lampirkan ijazah", rect=(72, 500, 300, 540), font_size="10pt"),
        )
        writer.add_annotation(
            0, Text(rect=(320, 500, 340, 520), text="Komentar pemeriksa", open=False)
        )
        writer.add_annotation(0, Link(rect=(72, 460, 300, 480), url="https://sscasn.bkn.go.id/"))

    return _pypdf_rewrite(letter_pdf(1), edit)


def _attachment() -> bytes:
    def edit(writer: Any) -> None:
        writer.add_attachment("lampiran-ijazah.txt", b"Ijazah S1, IPK 3,52\n" * 20)

    return _pypdf_rewrite(letter_pdf(1), edit)


def _rotated(rotation: int) -> bytes:
    def edit(writer: Any) -> None:
        for page in writer.pages:
            page.rotate(rotation)

    return _pypdf_rewrite(letter_pdf(2), edit)


def _cropped() -> bytes:
    from pypdf.generic import RectangleObject

    def edit(writer: Any) -> None:
        for page in writer.pages:
            page.cropbox = RectangleObject([40, 60, 540, 780])

    return _pypdf_rewrite(letter_pdf(1), edit)


def _soffice(folder: Path, name: str, exe: str) -> Path:
    src = folder / "soffice-source.txt"
    src.write_text(
        "Surat lamaran CPNS (LibreOffice)\n\nDengan hormat, saya mengajukan lamaran.\n\n"
        f"{PLACEHOLDER}\n\nRina Ayu Lestari\n"
    )
    outdir = folder / "soffice-out"
    outdir.mkdir(exist_ok=True)
    # a profile of its own, so that parallel test workers never share LibreOffice's lock
    profile = (folder / "soffice-profile").resolve().as_uri()
    _run(
        [
            exe,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(outdir),
            str(src),
        ]
    )
    out = folder / name
    shutil.move(str(outdir / "soffice-source.pdf"), out)
    return out


def _chromium(folder: Path, name: str, exe: str) -> Path:
    src = folder / "chromium-source.html"
    src.write_text(
        "<!doctype html><meta charset=utf-8><title>Lamaran</title>"
        "<h1>Surat lamaran CPNS (Chromium)</h1><p>Dengan hormat, saya mengajukan lamaran.</p>"
        f"<p style='margin-top:15cm;text-align:right'>{PLACEHOLDER}<br><br>Rina Ayu Lestari</p>"
    )
    out = folder / name
    _run(
        [
            exe,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-pdf-header-footer",
            f"--user-data-dir={folder / 'chromium-profile'}",
            f"--print-to-pdf={out}",
            src.as_uri(),
        ]
    )
    return out


def _first_tool(*names: str) -> str | None:
    for name in names:
        path = tool(name)
        if path is not None:
            return path
    return None


# What make_producer_files returns, in order (files whose producer is missing have no path).
PRODUCER_FILE_NAMES = (
    "gs-pdfwrite.pdf",
    "gs-pdf13.pdf",
    "scan-grayscale.pdf",
    "reportlab-letter.pdf",
    "reportlab-f4.pdf",
    "reportlab-a4-landscape.pdf",
    "reportlab-45-pages.pdf",
    "reportlab-acroform.pdf",
    "qpdf-linearized.pdf",
    "qpdf-object-streams.pdf",
    "mutool-clean.pdf",
    "rotate-90.pdf",
    "rotate-270.pdf",
    "cropbox-inside-mediabox.pdf",
    "annotations.pdf",
    "attachment.pdf",
    "already-signed.pdf",
    "libreoffice.pdf",
    "chromium.pdf",
)


def make_producer_files(folder: Path) -> list[Produced]:
    """Every fixture of the first family, written into ``folder`` (created)."""
    import pypdf
    import reportlab

    folder.mkdir(parents=True, exist_ok=True)
    made: list[Produced] = []
    rl = f"reportlab {reportlab.Version}"
    pp = f"pypdf {pypdf.__version__}"

    def write(name: str, data: bytes, producer: str, **extra: Any) -> None:
        path = folder / name
        path.write_bytes(data)
        made.append(Produced(name, producer, path, extra=extra))

    # Ghostscript
    if tool("gs"):
        gs = f"Ghostscript {_version(['gs', '--version'])} pdfwrite"
        made.append(Produced("gs-pdfwrite.pdf", gs, _ghostscript(folder, "gs-pdfwrite.pdf", None)))
        made.append(
            Produced(
                "gs-pdf13.pdf",
                f"{gs}, -dCompatibilityLevel=1.3",
                _ghostscript(folder, "gs-pdf13.pdf", "1.3"),
            )
        )
    else:
        for name in ("gs-pdfwrite.pdf", "gs-pdf13.pdf"):
            made.append(Produced(name, "Ghostscript pdfwrite", None, "producer not installed: gs"))

    # a scan
    path, producer = _scan(folder, "scan-grayscale.pdf")
    made.append(Produced(path.name, producer, path))

    # reportlab
    write("reportlab-letter.pdf", letter_pdf(1, LETTER), f"{rl}, US Letter")
    write("reportlab-f4.pdf", letter_pdf(2, F4), f"{rl}, F4 215x330 mm")
    write("reportlab-a4-landscape.pdf", letter_pdf(1, (A4[1], A4[0])), f"{rl}, A4 landscape")
    write("reportlab-45-pages.pdf", letter_pdf(45), f"{rl}, 45 pages")
    write("reportlab-acroform.pdf", _acroform(), f"{rl}, AcroForm text field")

    # qpdf variants of a 3-page letter
    base = folder / "qpdf-source.pdf"
    base.write_bytes(letter_pdf(3))
    if tool("qpdf"):
        qv = _version(["qpdf", "--version"])
        out = folder / "qpdf-linearized.pdf"
        _run(["qpdf", "--linearize", str(base), str(out)])
        made.append(Produced(out.name, f"{qv} --linearize", out))
        out = folder / "qpdf-object-streams.pdf"
        _run(["qpdf", "--object-streams=generate", str(base), str(out)])
        made.append(Produced(out.name, f"{qv} --object-streams=generate", out))
    else:
        for name in ("qpdf-linearized.pdf", "qpdf-object-streams.pdf"):
            made.append(Produced(name, "qpdf", None, "producer not installed: qpdf"))

    # MuPDF
    if tool("mutool"):
        out = folder / "mutool-clean.pdf"
        _run(["mutool", "clean", "-gggz", str(base), str(out)])
        made.append(
            Produced(out.name, "MuPDF mutool clean -gggz (garbage-collected, compressed)", out)
        )
    else:
        made.append(
            Produced("mutool-clean.pdf", "MuPDF mutool", None, "producer not installed: mutool")
        )

    # pypdf edits of reportlab letters
    write("rotate-90.pdf", _rotated(90), f"{rl} + {pp}: /Rotate 90")
    write("rotate-270.pdf", _rotated(270), f"{rl} + {pp}: /Rotate 270")
    write("cropbox-inside-mediabox.pdf", _cropped(), f"{rl} + {pp}: CropBox smaller than MediaBox")
    write("annotations.pdf", _annotated(), f"{rl} + {pp}: FreeText, Text and Link annotations")
    write("attachment.pdf", _attachment(), f"{rl} + {pp} add_attachment")

    # already signed
    from importlib.metadata import version

    write(
        "already-signed.pdf",
        signed_pdf(letter_pdf(1)),
        f"{rl} + pyHanko {version('pyhanko')}: PAdES signature by a self-made key",
        signed=True,
    )

    # office suites and browsers: only when installed here
    exe = _first_tool("soffice", "libreoffice")
    if exe:
        made.append(
            Produced(
                "libreoffice.pdf",
                "LibreOffice --convert-to pdf",
                _soffice(folder, "libreoffice.pdf", exe),
            )
        )
    else:
        made.append(Produced("libreoffice.pdf", "LibreOffice", None, "producer not installed"))
    exe = _first_tool("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    if exe:
        made.append(
            Produced(
                "chromium.pdf", "Chromium --print-to-pdf", _chromium(folder, "chromium.pdf", exe)
            )
        )
    else:
        made.append(Produced("chromium.pdf", "Chromium", None, "producer not installed"))

    for scratch in (
        "gs-source.ps",
        "qpdf-source.pdf",
        "soffice-source.txt",
        "chromium-source.html",
    ):
        (folder / scratch).unlink(missing_ok=True)
    shutil.rmtree(folder / "soffice-out", ignore_errors=True)
    shutil.rmtree(folder / "soffice-profile", ignore_errors=True)
    shutil.rmtree(folder / "chromium-profile", ignore_errors=True)
    return made


# -- hand-made PDFs for hostile inputs ------------------------------------------------------------


def raw_pdf(objects: list[tuple[int, bytes]], root: int = 1, version: bytes = b"1.7") -> bytes:
    """A PDF from numbered object bodies, with a correct classic cross-reference table."""
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for num, body in objects:
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    size = max(offsets) + 1
    start = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for num in range(1, size):
        out += (b"%010d 00000 n \n" % offsets[num]) if num in offsets else b"0000000000 00000 f \n"
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, start)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


_CATALOG = (1, b"<< /Type /Catalog /Pages 2 0 R >>")
_PAGES = (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
_FONT = b"<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
_CONTENT = (4, _stream(b"BT /F1 12 Tf 72 720 Td (Surat lamaran) Tj ET"))


def _page(media: bytes = b"[0 0 595 842]", extra: bytes = b"") -> bytes:
    return (
        b"<< /Type /Page /Parent 2 0 R /MediaBox "
        + media
        + b" /Contents 4 0 R /Resources "
        + _FONT
        + extra
        + b" >>"
    )


def one_page_pdf(media: bytes = b"[0 0 595 842]", extra: bytes = b"") -> bytes:
    return raw_pdf([_CATALOG, _PAGES, (3, _page(media, extra)), _CONTENT])


def zero_pages_pdf() -> bytes:
    return raw_pdf([_CATALOG, (2, b"<< /Type /Pages /Kids [] /Count 0 >>")])


@functools.cache
def deflate_bomb_pdf(inflated_mib: int = 1100) -> bytes:
    """One page whose content stream inflates to ``inflated_mib`` MiB of zeros (>1 GB) from a
    file of ~14 KB: the zeros are deflated twice (``/Filter [/FlateDecode /FlateDecode]``),
    streamed one MiB at a time, so making it never holds the inflated data in memory."""
    inner = zlib.compressobj(1)
    chunk = bytes(1 << 20)
    parts = [inner.compress(chunk) for _ in range(inflated_mib)]
    parts.append(inner.flush())
    outer = zlib.compress(b"".join(parts), 9)
    content = (4, _stream(outer, b" /Filter [/FlateDecode /FlateDecode]"))
    return raw_pdf([_CATALOG, _PAGES, (3, _page()), content])


def deeply_nested_pdf(depth: int = 100_000) -> bytes:
    """A page dictionary holding ``depth`` nested arrays."""
    return one_page_pdf(extra=b" /Nested " + b"[" * depth + b"]" * depth)


def parent_loop_pdf() -> bytes:
    """No MediaBox anywhere, and the page-tree root's /Parent is its own page: looking up an
    inherited attribute walks page -> root -> page -> ... forever."""
    return raw_pdf(
        [
            _CATALOG,
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Parent 3 0 R >>"),
            (3, b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources " + _FONT + b" >>"),
            _CONTENT,
        ]
    )


def kids_loop_pdf() -> bytes:
    """The page tree's root lists itself among its /Kids (and is its own /Parent)."""
    return raw_pdf(
        [
            _CATALOG,
            (2, b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 /Parent 2 0 R >>"),
            (3, _page()),
            _CONTENT,
        ]
    )


def page_with_kids_pdf() -> bytes:
    """A node typed /Page that also has /Kids (found by fuzzing: one flipped byte turned
    /Pages into /Page): pypdf takes it for the page, pyHanko for a node above one."""
    return raw_pdf(
        [
            _CATALOG,
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
            (3, b"<< /Type /Page /Parent 2 0 R /Kids [5 0 R] /Count 1 >>"),
            _CONTENT,
            (
                5,
                b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
                b" /Resources " + _FONT + b" >>",
            ),
        ]
    )


def self_reference_pdf() -> bytes:
    """Object 5 is ``5 0 R`` (it references itself), used as the page's MediaBox."""
    return raw_pdf([_CATALOG, _PAGES, (3, _page(media=b"5 0 R")), _CONTENT, (5, b"5 0 R")])


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 120)).save(buf, format="PNG")
    return buf.getvalue()


@dataclass(frozen=True)
class BadInput:
    name: str  # file name, ends in .pdf
    what: str
    make: Callable[[], bytes]
    known_bug: str | None = None  # emeterai currently stamps (or hangs on) it: see the report


BAD_INPUTS: tuple[BadInput, ...] = (
    BadInput("not-a-pdf.pdf", "plain text", lambda: b"Ini bukan PDF, hanya teks biasa.\n" * 3),
    BadInput("empty.pdf", "an empty file", lambda: b""),
    BadInput(
        "truncated-half.pdf",
        "a 2-page letter cut in half (inside page 2's content stream)",
        lambda: (d := letter_pdf(2))[: len(d) // 2],
    ),
    BadInput("zero-pages.pdf", "/Pages with /Kids [] /Count 0", zero_pages_pdf),
    BadInput("png-renamed.pdf", "a PNG image named .pdf", png_bytes),
    BadInput(
        "deflate-bomb.pdf",
        "a content stream that inflates to 1.1 GiB (14 KB file, FlateDecode twice)",
        deflate_bomb_pdf,
    ),
    BadInput("deeply-nested.pdf", "100000 nested arrays in the page dictionary", deeply_nested_pdf),
    BadInput(
        "parent-loop.pdf",
        "the page-tree root's /Parent is its own page (inheritance loop)",
        parent_loop_pdf,
    ),
    BadInput("kids-loop.pdf", "the page-tree root lists itself in /Kids", kids_loop_pdf),
    BadInput("self-reference.pdf", "object 5 is '5 0 R', used as the MediaBox", self_reference_pdf),
    BadInput("page-with-kids.pdf", "a node typed /Page that has /Kids", page_with_kids_pdf),
    BadInput(
        "pages-self-reference.pdf",
        "the catalog's /Pages is object 2, whose value is '2 0 R'",
        lambda: raw_pdf([_CATALOG, (2, b"2 0 R"), (3, _page()), _CONTENT]),
    ),
    BadInput(
        "mediabox-five-numbers.pdf",
        "MediaBox [0 0 595 841 898] (a '.' flipped to ' ')",
        lambda: one_page_pdf(b"[0 0 595 841 898]"),
    ),
    BadInput(
        "page-1e9.pdf",
        "MediaBox [0 0 1000000000 1000000000]",
        lambda: one_page_pdf(b"[0 0 1000000000 1000000000]"),
    ),
    BadInput("page-zero-size.pdf", "MediaBox [0 0 0 0]", lambda: one_page_pdf(b"[0 0 0 0]")),
)


def bad_input_files(folder: Path, only: Callable[[BadInput], bool] = lambda b: True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for bad in BAD_INPUTS:
        if only(bad):
            path = folder / bad.name
            path.write_bytes(bad.make())
            paths.append(path)
    return paths


# -- a throwaway issuer and wallet ----------------------------------------------------------------

SANDBOX_PASSPHRASE = "robustness-sandbox"


@dataclass
class Sandbox:
    """A specimen issuer, its root, and a wallet with stamps, all under ``folder``."""

    folder: Path
    issuer: Any
    wallet: Any
    key: Any
    roots: list[Any]
    passphrase: str = SANDBOX_PASSPHRASE

    def used(self) -> int:
        return sum(e.state == "used" for e in self.wallet.entries())

    def available(self) -> int:
        return sum(e.state == "available" for e in self.wallet.entries())

    def top_up(self, count: int) -> None:
        stamps = self.issuer.issue(count, self.passphrase)
        outcomes = self.wallet.import_stamps(
            [(s.serial, s.p12) for s in stamps], self.passphrase, self.roots
        )
        assert all(o.status == "imported" for o in outcomes), outcomes


def throwaway_wallet(folder: Path, stamps: int) -> Sandbox:
    """A new specimen issuer and a wallet holding ``stamps`` stamps, in ``folder`` only."""
    from emeterai.issuer import Issuer
    from emeterai.wallet import Wallet

    folder.mkdir(parents=True, exist_ok=True)
    issuer = Issuer.create(
        folder / "issuer", SANDBOX_PASSPHRASE, name="Robustness Test Issuer", specimen=True
    )
    wallet = Wallet(folder / "wallet" / "wallet.db")
    sandbox = Sandbox(folder, issuer, wallet, None, [issuer.root])
    if stamps:
        sandbox.top_up(stamps)
        sandbox.key = wallet.unlock(SANDBOX_PASSPHRASE)
    return sandbox


def main() -> None:  # pragma: no cover - manual use: python tests/support/producers.py DIR
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "producer-files")
    for p in make_producer_files(folder):
        print(f"{p.name:32} {p.producer} {p.note}")
    for path in bad_input_files(folder / "bad"):
        print(path)


if __name__ == "__main__":  # pragma: no cover
    main()


# -- photographic scans (emeterai shrink's inputs) -------------------------------------------------


def photo(width: int, height: int, seed: int = 1) -> Image.Image:
    """A photographic picture: gradients and blurred noise (it does not compress trivially),
    with dark bars like lines of text."""
    rng = random.Random(seed)
    red = Image.linear_gradient("L").resize((width, height))
    green = Image.effect_noise((width, height), 40).filter(ImageFilter.GaussianBlur(2))
    blue = Image.linear_gradient("L").rotate(90).resize((width, height))
    image = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(image)
    y = height // 20
    while y < height - height // 10:
        right = rng.randint(width // 3, width - width // 8)
        draw.rectangle((width // 16, y, right, y + max(2, height // 180)), fill=(20, 20, 30))
        y += max(6, height // 50)
    return image


def jpeg(image: Image.Image, quality: int = 92, dpi: int = 300) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality, dpi=(dpi, dpi))
    return buf.getvalue()


def scan_pdf(dpi: int = 300) -> bytes:
    """An A4 'scan' at ``dpi`` wrapped as PDF by img2pdf, as scanner apps write them."""
    import img2pdf

    size = (round(210 / 25.4 * dpi), round(297 / 25.4 * dpi))
    return bytes(img2pdf.convert(jpeg(photo(*size), dpi=dpi)))
