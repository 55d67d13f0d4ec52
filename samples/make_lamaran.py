"""Generate samples/lamaran.pdf: a fictional one-page Indonesian CPNS application letter.

Why: it is a realistic test document for emeterai. The signature block holds a
placeholder text "Meterai 10.000" (real, extractable text in a dashed ~25 mm box)
so tests can check that the stamp is placed on it.

Placeholder centre: PLACEHOLDER_CENTER_MM = (157.5, 232.0) millimetres, measured
from the top-left corner of the A4 page (x to the right, y downwards).

Output is byte-for-byte deterministic (invariant=1, creation date pinned to
2024-09-02 via SOURCE_DATE_EPOCH while the Canvas is built, so a caller's own
SOURCE_DATE_EPOCH cannot change it); uses only reportlab and the standard
Helvetica/Times fonts.

Usage: python samples/make_lamaran.py [OUT]   (default: lamaran.pdf next to this script)
"""

import os
import sys
from pathlib import Path

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

PAGE_W, PAGE_H = A4
PLACEHOLDER_TEXT = "Meterai 10.000"
PLACEHOLDER_CENTER_MM = (157.5, 232.0)  # (x, y) from the top-left corner, mm
BOX_MM = 25.0
FIXED_EPOCH = 1725264000  # 2024-09-02 08:00:00 UTC, used as CreationDate/ModDate

LEFT, RIGHT = 25 * mm, PAGE_W - 25 * mm
FONT, BOLD, SIZE, LEAD = "Times-Roman", "Times-Bold", 12, 16

APPLICANT = [
    ("Nama", "Rina Ayu Lestari"),
    ("NIK", "3372014506970003"),
    ("Tempat/Tanggal Lahir", "Surakarta, 5 Juni 1997"),
    ("Pendidikan Terakhir", "S-1 Akuntansi, Universitas Sebelas Maret"),
    ("Alamat", "Jl. Melati No. 17, Laweyan, Surakarta 57148"),
    ("No. HP", "0812-3456-7890"),
]
ATTACHMENTS = [
    "Fotokopi KTP",
    "Fotokopi Ijazah S-1 yang telah dilegalisir",
    "Fotokopi Transkrip Nilai yang telah dilegalisir",
    "Pas foto berwarna ukuran 4x6 cm (2 lembar)",
    "Surat pernyataan bermeterai (5 poin)",
]


def _y(top_mm):
    """Convert a distance from the top of the page (mm) to a PDF y coordinate (pt)."""
    return PAGE_H - top_mm * mm


def _paragraph(c, text, y, width=RIGHT - LEFT, indent=12 * mm):
    """Draw a left-aligned wrapped paragraph starting at y (pt); return the next y."""
    words, line, first = text.split(), "", True
    for word in words + [None]:
        x = LEFT + (indent if first else 0)
        trial = f"{line} {word}".strip() if word else line
        if word and c.stringWidth(trial, FONT, SIZE) <= width - (x - LEFT):
            line = trial
            continue
        c.drawString(x, y, line)
        y, line, first = y - LEAD, word or "", False
    return y


def make_lamaran(path):
    """Write the letter to `path`; return the placeholder centre in mm from the top-left."""
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(FIXED_EPOCH)  # read once, by the Canvas
    try:
        c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    finally:
        if saved is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved
    c.setTitle("Surat Lamaran CPNS - Rina Ayu Lestari")
    c.setAuthor("Rina Ayu Lestari")
    c.setFont(FONT, SIZE)

    c.drawRightString(RIGHT, _y(25), "Surakarta, 2 September 2024")
    y = _y(37)
    for label, value in [
        ("Perihal", "Lamaran CPNS Formasi Analis Keuangan Tahun 2024"),
        ("Lampiran", "5 (lima) berkas"),
    ]:
        c.drawString(LEFT, y, label)
        c.drawString(LEFT + 20 * mm, y, ": " + value)
        y -= LEAD

    y -= LEAD
    for line in [
        "Yth. Kepala Badan Kepegawaian Negara",
        "u.p. Panitia Seleksi CPNS Tahun 2024",
        "di Tempat",
    ]:
        c.drawString(LEFT, y, line)
        y -= LEAD

    y -= LEAD
    c.drawString(LEFT, y, "Dengan hormat,")
    y -= LEAD * 1.5
    c.drawString(LEFT, y, "Saya yang bertanda tangan di bawah ini:")
    y -= LEAD
    for label, value in APPLICANT:
        c.drawString(LEFT + 10 * mm, y, label)
        c.drawString(LEFT + 55 * mm, y, ": " + value)
        y -= LEAD

    y -= LEAD / 2
    y = _paragraph(
        c,
        "Dengan ini mengajukan lamaran untuk mengikuti Seleksi Calon Pegawai "
        "Negeri Sipil (CPNS) Tahun Anggaran 2024 pada formasi Analis Keuangan "
        "di lingkungan Badan Kepegawaian Negara. Sebagai bahan pertimbangan, "
        "bersama ini saya lampirkan:",
        y,
    )
    for i, item in enumerate(ATTACHMENTS, 1):
        c.drawString(LEFT + 10 * mm, y, f"{i}.")
        c.drawString(LEFT + 16 * mm, y, item)
        y -= LEAD

    y -= LEAD / 2
    _paragraph(
        c,
        "Demikian surat lamaran ini saya buat dengan sebenar-benarnya. Atas "
        "perhatian dan kebijaksanaan Bapak/Ibu, saya ucapkan terima kasih.",
        y,
    )

    # Signature block, centred on the placeholder column at the bottom right.
    cx_mm, cy_mm = PLACEHOLDER_CENTER_MM
    cx, cy = cx_mm * mm, _y(cy_mm)
    c.drawCentredString(cx, cy + 20 * mm, "Hormat saya,")
    half = BOX_MM / 2 * mm
    c.saveState()
    c.setStrokeColor(Color(0.6, 0.6, 0.6))
    c.setLineWidth(0.5)
    c.setDash(3, 2)
    c.rect(cx - half, cy - half, 2 * half, 2 * half)
    c.setFillColor(Color(0.6, 0.6, 0.6))
    c.setFont("Helvetica", 9)
    c.drawCentredString(cx, cy - 9 * 0.35, PLACEHOLDER_TEXT)  # baseline offset centres caps
    c.restoreState()
    c.setFont(BOLD, SIZE)
    c.drawCentredString(cx, cy - half - 8 * mm, "Rina Ayu Lestari")
    c.setLineWidth(0.5)
    c.setStrokeColor(black)
    name_w = c.stringWidth("Rina Ayu Lestari", BOLD, SIZE)
    c.line(cx - name_w / 2, cy - half - 8.8 * mm, cx + name_w / 2, cy - half - 8.8 * mm)

    c.showPage()
    c.save()
    return PLACEHOLDER_CENTER_MM


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("lamaran.pdf")
    print("placeholder centre (mm from top-left):", make_lamaran(out))
