"""Stamping end to end (docs/architecture.md): the stamped sample letter checked by independent tools and
shown by four renderers, documents already signed or stamped, and the self-check that never
spends a stamp on an output that does not verify.

Independent validators: qpdf, poppler (pdfsig, pdftotext, pdftoppm), MuPDF (mutool), Ghostscript,
PDFium (pypdfium2), pyHanko's own validation, zxing-cpp for the QR code. pdfsig and mutool exit 0
even when a digest does not match, so their text is what the tests read.

Where the stamp goes on odd pages is in test_stamp_placement.py, what failures, crashes and
concurrent processes leave behind in test_stamp_atomicity.py, the command's options for outputs
and its usage checks in cli/test_stamp.py.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdf
import pytest
from PIL import Image

from emeterai import serial as serials
from emeterai._render import qr_payload
from emeterai.cli import app
from emeterai.issuer import Issuer
from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.verify import Verifier
from emeterai.wallet import Wallet
from tests.support import pdfmakers
from tests.support.common import PASSPHRASE, require_tool
from tests.support.stamping import (
    RENDERERS,
    Kit,
    _count,
    _error_lines,
    _json_lines,
    _reader_centre_mm,
    _states,
    _temp_files,
    assert_stamp_shown,
    assert_upright_qr,
    decode_qr,
    magenta_mask,
    pink_mask,
    render_poppler,
)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "lamaran.pdf"
SPEC_JSON_KEYS = {
    "file",
    "output",
    "serial",
    "page",
    "rect_pt",
    "placement",
    "placeholder_text",
    "document_sha256",
    "bytes_added",
}


def _placeholder_center_mm() -> tuple[float, float]:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_lamaran", ROOT / "samples" / "make_lamaran.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x, y = module.PLACEHOLDER_CENTER_MM
    return float(x), float(y)


# -- independent validators -------------------------------------------------------------------


def _asn1_cert(pem_or_der: bytes) -> Any:
    from asn1crypto import pem
    from asn1crypto import x509 as ax509

    if pem.detect(pem_or_der):
        pem_or_der = pem.unarmor(pem_or_der)[2]
    return ax509.Certificate.load(pem_or_der)


def _pyhanko_statuses(pdf: Path, roots: list[bytes]) -> dict[str, Any]:
    """pyHanko's validation status of every signature, by field name."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    out = {}
    with pdf.open("rb") as fh:
        reader = PdfFileReader(fh, strict=False)
        for emb in reader.embedded_signatures:
            context = ValidationContext(trust_roots=[_asn1_cert(r) for r in roots])
            out[emb.field_name] = validate_pdf_signature(emb, context)
    return out


def _nss_db(folder: Path, pems: list[bytes]) -> Path:
    certutil = require_tool("certutil")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([certutil, "-N", "-d", f"sql:{folder}", "--empty-password"], check=True)
    for i, pem in enumerate(pems):
        path = folder / f"root{i}.pem"
        path.write_bytes(pem)
        subprocess.run(
            [
                certutil,
                "-A",
                "-d",
                f"sql:{folder}",
                "-n",
                f"root{i}",
                "-t",
                "C,C,C",
                "-i",
                str(path),
            ],
            check=True,
        )
    return folder


def _pdfsig(pdf: Path, nss: Path) -> str:
    pdfsig = require_tool("pdfsig")
    proc = subprocess.run(
        [pdfsig, "-nssdir", f"sql:{nss}", str(pdf)], capture_output=True, text=True, timeout=60
    )
    return proc.stdout + proc.stderr


def _mutool_verify(pdf: Path) -> str:
    mutool = require_tool("mutool")
    proc = subprocess.run(
        [mutool, "sign", "-v", str(pdf)], capture_output=True, text=True, timeout=60
    )
    return proc.stdout + proc.stderr


# == the stamped sample letter ==================================================================


@dataclass(frozen=True)
class SampleRun:
    source: Path
    source_bytes: bytes
    output: Path
    record: dict[str, Any]
    stderr: str


@pytest.fixture(scope="module")
def sample_run(kit: Kit) -> SampleRun:
    folder = kit.folder("sample")
    source = folder / "lamaran.pdf"
    shutil.copyfile(SAMPLE, source)
    before = source.read_bytes()
    result, records = kit.stamp(source)
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert len(records) == 1, result.stdout
    return SampleRun(source, before, folder / "lamaran.emeterai.pdf", records[0], result.stderr)


def test_sample_json_record_has_exactly_the_spec_keys(sample_run):
    record = sample_run.record
    assert set(record) == SPEC_JSON_KEYS
    assert record["file"] == str(sample_run.source)
    assert record["output"] == str(sample_run.output)
    assert record["page"] == 1
    assert record["placement"] == "placeholder"
    assert serials.is_valid(record["serial"])
    assert record["document_sha256"] == hashlib.sha256(sample_run.source_bytes).hexdigest()
    assert len(record["rect_pt"]) == 4
    assert (
        f"stamped {sample_run.source} -> {sample_run.output}: {record['serial']}"
        in sample_run.stderr
    )


def test_sample_output_extends_the_input_byte_for_byte(sample_run):
    output = sample_run.output.read_bytes()
    assert output.startswith(sample_run.source_bytes)
    assert len(output) > len(sample_run.source_bytes)
    assert sample_run.source.read_bytes() == sample_run.source_bytes, "the input was modified"


def test_sample_bytes_added_is_reported_and_at_most_30_kb(sample_run):
    added = sample_run.output.stat().st_size - len(sample_run.source_bytes)
    assert sample_run.record["bytes_added"] == added
    assert added <= 30 * 1024


def test_sample_serial_is_spent_on_this_document(sample_run, kit):
    entry = next(e for e in kit.wallet.entries() if e.serial == sample_run.record["serial"])
    assert entry.state == "used"
    assert entry.used_sha256 == sample_run.record["document_sha256"]
    assert entry.output_path == str(sample_run.output.absolute())


def test_sample_passes_qpdf_check(sample_run):
    qpdf = require_tool("qpdf")
    proc = subprocess.run([qpdf, "--check", str(sample_run.output)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No syntax or stream encoding errors found" in proc.stdout


def test_sample_pdfsig_valid_trusted_and_total(sample_run, kit, tmp_path):
    nss = _nss_db(tmp_path / "nss", [kit.root_pem.read_bytes()])
    text = _pdfsig(sample_run.output, nss)
    assert text.count("Signature #") == 1, text
    assert "Signature is Valid." in text
    assert "Certificate is Trusted." in text
    assert "Total document signed" in text
    assert f"eMeterai_{sample_run.record['serial']}" in text
    assert "ETSI.CAdES.detached" in text


def test_sample_mutool_says_unchanged_since_signing(sample_run):
    text = _mutool_verify(sample_run.output)
    assert "The document is unchanged since signing" in text, text
    assert "Digest error" not in text


def test_sample_pyhanko_validation_intact_valid_trusted_entire_file(sample_run, kit):
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    statuses = _pyhanko_statuses(sample_run.output, [kit.root_pem.read_bytes()])
    assert list(statuses) == [f"eMeterai_{sample_run.record['serial']}"]
    status = next(iter(statuses.values()))
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE


def test_sample_verifies_with_emeterai(sample_run, kit):
    result = kit.verifier().verify(sample_run.output.read_bytes(), str(sample_run.output))
    assert result.problems == ()
    assert [s.serial for s in result.stamps] == [sample_run.record["serial"]]
    stamp = result.stamps[0]
    assert stamp.issuer == "Test Issuer" and stamp.specimen is True and stamp.value == 10000
    assert stamp.document_sha256 == sample_run.record["document_sha256"]


def test_tampering_with_the_sample_is_seen_by_every_validator(sample_run, kit, tmp_path):
    """The validators used above do tell a broken digest from a good one."""
    data = bytearray(sample_run.output.read_bytes())
    at = data.index(b"ReportLab Generated PDF document")
    data[at] = ord("X")  # inside a comment: the file still parses, the digest no longer matches
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    nss = _nss_db(tmp_path / "nss", [kit.root_pem.read_bytes()])
    pdfsig_text = _pdfsig(tampered, nss)
    assert "Signature #1" in pdfsig_text and "Signature is Valid." not in pdfsig_text
    mutool_text = _mutool_verify(tampered)
    assert "Verifying signature" in mutool_text
    assert "The document is unchanged since signing" not in mutool_text
    status = next(iter(_pyhanko_statuses(tampered, [kit.root_pem.read_bytes()]).values()))
    assert not status.intact
    codes = {p.code for p in kit.verifier().verify(bytes(data), "tampered.pdf").problems}
    assert "signature-invalid" in codes


def test_sample_pdftotext_finds_the_serial_on_the_stamped_page(sample_run):
    pdftotext = require_tool("pdftotext")
    proc = subprocess.run(
        [pdftotext, "-f", "1", "-l", "1", str(sample_run.output), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sample_run.record["serial"] in proc.stdout.split()
    assert "METERAI ELEKTRONIK" in proc.stdout
    original = subprocess.run(
        [pdftotext, str(sample_run.source), "-"], capture_output=True, text=True, check=True
    )
    assert sample_run.record["serial"] not in original.stdout


def test_sample_stamp_centre_lies_on_the_placeholder(sample_run):
    centre = _reader_centre_mm(sample_run.output, 0, sample_run.record["rect_pt"])
    expected = _placeholder_center_mm()
    distance = ((centre[0] - expected[0]) ** 2 + (centre[1] - expected[1]) ** 2) ** 0.5
    assert distance <= 5.0, (centre, expected)


@pytest.fixture(scope="module")
def sample_renders(sample_run, tmp_path_factory) -> dict[str, Image.Image]:
    out = tmp_path_factory.mktemp("sample-renders")
    return {name: fn(sample_run.output, 150, out / f"{name}.png") for name, fn in RENDERERS.items()}


@pytest.mark.parametrize("renderer", list(RENDERERS))
def test_sample_renders_show_the_stamp_on_the_placeholder(sample_run, sample_renders, renderer):
    centre = _reader_centre_mm(sample_run.output, 0, sample_run.record["rect_pt"])
    assert_stamp_shown(sample_renders[renderer], 150, centre)


@pytest.mark.parametrize("renderer", ["poppler", "pdfium"])
def test_sample_qr_decodes_from_a_150_dpi_render(sample_run, sample_renders, renderer):
    record = sample_run.record
    payload = qr_payload(record["serial"], record["document_sha256"])
    assert record["serial"] in payload
    centre = _reader_centre_mm(sample_run.output, 0, record["rect_pt"])
    assert_upright_qr(sample_renders[renderer], 150, centre, payload)


def test_sample_stamp_is_a_printable_widget_not_page_content(sample_run, tmp_path):
    """docs/architecture.md: the picture is the appearance of the stamp's own signature field; the
    page's content stream is untouched (Ghostscript without annotations shows no stamp)."""
    before = pypdf.PdfReader(sample_run.source).pages[0]
    after = pypdf.PdfReader(sample_run.output).pages[0]
    assert after.get_contents().get_data() == before.get_contents().get_data()
    (widget,) = [a.get_object() for a in after["/Annots"]]
    assert widget["/Subtype"] == "/Widget" and widget["/FT"] == "/Sig"
    assert widget["/T"] == f"eMeterai_{sample_run.record['serial']}"
    assert int(widget["/F"]) & 4, "the stamp annotation is not printable"
    assert [round(float(v), 1) for v in widget["/Rect"]] == pytest.approx(
        sample_run.record["rect_pt"], abs=0.1
    )
    gs = require_tool("gs")
    out = tmp_path / "no-annots.png"
    subprocess.run(
        [gs, "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=png16m", "-r72",
         "-dShowAnnots=false", f"-sOutputFile={out}", str(sample_run.output)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert magenta_mask(Image.open(out).convert("RGB")).getbbox() is None


def test_original_sample_renders_without_stamp_colours(sample_run, tmp_path):
    """Control: the magenta/pink detector finds nothing on the unstamped letter."""
    image = render_poppler(sample_run.source, 150, tmp_path / "orig.png")
    assert magenta_mask(image).getbbox() is None
    assert _count(pink_mask(image)) == 0
    assert decode_qr(image) == []


def _mutool_text(pdf: Path) -> str:
    """Page 1's text from MuPDF's text device, which keeps the turned SPESIMEN word whole
    (pdftotext splits it into pieces)."""
    mutool = require_tool("mutool")
    return subprocess.run(
        [mutool, "draw", "-q", "-F", "txt", str(pdf), "1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_sample_specimen_stamp_shows_spesimen(sample_run):
    assert "SPESIMEN" in _mutool_text(sample_run.output).split()
    assert "SPESIMEN" not in _mutool_text(sample_run.source)


def test_stamp_of_a_real_issuer_has_no_spesimen_and_verifies_as_real(home, runner, tmp_path):
    real = Issuer.create(home / "issuer", PASSPHRASE, name="Real Issuer", specimen=False)
    trust = TrustStore(home / "trust")
    trust.add(real.root_pem(), "real issuer root")
    wallet = Wallet(home / "wallet" / "wallet.db")
    stamps = [(s.serial, s.p12) for s in real.issue(1, PASSPHRASE)]
    assert [o.status for o in wallet.import_stamps(stamps, PASSPHRASE, trust.certificates())] == [
        "imported"
    ]
    source = tmp_path / "lamaran.pdf"
    shutil.copyfile(SAMPLE, source)
    result = runner.invoke(app, ["stamp", str(source), "--json"])
    assert result.exit_code == 0, result.stderr
    (record,) = _json_lines(result.stdout)
    output = Path(record["output"])
    shown = _mutool_text(output).split()
    assert record["serial"] in shown and "Real" in shown
    assert "SPESIMEN" not in shown
    verdict = Verifier([real.root]).verify(output.read_bytes(), str(output))
    assert verdict.valid, verdict.problems
    assert verdict.stamps[0].specimen is False and verdict.stamps[0].issuer == "Real Issuer"
    centre = _reader_centre_mm(output, 0, record["rect_pt"])
    image = render_poppler(output, 150, tmp_path / "p.png")
    assert_stamp_shown(image, 150, centre)
    assert_upright_qr(image, 150, centre, qr_payload(record["serial"], record["document_sha256"]))


# == documents already signed or stamped ========================================================


def test_existing_signature_still_validates_after_stamping(kit, tmp_path):
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    folder = kit.folder("signed")
    source, other = pdfmakers.signed_by_other_pdf(folder / "signed.pdf")
    before = source.read_bytes()
    pre = _pyhanko_statuses(source, [other.root_der])["TandaTanganPemohon"]
    assert pre.intact and pre.valid and pre.trusted  # the fixture itself is sound

    result, records = kit.stamp(source)
    assert result.exit_code == 0, result.stderr
    output = Path(records[0]["output"])
    assert output.read_bytes().startswith(before)

    statuses = _pyhanko_statuses(output, [other.root_der, kit.root_pem.read_bytes()])
    assert set(statuses) == {"TandaTanganPemohon", f"eMeterai_{records[0]['serial']}"}
    applicant = statuses["TandaTanganPemohon"]
    assert applicant.intact and applicant.valid and applicant.trusted
    assert applicant.coverage == SignatureCoverageLevel.ENTIRE_REVISION
    assert applicant.modification_level is not None
    assert applicant.modification_level <= ModificationLevel.FORM_FILLING
    assert applicant.docmdp_ok is not False
    stamp = statuses[f"eMeterai_{records[0]['serial']}"]
    assert stamp.intact and stamp.valid and stamp.trusted
    assert stamp.coverage == SignatureCoverageLevel.ENTIRE_FILE

    nss = _nss_db(tmp_path / "nss", [kit.root_pem.read_bytes(), other.root_pem])
    text = _pdfsig(output, nss)
    assert text.count("Signature is Valid.") == 2, text
    assert text.count("Certificate is Trusted.") == 2, text

    verdict = kit.verifier().verify(output.read_bytes(), str(output))
    assert verdict.problems == ()
    assert [s.serial for s in verdict.stamps] == [records[0]["serial"]]


def test_second_stamp_spends_a_second_serial_and_keeps_the_first_valid(kit, sample_run, tmp_path):
    from pyhanko.sign.diff_analysis import ModificationLevel

    folder = kit.folder("second")
    once = folder / "lamaran.stamped-once.pdf"
    shutil.copyfile(sample_run.output, once)
    first = sample_run.record["serial"]

    result, records = kit.stamp(once, "--add-stamp")
    assert result.exit_code == 0, result.stderr
    second = records[0]["serial"]
    assert second != first
    output = Path(records[0]["output"])
    assert output.read_bytes().startswith(once.read_bytes())

    states = _states(kit.wallet)
    assert states[first] == "used" and states[second] == "used"

    verdict = kit.verifier().verify(output.read_bytes(), str(output))
    assert verdict.problems == (), verdict.problems
    assert [s.serial for s in verdict.stamps] == [first, second]
    assert all(s.problems == () for s in verdict.stamps)

    statuses = _pyhanko_statuses(output, [kit.root_pem.read_bytes()])
    earlier = statuses[f"eMeterai_{first}"]
    assert earlier.intact and earlier.valid and earlier.trusted
    assert earlier.modification_level <= ModificationLevel.FORM_FILLING
    assert earlier.docmdp_ok is not False

    # The second stamp does not cover the first.
    a, b = sample_run.record["rect_pt"], records[0]["rect_pt"]
    assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)

    nss = _nss_db(tmp_path / "nss", [kit.root_pem.read_bytes()])
    assert _pdfsig(output, nss).count("Signature is Valid.") == 2
    qpdf = require_tool("qpdf")
    assert subprocess.run([qpdf, "--check", str(output)], capture_output=True).returncode == 0


# == the self-check: never spend a stamp on an output that does not verify (docs/architecture.md, Invariants) =======


def _spending(wallet: Wallet) -> tuple[int, int]:
    states = list(_states(wallet).values())
    return states.count("available"), states.count("used")


def _refused_without_spending(kit: Kit, source: Path, code: str) -> None:
    before = _spending(kit.wallet)
    output = source.with_name(f"{source.stem}.emeterai.pdf")
    result, records = kit.stamp(source, "--add-stamp")  # harmless on an unstamped input
    assert result.exit_code == 1, result.stderr
    assert records and records[0].get("output") is None
    (line,) = _error_lines(result.stderr)
    assert str(source) in line and code in line and "no stamp spent" in line, line
    assert _spending(kit.wallet) == before, "a stamp was spent on an output that does not verify"
    assert not output.exists()
    assert _temp_files(source.parent) == []


@pytest.mark.parametrize(
    "cropbox",
    [(1000.0, 1000.0, 1200.0, 1200.0), (100.0, 100.0, 100.0, 100.0)],
    ids=["disjoint-from-mediabox", "zero-size"],
)
def test_a_cropbox_that_shows_nothing_spends_no_stamp(kit, cropbox):
    folder = kit.folder(f"crop-{int(cropbox[0])}-{int(cropbox[2])}")
    source = pdfmakers.cropped_pdf(folder / "x.pdf", cropbox)
    _refused_without_spending(kit, source, "stamp-not-shown")


def test_the_self_check_failure_is_a_typed_error(kit, tmp_path):
    from emeterai.errors import SelfCheckFailed

    source = pdfmakers.cropped_pdf(tmp_path / "x.pdf", (1000.0, 1000.0, 1200.0, 1200.0))
    wallet = kit.wallet
    before = _spending(wallet)
    with pytest.raises(SelfCheckFailed) as raised:
        stamp_file(source, tmp_path / "out.pdf", wallet, wallet.unlock(PASSPHRASE), StampOptions())
    assert "stamp-not-shown" in raised.value.message
    assert _spending(wallet) == before and not (tmp_path / "out.pdf").exists()


def _stamped_once(kit: Kit, source: Path) -> tuple[Path, str]:
    result, records = kit.stamp(source)
    assert result.exit_code == 0, result.stderr
    once = Path(records[0]["output"])
    verdict = kit.verifier().verify(once.read_bytes(), str(once))
    assert verdict.valid, verdict.problems
    return once, records[0]["serial"]


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (pdfmakers.direct_annotation_pdf, "modified-after-stamp"),
        (lambda p: pdfmakers.form_fields_pdf(p, ["nama", "nama"]), "signature-invalid"),
    ],
    ids=["direct-annotation-in-annots", "duplicate-field-names"],
)
def test_a_second_stamp_that_would_break_the_first_spends_nothing(kit, make, code):
    folder = kit.folder(f"break-first-{code}")
    once, first = _stamped_once(kit, make(folder / "x.pdf"))
    _refused_without_spending(kit, once, code)
    assert _states(kit.wallet)[first] == "used"
    # the input is untouched and still valid
    assert kit.verifier().verify(once.read_bytes(), str(once)).valid


def test_a_second_stamp_that_leaves_the_first_unreadable_spends_nothing(kit):
    """pyHanko's coverage-anomalies/base.pdf takes a first stamp; after a second one, the first
    stamp's signature can no longer be parsed, and its report carries no serial. The self-check
    used to match earlier stamps by serial only, so it spent a stamp on that output."""
    from tests.support.common import corpus_dir

    source = corpus_dir() / "pyhanko-test-pdfs" / "coverage-anomalies" / "base.pdf"
    if not source.exists():
        pytest.skip("corpus file missing")
    folder = kit.folder("unreadable-first")
    copy = folder / "base.pdf"
    copy.write_bytes(source.read_bytes())
    once, first = _stamped_once(kit, copy)
    _refused_without_spending(kit, once, "signature-invalid")
    assert _states(kit.wallet)[first] == "used"


def test_a_second_stamp_on_fields_without_names_keeps_both_valid(kit):
    folder = kit.folder("fields-without-t")
    once, first = _stamped_once(kit, pdfmakers.form_fields_pdf(folder / "x.pdf", [None, "nik"]))
    result, records = kit.stamp(once, "--add-stamp")
    assert result.exit_code == 0, result.stderr
    output = Path(records[0]["output"])
    verdict = kit.verifier().verify(output.read_bytes(), str(output))
    assert verdict.valid, verdict.problems
    assert [s.serial for s in verdict.stamps] == [first, records[0]["serial"]]


def test_a_repair_in_the_stamp_record_reads_indonesian_and_stays_english(indonesian):
    """The record's repair (shown on stderr) is a template holding the repair's own reason."""
    from emeterai._pdfobjects import Said
    from emeterai._repair import APPENDED, REWRITTEN, Repaired
    from emeterai.i18n import N_
    from emeterai.stamp import _describe_repair

    reason = Said(N_("object {num} is cut short"), num=4)
    appended = _describe_repair(Repaired(b"", APPENDED, reason))
    assert appended == (
        "repaired (object 4 is cut short) by appending a rebuilt cross-reference section; "
        "the original bytes are kept as a prefix"
    )
    assert appended.translated().startswith("diperbaiki (objek 4 terpotong) dengan menambahkan")  # type: ignore[union-attr]
    rewritten = _describe_repair(Repaired(b"", REWRITTEN, "pypdf's own words"))
    assert rewritten is not None and rewritten.startswith(
        "repaired (pypdf's own words) by rewriting"
    )
    assert rewritten.translated().startswith(  # type: ignore[attr-defined]
        "diperbaiki (pypdf's own words) dengan menulis ulang seluruh berkas"
    )
    assert _describe_repair(None) is None
