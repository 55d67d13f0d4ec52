"""PDFBox's view (issue 16, "Done when"): an independent reader, Apache PDFBox 2 with
BouncyCastle, finds every signature of a stamped, a stamped-with-DSS and a sealed letter valid,
sees their DSS, and rejects a copy with one signed byte changed."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from emeterai.issuer import Issuer
from emeterai.seal import seal
from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.wallet import Wallet
from tests.support import attacks
from tests.support.common import PASSPHRASE
from tests.support.pdfbox import pdfbox_check


def _pyhanko_view(data: bytes) -> tuple[list[str], tuple[int, int] | None]:
    """The signature field names and the DSS (certs, CRLs) as pyHanko reads them."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    names = [s.field_name for s in reader.embedded_signatures]
    dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
    return names, None if dss is None else (len(list(dss.load_certs())), len(dss.crls))


def _check(data: bytes, path: Path) -> tuple[list[str], list[str]]:
    path.write_bytes(data)
    lines = pdfbox_check(path)
    return [line for line in lines if line.startswith(("OK ", "FAIL "))], lines


@pytest.fixture
def letters(
    home: Path, issuer: Issuer, wallet_with_stamps: Callable[..., Wallet], tmp_path: Path
) -> Callable[[str], tuple[bytes, bytes]]:
    """Factory: ``letters(name)`` -> (the unstamped letter, it stamped by the wallet)."""
    wallet = wallet_with_stamps(2)

    def make(name: str) -> tuple[bytes, bytes]:
        src = attacks.make_letter(tmp_path / f"{name}.pdf", [f"Surat lamaran {name}"])
        out = tmp_path / f"{name}.emeterai.pdf"
        stamp_file(src, out, wallet, wallet.unlock(PASSPHRASE), StampOptions())
        return src.read_bytes(), out.read_bytes()

    return make


def _with_crl(home: Path, issuer: Issuer) -> None:
    wallet = Wallet(home / "wallet" / "wallet.db")
    roots = TrustStore(home / "trust").certificates()
    assert wallet.import_crl(issuer.crl(PASSPHRASE), "issuer.crl", roots).kept


@pytest.mark.parametrize("kind", ["stamped", "stamped-with-dss", "sealed"])
def test_pdfbox_finds_every_signature_valid_and_rejects_a_changed_byte(
    kind, home, issuer, letters, tmp_path, request
):
    if kind == "stamped-with-dss":
        _with_crl(home, issuer)
    original, data = letters(kind)
    if kind == "sealed":
        tsa = request.getfixturevalue("tsa")
        data, result = seal(data, "l.pdf", tsa, [("issuer.crl", issuer.crl(PASSPHRASE))])
        assert (result.stamps, result.crls) == (1, 1)
    names, dss = _pyhanko_view(data)
    assert len(names) == (2 if kind == "sealed" else 1)
    assert (dss is not None) == (kind != "stamped")

    signatures, lines = _check(data, tmp_path / "checked.pdf")
    assert [s.split()[:2] for s in signatures] == [["OK", n] for n in names], lines
    subfilters = [s.split()[2] for s in signatures]
    expected = ["ETSI.CAdES.detached"] + (["ETSI.RFC3161"] if kind == "sealed" else [])
    assert subfilters == expected, lines
    assert signatures[-1].endswith(" whole"), lines  # the last signs the file to its end
    assert all(s.endswith(" revision") for s in signatures[:-1]), lines
    assert lines[-1] == ("NODSS" if dss is None else f"DSS certs={dss[0]} crls={dss[1]}"), lines
    if dss is not None:
        assert dss[0] >= 2 and dss[1] == 1  # the chain and the issuer's CRL

    tampered = attacks.change_page_content_byte(data, original, needle=b"Surat")
    bad, bad_lines = _check(tampered, tmp_path / "tampered.pdf")
    assert [s.split()[:2] for s in bad] == [["FAIL", n] for n in names], bad_lines
    # for the right reason: the CMS message digest or the timestamp's imprint, not a parse error
    assert all("does not match" in s or "imprint differs" in s for s in bad), bad_lines
