"""The stamping library's errors and problem details read Indonesian for a person, while their
``.message``/``.detail``, stamp records and ``to_json()`` keep the English text in every language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from emeterai import i18n
from emeterai._files import write_atomic
from emeterai._place import choose
from emeterai._repair import repair
from emeterai.batch import verify_path
from emeterai.errors import (
    AlreadyStamped,
    EmeteraiError,
    OutputError,
    PdfError,
    SigningError,
    UsageError,
)
from emeterai.plan import plan_stamping
from emeterai.sizes import parse_size
from emeterai.stamp import StampFailure, StampOptions, analyse, stamp_file
from emeterai.verify import Verifier
from tests.support import pdfmakers
from tests.support.common import PASSPHRASE


def _raised(
    kind: type[EmeteraiError], call: Callable[..., object], *args: object, **kwargs: object
) -> Any:
    with pytest.raises(kind) as info:
        call(*args, **kwargs)
    return info.value


def test_stamp_errors_read_indonesian_and_records_stay_english(indonesian):
    error = _raised(PdfError, analyse, b"", "kosong.pdf", StampOptions())
    assert error.message == "the file is empty"
    assert error.translated() == "berkas ini kosong"
    record = StampFailure("kosong.pdf", error).to_json()
    assert record["error"] == "kosong.pdf: the file is empty"
    assert error.about("kosong.pdf", translate=True) == "kosong.pdf: berkas ini kosong"

    small = _raised(UsageError, StampOptions(size_mm=1).check)
    assert small.message == "the stamp size must be between 18 and 60 mm"
    assert small.translated() == "ukuran meterai harus antara 18 dan 60 mm"


def test_stamping_a_stamped_document_reads_indonesian(indonesian, wallet_with_stamps, tmp_path):
    wallet = wallet_with_stamps(1)
    source = pdfmakers.plain_pdf(tmp_path / "surat.pdf", placeholder_page=1)
    out = tmp_path / "surat.emeterai.pdf"
    result = stamp_file(source, out, wallet, wallet.unlock(PASSPHRASE), StampOptions())
    error = _raised(AlreadyStamped, analyse, out.read_bytes(), str(out), StampOptions())
    assert error.message == f"already stamped with {result.serial} on page 1; no stamp spent"
    assert error.translated() == (
        f"sudah dibubuhi meterai {result.serial} di halaman 1; tidak ada meterai yang terpakai"
    )
    again = _raised(
        OutputError, stamp_file, source, out, wallet, wallet.unlock(PASSPHRASE), StampOptions()
    )
    assert (again.message, again.translated()) == ("already exists", "sudah ada")


def test_placement_plan_size_and_file_errors_read_indonesian(indonesian, tmp_path):
    import pypdf

    pages = list(pypdf.PdfReader(pdfmakers.plain_pdf(tmp_path / "a.pdf", pages=2)).pages)
    error = _raised(UsageError, choose, pages, 20, page=5)
    assert error.message == "page 5 is out of range: the document has 2 page(s)"
    assert error.translated() == "halaman 5 tidak ada: dokumen ini hanya punya 2 halaman"

    clash = _raised(UsageError, plan_stamping, [tmp_path / "a.pdf"], force=True, skip_existing=True)
    assert clash.message == "use either --force (overwrite outputs) or --skip-existing, not both"
    assert clash.translated().startswith("pakai --force")

    size = _raised(UsageError, parse_size, "{x}")
    assert size.message == "'{x}' is not a size: write e.g. 800K, 1.5M or 900000 (bytes)"
    assert size.translated() == "'{x}' bukan ukuran: tulis misalnya 800K, 1.5M atau 900000 (byte)"

    target = tmp_path / "ada.bin"
    target.write_bytes(b"x")
    exists = _raised(OutputError, write_atomic, target, b"y")
    assert (exists.message, exists.translated()) == ("already exists", "sudah ada")


def test_repair_and_signing_errors_read_indonesian(indonesian):
    signed = b"%PDF-1.7\n1 0 obj << /ByteRange [0 1 2 3] >> endobj\n"
    error = _raised(PdfError, repair, signed, "ttd.pdf", "the page tree is cyclic")
    assert error.message.startswith("the PDF is signed and damaged (the page tree is cyclic);")
    assert error.translated().startswith(
        "PDF ini sudah bertanda tangan digital dan rusak (the page tree is cyclic);"
    )
    assert "kepada penanda tangan" in error.translated()

    from emeterai._sign import PREFIX_CHANGED

    signing = SigningError(PREFIX_CHANGED)
    assert signing.message == "the update would change the document's own bytes"
    assert signing.translated() == "perubahan ini akan mengubah isi asli dokumen"


def test_a_verified_folder_reads_indonesian_and_its_json_stays_english(indonesian, tmp_path):
    result = verify_path(Verifier([]), tmp_path, None)
    (problem,) = result.problems
    assert problem.detail == "is a folder, not a PDF"
    assert problem.translated() == "ini folder, bukan berkas PDF"
    assert problem.to_json()["detail"] == "is a folder, not a PDF"
    missing = verify_path(Verifier([]), tmp_path / "tidak-ada.pdf", None)
    assert missing.problems[0].detail == "cannot read (No such file or directory)"
    assert missing.problems[0].translated() == "tidak dapat dibaca (No such file or directory)"


def test_english_again_after_indonesian(tmp_path):
    i18n.set_language("id")
    i18n.set_language("en")
    error = _raised(PdfError, analyse, b"", "kosong.pdf", StampOptions())
    assert error.translated() == error.message == "the file is empty"
