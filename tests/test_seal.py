"""Long-term validity (issue 16): sealing with an independent TSA (OpenSSL's ``ts -reply``), the
levels verify reports, and the time rules judged at the best proof of time."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from emeterai.issuer import Issuer
from emeterai.seal import seal
from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.verify import REVOKED, STAMP_EXPIRED, UNTRUSTED_TIMESTAMP, Verifier
from emeterai.wallet import Wallet
from tests.support import attacks
from tests.support.common import PASSPHRASE, PROJECT_ROOT, require_tool
from tests.support.openssl_tsa import (
    TsaPki,
    timestamp_tokens_in_pdf,
    verify_token_with_openssl,
)
from tests.support.validation import asn1, from_dss_alone, trusting


@pytest.fixture(scope="module")
def tsa_root(pki: TsaPki) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pki.root_pem.read_bytes())


@pytest.fixture
def stamp_letter(
    home: Path, issuer: Issuer, wallet_with_stamps: Callable[..., Wallet], tmp_path: Path
) -> Callable[..., bytes]:
    """Factory: a freshly stamped letter (``tsa_url`` for a signature timestamp)."""
    wallet = wallet_with_stamps(4)
    count = iter(range(100))

    def make(tsa_url: str | None = None) -> bytes:
        n = next(count)
        src = attacks.make_letter(tmp_path / f"letter{n}.pdf", [f"Surat lamaran {n}"])
        out = tmp_path / f"letter{n}.emeterai.pdf"
        stamp_file(src, out, wallet, wallet.unlock(PASSPHRASE), StampOptions(tsa_url=tsa_url))
        return out.read_bytes()

    return make


def _verifier(home: Path, tsa_root: x509.Certificate | None, **kw: Any) -> Verifier:
    roots = TrustStore(home / "trust").certificates()
    return Verifier(roots, tsa_roots=[tsa_root] if tsa_root else [], **kw)


def _crl(issuer: Issuer) -> tuple[str, bytes]:
    return ("issuer.crl", issuer.crl(PASSPHRASE))


def test_seal_adds_validation_data_and_a_document_timestamp_openssl_verifies(
    home, issuer, stamp_letter, tsa, pki, tsa_root, tmp_path
):
    stamped = stamp_letter()
    sealed, result = seal(stamped, "letter.emeterai.pdf", tsa, [_crl(issuer)])
    assert sealed.startswith(stamped)  # the input's bytes, every one, then the updates
    assert (result.stamps, result.crls) == (1, 1) and result.certificates >= 2
    verdict = _verifier(home, tsa_root).verify(sealed, "sealed.pdf")
    assert verdict.valid, [p.to_json() for p in verdict.problems]
    (stamp,) = verdict.stamps
    assert (stamp.level, stamp.signing_time_source) == ("B-LTA", "claimed")
    assert dt.datetime.fromisoformat(stamp.proven_by) == dt.datetime.fromisoformat(result.timestamp)
    (token,) = [t for t in timestamp_tokens_in_pdf(sealed) if t.kind == "document"]
    checked = verify_token_with_openssl(token.der, token.data, pki)
    assert checked.returncode == 0 and "Verification: OK" in checked.stdout, checked.stderr
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed)
    qpdf = subprocess.run([require_tool("qpdf"), "--check", str(path)], capture_output=True)
    assert qpdf.returncode == 0, qpdf.stdout
    pdfsig = subprocess.run([require_tool("pdfsig"), str(path)], capture_output=True, text=True)
    assert pdfsig.stdout.count("Signature #") == 2  # the stamp and the document timestamp
    assert "Signature is Invalid" not in pdfsig.stdout


def test_pyhanko_agrees_the_sealed_stamp_validates_from_the_files_dss_alone(
    home, issuer, stamp_letter, tsa, tsa_root
):
    """The stamp validated by pyHanko with revocation *required* and nothing but the DSS
    (no fetching, no CRL given), and the document timestamp validated against the TSA root."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
    from pyhanko_certvalidator import ValidationContext

    sealed, _ = seal(stamp_letter(), "l.pdf", tsa, [_crl(issuer)])
    reader = PdfFileReader(io.BytesIO(sealed))
    issuers = TrustStore(home / "trust").certificates()
    stamp = reader.embedded_regular_signatures[0]
    from_dss = from_dss_alone(sealed, issuers)
    status = validate_pdf_signature(stamp, signer_validation_context=from_dss)
    assert status.bottom_line, status.pretty_print_details()
    without = ValidationContext(
        trust_roots=[asn1(c) for c in issuers],
        crls=[],
        allow_fetching=False,
        revocation_mode="require",
    )
    assert not validate_pdf_signature(stamp, signer_validation_context=without).bottom_line
    doc_ts = reader.embedded_timestamp_signatures[0]
    ts_status = validate_pdf_timestamp(doc_ts, trusting([tsa_root]))
    assert ts_status.valid and ts_status.trusted


def test_levels_b_b_b_t_b_lt_and_b_lta_as_pyhanko_sees_their_pieces(
    home, issuer, stamp_letter, tsa, tsa_root
):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    verifier = _verifier(home, tsa_root)
    plain = stamp_letter()
    with_tst = stamp_letter(tsa_url=tsa)
    emb = PdfFileReader(io.BytesIO(with_tst)).embedded_signatures[0]
    lt = io.BytesIO(with_tst)
    from asn1crypto import crl as acrl

    crl_der = x509.load_pem_x509_crl(issuer.crl(PASSPHRASE)).public_bytes(
        __import__(
            "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]
        ).Encoding.DER
    )
    DocumentSecurityStore.add_dss(
        lt,
        emb.sig_object["/Contents"],
        certs=[c.chosen for c in emb.signed_data["certificates"]],
        crls=[acrl.CertificateList.load(crl_der)],
    )
    sealed, _ = seal(plain, "l.pdf", tsa, [_crl(issuer)])
    levels = {}
    for name, data in (
        ("B-B", plain),
        ("B-T", with_tst),
        ("B-LT", lt.getvalue()),
        ("B-LTA", sealed),
    ):
        result = verifier.verify(data, name)
        assert result.valid, (name, [p.to_json() for p in result.problems])
        levels[name] = result.stamps[0]
    assert {k: v.level for k, v in levels.items()} == {k: k for k in levels}
    assert levels["B-B"].proven_by is None and levels["B-B"].signing_time_source == "claimed"
    assert levels["B-T"].signing_time_source == "timestamp" and levels["B-T"].proven_by
    # pyHanko's own reading of the pieces: a trusted signature timestamp in B-T
    from asn1crypto import x509 as ax509
    from cryptography.hazmat.primitives.serialization import Encoding
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    ts_ctx = ValidationContext(
        trust_roots=[ax509.Certificate.load(tsa_root.public_bytes(Encoding.DER))]
    )
    issuer_roots = [
        ax509.Certificate.load(c.public_bytes(Encoding.DER))
        for c in TrustStore(home / "trust").certificates()
    ]
    status = validate_pdf_signature(
        emb,
        signer_validation_context=ValidationContext(trust_roots=issuer_roots),
        ts_validation_context=ts_ctx,
    )
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    assert DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(lt.getvalue()))).crls


def test_sealing_again_renews_with_a_second_document_timestamp(
    home, issuer, stamp_letter, tsa, pki, tsa_root
):
    once, _ = seal(stamp_letter(), "l.pdf", tsa, [_crl(issuer)])
    twice, result = seal(once, "l.sealed.pdf", tsa, [_crl(issuer)])
    assert twice.startswith(once)
    tokens = [t for t in timestamp_tokens_in_pdf(twice) if t.kind == "document"]
    assert len(tokens) == 2
    for token in tokens:
        assert verify_token_with_openssl(token.der, token.data, pki).returncode == 0
    verdict = _verifier(home, tsa_root).verify(twice, "twice.pdf")
    assert verdict.valid and verdict.stamps[0].level == "B-LTA"
    first_proof = _verifier(home, tsa_root).verify(once, "once.pdf").stamps[0].proven_by
    assert verdict.stamps[0].proven_by == first_proof  # the earliest proof counts


def test_a_timestamp_authority_that_is_not_trusted_is_a_problem_of_its_own(
    home, issuer, stamp_letter, tsa
):
    sealed, _ = seal(stamp_letter(), "l.pdf", tsa, [_crl(issuer)])
    result = _verifier(home, None).verify(sealed, "sealed.pdf")
    assert [p.code for p in result.problems] == [UNTRUSTED_TIMESTAMP]
    assert result.stamps[0].proven_by is None and result.stamps[0].level == "B-B"
    with_tst = _verifier(home, None).verify(stamp_letter(tsa_url=tsa), "t.pdf")
    assert [p.code for p in with_tst.problems] == [UNTRUSTED_TIMESTAMP]


def test_revoked_after_its_seal_stays_valid_and_says_so(home, issuer, stamp_letter, tsa, tsa_root):
    stamped = stamp_letter()
    sealed, _ = seal(stamped, "l.pdf", tsa, [_crl(issuer)])
    serial = _verifier(home, tsa_root).verify(sealed, "s").stamps[0].serial
    time.sleep(1.1)  # the revocation comes after the timestamp's second
    issuer.revoke([serial], PASSPHRASE)
    result = _verifier(home, tsa_root, crl=issuer.crl(PASSPHRASE)).verify(sealed, "s.pdf")
    assert result.valid, [p.to_json() for p in result.problems]
    (note,) = result.stamps[0].notes
    assert "revoked on" in note and "after its proof of time" in note
    unsealed = _verifier(home, tsa_root, crl=issuer.crl(PASSPHRASE))
    assert REVOKED in {p.code for p in unsealed.verify(stamped, "x").problems}


def test_revoked_before_its_seal_is_revoked_and_the_embedded_crl_is_enough(
    home, issuer, stamp_letter, tsa, tsa_root
):
    stamped = stamp_letter()
    serial = _verifier(home, tsa_root).verify(stamped, "s").stamps[0].serial
    issuer.revoke([serial], PASSPHRASE)
    time.sleep(1.1)
    sealed, _ = seal(stamped, "l.pdf", tsa, [_crl(issuer)])
    # no --crl: the CRL the seal embedded in the DSS is used
    result = _verifier(home, tsa_root).verify(sealed, "s.pdf")
    assert [p.code for p in result.problems] == [REVOKED]


def test_a_newer_given_crl_wins_over_the_embedded_one(home, issuer, stamp_letter, tsa, tsa_root):
    stamped = stamp_letter()
    serial = _verifier(home, tsa_root).verify(stamped, "s").stamps[0].serial
    issuer.revoke([serial], PASSPHRASE)
    older = issuer.crl(PASSPHRASE)  # lists the serial
    time.sleep(1.1)
    sealed, _ = seal(stamped, "l.pdf", tsa, [("old.crl", older)])
    assert [p.code for p in _verifier(home, tsa_root).verify(sealed, "s").problems] == [REVOKED]
    assert _verifier(home, tsa_root, crl=older).verify(sealed, "s").problems


_BACKDATE = """
import sys
from pathlib import Path
from emeterai.issuer import Issuer
from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.wallet import Wallet
home, letter, out, phase = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
if phase == "issue":
    issuer = Issuer.create(home / "issuer", "pw-for-tests", name="Test Issuer", specimen=True)
    TrustStore(home / "trust").add(issuer.root_pem(), "root")
    wallet = Wallet(home / "wallet.db")
    stamps = issuer.issue(1, "pw-for-tests", valid_days=5)
    wallet.import_stamps([(s.serial, s.p12) for s in stamps], "pw-for-tests",
                         TrustStore(home / "trust").certificates())
else:
    wallet = Wallet(home / "wallet.db")
    stamp_file(letter, out, wallet, wallet.unlock("pw-for-tests"), StampOptions())
"""


def _at(offset: str, *args: Path | str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [require_tool("faketime"), "-f", offset, sys.executable, "-c", _BACKDATE, *map(str, args)],
        capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_a_back_dated_stamp_of_an_expired_stamp_is_expired_once_sealed(tmp_path, tsa, tsa_root):
    """A thief of an expired stamp file sets the clock back to inside its validity: unsealed,
    the claimed time makes it pass; the seal's proof of time, after the expiry, does not."""
    home = tmp_path / "h"
    letter = attacks.make_letter(tmp_path / "l.pdf", ["Surat lamaran"])
    out = tmp_path / "l.emeterai.pdf"
    _at("-10d", home, letter, out, "issue")  # valid from 10 days ago for 5 days
    _at("-8d", home, letter, out, "stamp")  # the clock set back to inside that validity
    stamped = out.read_bytes()
    roots = TrustStore(home / "trust").certificates()
    claimed_only = Verifier(roots, tsa_roots=[tsa_root]).verify(stamped, "l")
    assert claimed_only.valid  # the claimed time is all there is: it proves nothing, passes
    sealed, result = seal(stamped, "l.pdf", tsa)
    verdict = Verifier(roots, tsa_roots=[tsa_root]).verify(sealed, "sealed")
    assert [p.code for p in verdict.problems] == [STAMP_EXPIRED]
    detail = verdict.problems[0].detail
    assert "claimed to be stamped at" in detail and "first proof of time" in detail
    proof = dt.datetime.fromisoformat(result.timestamp)
    assert f"{proof:%Y-%m-%d %H:%M}" in detail


def test_sealed_before_expiry_and_verified_after_it_stays_valid(tmp_path, tsa, tsa_root):
    home = tmp_path / "h"
    letter = attacks.make_letter(tmp_path / "l.pdf", ["Surat lamaran"])
    out = tmp_path / "l.emeterai.pdf"
    _at("-2d", home, letter, out, "issue")  # valid until 3 days from now
    _at("-1d", home, letter, out, "stamp")
    sealed, _ = seal(out.read_bytes(), "l.pdf", tsa)
    roots = TrustStore(home / "trust").certificates()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)  # long after the stamp expired
    verdict = Verifier(roots, tsa_roots=[tsa_root], now=later).verify(sealed, "sealed")
    assert verdict.valid, [p.to_json() for p in verdict.problems]
    assert verdict.stamps[0].level in ("B-T", "B-LT", "B-LTA")


def test_seal_refuses_what_it_cannot_seal_and_writes_nothing(
    home, issuer, stamp_letter, tsa, tmp_path
):
    from emeterai.errors import ConfigError, PdfError, SigningError

    with pytest.raises(PdfError, match="nothing to seal"):
        seal((PROJECT_ROOT / "samples" / "lamaran.pdf").read_bytes(), "lamaran.pdf", tsa)
    other = Issuer.create(tmp_path / "other", PASSPHRASE, name="Other Issuer", specimen=True)
    with pytest.raises(ConfigError, match="not from the issuer of any stamp"):
        seal(stamp_letter(), "l.pdf", tsa, [("other.crl", other.crl(PASSPHRASE))])
    with pytest.raises(SigningError, match="cannot get a timestamp"):
        seal(stamp_letter(), "l.pdf", "http://127.0.0.1:9/tsa")
