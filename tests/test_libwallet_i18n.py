"""The errors and problem details of the wallet, issuer, trust, ledger, serial and shrink
modules read Indonesian for a person, while their English text (``message``, ``str()``,
``detail``, ``to_json()``) stays what JSON and logs carry."""

from __future__ import annotations

from pathlib import Path

import pytest

from emeterai import serial as serials
from emeterai.errors import (
    EmeteraiError,
    IssuerError,
    LedgerUnavailable,
    NoStampAvailable,
    PdfError,
    SerialError,
    TrustError,
)
from emeterai.issuer import Issuer
from emeterai.ledger import SqliteLedger, open_ledger, record
from emeterai.shrink import shrink
from emeterai.trust import parse_root
from emeterai.verify import LEDGER_UNAVAILABLE, StampReport, VerifyResult
from emeterai.wallet import Wallet


def test_serial_error_reads_indonesian(indonesian: None) -> None:
    with pytest.raises(SerialError) as caught:
        serials.parse("ABC")
    assert caught.value.message == "serial 'ABC' has 3 characters, expected 22"
    assert caught.value.translated() == "nomor seri 'ABC' terdiri dari 3 karakter, seharusnya 22"


def test_wallet_error_reads_indonesian(indonesian: None, tmp_path: Path) -> None:
    with pytest.raises(NoStampAvailable) as caught:
        Wallet(tmp_path / "wallet.db").require_usable()
    assert str(caught.value) == "the wallet is empty: import stamps with 'emeterai wallet import'"
    assert caught.value.translated() == (
        "dompet meterai kosong: masukkan meterai dengan 'emeterai wallet import'"
    )


def test_issuer_error_reads_indonesian(indonesian: None, tmp_path: Path) -> None:
    with pytest.raises(IssuerError) as caught:
        Issuer(tmp_path)
    assert caught.value.message == f"no issuer in {tmp_path}: run 'emeterai issuer init' first"
    assert caught.value.translated() == (
        f"tidak ada penerbit di {tmp_path}: jalankan dulu 'emeterai issuer init'"
    )


def test_trust_error_reads_indonesian(indonesian: None) -> None:
    with pytest.raises(TrustError) as caught:
        parse_root(b"not a certificate", "root.pem")
    assert str(caught.value) == "root.pem: not a PEM or DER certificate"
    assert caught.value.translated() == "ini bukan sertifikat PEM atau DER"


def test_ledger_error_and_problem_read_indonesian(indonesian: None, tmp_path: Path) -> None:
    with pytest.raises(LedgerUnavailable) as caught:
        open_ledger(str(tmp_path))
    english = f"ledger {tmp_path}: is a folder; give a file path for the SQLite ledger"
    assert caught.value.message == english
    assert caught.value.translated() == (
        f"buku catatan nomor seri {tmp_path}: ini sebuah folder; berikan jalur berkas untuk buku"
        " catatan SQLite"
    )

    broken = tmp_path / "ledger.db"
    ledger = SqliteLedger(broken)
    broken.write_bytes(b"this is no SQLite database" * 100)  # damaged after it was opened
    stamp = StampReport(
        serial="SERIAL", value=10000, issuer="Issuer", specimen=True, stamped_at=None,
        document_sha256=None, page=1, problems=(), genuine=True, bound_sha256="ab" * 32,
    )  # fmt: skip
    result = record(VerifyResult("a.pdf", (stamp,), ()), ledger)
    (problem,) = result.file_problems
    assert problem.code == LEDGER_UNAVAILABLE
    assert problem.detail.startswith(f"ledger {broken}: cannot ")
    assert problem.to_json()["detail"] == problem.detail
    assert problem.translated().startswith(f"buku catatan nomor seri {broken}: tidak dapat ")


def test_shrink_error_reads_indonesian(indonesian: None) -> None:
    with pytest.raises(PdfError) as caught:
        shrink(b"", "a.pdf")
    assert str(caught.value) == "a.pdf: the file is empty"
    assert caught.value.translated() == "berkas ini kosong"


def test_english_again_after_indonesian() -> None:
    with pytest.raises(EmeteraiError) as caught:
        serials.parse("ABC")
    assert caught.value.translated() == caught.value.message
