"""Validation data at stamping time (issue 16, build 1): the wallet keeps the issuer's latest
CRL, and a stamp carries its chain and that CRL in a DSS of its own incremental update."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from cryptography import x509

from emeterai import serial as serials
from emeterai.errors import TrustError
from emeterai.issuer import Issuer
from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.verify import SIGNATURE_INVALID, Verifier
from emeterai.wallet import Wallet
from tests.support import attacks
from tests.support.common import PASSPHRASE
from tests.support.tsaserver import running_tsa, tsa_certificate, tsa_identity
from tests.support.validation import from_dss_alone, trusting


def _roots(home: Path) -> list[x509.Certificate]:
    return TrustStore(home / "trust").certificates()


def _revisions(data: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return PdfFileReader(io.BytesIO(data), strict=False).xrefs.total_revisions


def test_the_wallet_keeps_the_newest_trusted_crl_of_each_issuer(home, issuer, tmp_path):
    wallet = Wallet(home / "wallet" / "wallet.db")
    first = issuer.crl(PASSPHRASE)
    got = wallet.import_crl(first, "first.crl", _roots(home))
    assert got.kept and "Test Issuer" in got.issuer
    again = wallet.import_crl(first, "again.crl", _roots(home))
    assert not again.kept  # not newer: the wallet's stays
    other = Issuer.create(tmp_path / "other", PASSPHRASE, name="Other Issuer", specimen=True)
    with pytest.raises(TrustError, match="not signed by a trusted issuer root"):
        wallet.import_crl(other.crl(PASSPHRASE), "other.crl", _roots(home))
    with pytest.raises(TrustError, match="not an X.509 CRL"):
        wallet.import_crl(b"garbage", "bad.crl", _roots(home))
    assert wallet.crl_for(issuer.root.subject) == x509.load_pem_x509_crl(first).public_bytes(
        __import__(
            "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]
        ).Encoding.DER
    )


def test_a_stamp_carries_its_chain_and_crl_in_its_own_update(
    home, issuer, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(2)
    wallet.import_crl(issuer.crl(PASSPHRASE), "issuer.crl", _roots(home))
    src = attacks.make_letter(tmp_path / "l.pdf", ["Surat lamaran"])
    out = tmp_path / "l.emeterai.pdf"
    stamp_file(src, out, wallet, wallet.unlock(PASSPHRASE), StampOptions())
    data = out.read_bytes()
    assert _revisions(data) == _revisions(src.read_bytes()) + 1  # one update: stamp and DSS
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(data)))
    assert len(dss.crls) == 1 and len(list(dss.load_certs())) >= 2
    result = Verifier(_roots(home)).verify(data, "l.pdf")
    assert result.valid, [p.to_json() for p in result.problems]
    assert result.stamps[0].level == "B-B"  # validation data, but no proof of time


def test_with_a_timestamp_it_is_b_lt_and_validates_from_the_dss_alone(
    home, issuer, wallet_with_stamps, tmp_path
):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature

    wallet = wallet_with_stamps(1)
    wallet.import_crl(issuer.crl(PASSPHRASE), "issuer.crl", _roots(home))
    src = attacks.make_letter(tmp_path / "l.pdf", ["Surat lamaran"])
    out = tmp_path / "l.emeterai.pdf"
    identity = tsa_identity()
    with running_tsa(identity=identity) as (url, _n):
        stamp_file(src, out, wallet, wallet.unlock(PASSPHRASE), StampOptions(tsa_url=url))
    data = out.read_bytes()
    result = Verifier(_roots(home), tsa_roots=[tsa_certificate(identity)]).verify(data, "l")
    assert result.valid and result.stamps[0].level == "B-LT"
    reader = PdfFileReader(io.BytesIO(data))
    status = validate_pdf_signature(
        reader.embedded_signatures[0],
        signer_validation_context=from_dss_alone(data, _roots(home)),
        ts_validation_context=trusting([tsa_certificate(identity)]),
    )
    assert status.bottom_line, status.pretty_print_details()


def test_a_document_that_already_has_a_dss_keeps_it_and_both_stamps_stay_valid(
    home, issuer, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(2)
    wallet.import_crl(issuer.crl(PASSPHRASE), "issuer.crl", _roots(home))
    src = attacks.make_letter(tmp_path / "l.pdf", ["Surat perjanjian"])
    first = tmp_path / "one.pdf"
    stamp_file(src, first, wallet, wallet.unlock(PASSPHRASE), StampOptions())
    second = tmp_path / "two.pdf"
    stamp_file(first, second, wallet, wallet.unlock(PASSPHRASE), StampOptions(add_stamp=True))
    result = Verifier(_roots(home)).verify(second.read_bytes(), "two.pdf")
    assert result.valid and len(result.stamps) == 2, [p.to_json() for p in result.problems]


def _dss_with(extra: dict[str, object]):  # type: ignore[no-untyped-def]
    def edit(writer) -> None:  # type: ignore[no-untyped-def]
        from pyhanko.pdf_utils import generic

        dss = generic.DictionaryObject({generic.NameObject("/Certs"): generic.ArrayObject()})
        for key, value in extra.items():
            dss[generic.NameObject(key)] = value
        writer.root[generic.NameObject("/DSS")] = writer.add_object(dss)
        writer.update_root()

    return edit


def test_a_dss_in_the_stamps_revision_that_is_more_than_validation_data_is_refused(
    issuer, verifier, tmp_path
):
    from pyhanko.pdf_utils import generic

    key = attacks.stamp_key_from_issuer(issuer, PASSPHRASE, serials.generate(issuer.info.prefix))
    letter = attacks.make_letter(tmp_path / "l.pdf").read_bytes()
    for extra in (
        {"/OpenAction": generic.NameObject("/Whatever")},
        {"/CRLs": generic.ArrayObject([generic.TextStringObject("not a stream")])},
    ):
        attacked = attacks.stamp_with_own_edit(letter, key, _dss_with(extra))
        result = verifier.verify(attacked, "dss.pdf")
        details = [p.detail for p in result.problems if p.code == SIGNATURE_INVALID]
        assert any("/DSS to something other than new validation data" in d for d in details), (
            extra,
            [p.to_json() for p in result.problems],
        )
        assert not result.stamps[0].genuine
    plain = attacks.stamp_with_own_edit(letter, key, _dss_with({}))
    assert verifier.verify(plain, "dss.pdf").valid  # an empty, well-formed DSS is harmless


def test_wallet_import_takes_a_crl_file_without_any_stamp(runner, home, issuer, tmp_path):
    from tests.support.cli import run

    crl = tmp_path / "issuer.crl"
    crl.write_bytes(issuer.crl(PASSPHRASE))
    result = run(runner, "wallet", "import", crl)
    assert result.exit_code == 0, result.stderr
    assert "kept, stamps embed it from now on" in result.stdout
    again = run(runner, "wallet", "import", crl)
    assert "the wallet has a newer one" in again.stdout
    assert Wallet(home / "wallet" / "wallet.db").crl_for(issuer.root.subject) is not None
