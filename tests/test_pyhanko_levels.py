"""pyHanko's own AdES validation (ETSI EN 319 102-1, ``pyhanko.sign.validation.ades``) agrees
with the ``level`` emeterai reports for B-B, B-T, B-LT and B-LTA files (issue 16, "Done when").

pyHanko gets the issuer root for stamps and the OpenSSL TSA's root for timestamps (never the
operating system's trust list), no fetching of anything, and revocation information only from
what the file carries. Each level is told apart from its neighbours by what pyHanko says:

- B-B: validation with time fails for want of a signature timestamp, though the signature is
  fine without one (basic validation passes);
- B-T: validation with time passes, its best signature time is the timestamp's, but neither it
  (revocation required, the file's DSS only) nor LTA validation passes: no revocation data;
- B-LT: validation with time passes with revocation required from the file's DSS alone (and
  fails without it), but LTA validation finds no proof of existence: no document timestamp;
- B-LTA: LTA validation passes with a document timestamp as its oldest evidence record.

pyHanko's LTA validation starts from validation with time, which needs a *signature* timestamp:
a stamp made offline and sealed later (emeterai's B-LTA, whose proof of time is the document
timestamp, as PAdES allows) is refused with "No signature timestamp present". That case is
compared by its pieces: the stamp validated with revocation required from the DSS alone, the
document timestamp validated, covering the stamp, over a revision that already held the DSS.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from emeterai.issuer import Issuer
from emeterai.seal import seal
from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.verify import Verifier
from emeterai.wallet import Wallet
from tests.support import attacks
from tests.support.common import PASSPHRASE
from tests.support.openssl_tsa import TsaPki


@pytest.fixture
def make(
    home: Path, issuer: Issuer, wallet_with_stamps: Callable[..., Wallet], tmp_path: Path
) -> Callable[..., bytes]:
    """Factory: a freshly stamped letter; ``crl`` puts the issuer's CRL in the wallet first (the
    stamp's revision then carries a DSS), ``tsa_url`` adds a signature timestamp."""
    wallet = wallet_with_stamps(3)
    count = iter(range(100))

    def stamp(*, crl: bool = False, tsa_url: str | None = None) -> bytes:
        if crl:
            roots = TrustStore(home / "trust").certificates()
            wallet.import_crl(issuer.crl(PASSPHRASE), "issuer.crl", roots)
        n = next(count)
        src = attacks.make_letter(tmp_path / f"l{n}.pdf", [f"Surat lamaran {n}"])
        out = tmp_path / f"l{n}.emeterai.pdf"
        stamp_file(src, out, wallet, wallet.unlock(PASSPHRASE), StampOptions(tsa_url=tsa_url))
        return out.read_bytes()

    return stamp


def _emeterai(home: Path, pki: TsaPki, data: bytes) -> Any:
    """emeterai's report of the file's only stamp (it must be valid)."""
    tsa_root = x509.load_pem_x509_certificate(pki.root_pem.read_bytes())
    verifier = Verifier(TrustStore(home / "trust").certificates(), tsa_roots=[tsa_root])
    result = verifier.verify(data, "letter.pdf")
    assert result.valid, [p.to_json() for p in result.problems]
    (stamp,) = result.stamps
    return stamp


def _asn1(cert: x509.Certificate) -> Any:
    from asn1crypto import x509 as ax509
    from cryptography.hazmat.primitives.serialization import Encoding

    return ax509.Certificate.load(cert.public_bytes(Encoding.DER))


def _dss_knowledge(reader: Any) -> Any:
    """pyHanko's LocalKnowledge holding exactly what the file's DSS holds (nothing without one)."""
    from asn1crypto.crl import CertificateList
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko.sign.validation.errors import NoDSSFoundError
    from pyhanko.sign.validation.policy_decl import LocalKnowledge
    from pyhanko_certvalidator.revinfo.archival import CRLContainer

    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return LocalKnowledge()
    crls = [CRLContainer(CertificateList.load(bytes(c.get_object().data))) for c in dss.crls]
    return LocalKnowledge(known_crls=crls, known_certs=list(dss.load_certs()))


def _spec(home: Path, pki: TsaPki, *, revocation: bool, knowledge: Any = None) -> Any:
    """A SignatureValidationSpec: stamps chain to the issuer root (revocation information
    required when ``revocation``), timestamps to the TSA root; local data only, no fetching."""
    from pyhanko.sign.validation.policy_decl import (
        CertificateFetchingRule,
        LocalKnowledge,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.policy_decl import (
        NO_REVOCATION,
        REQUIRE_REVINFO,
        CertRevTrustPolicy,
    )
    from pyhanko_certvalidator.registry import SimpleTrustManager

    issuer_roots = [_asn1(c) for c in TrustStore(home / "trust").certificates()]
    tsa_root = _asn1(x509.load_pem_x509_certificate(pki.root_pem.read_bytes()))
    return SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=issuer_roots),
            revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO if revocation else NO_REVOCATION),
        ),
        ts_cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=[tsa_root]),
            revinfo_policy=CertRevTrustPolicy(NO_REVOCATION),
        ),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
            certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
        ),
        local_knowledge=knowledge if knowledge is not None else LocalKnowledge(),
    )


def _reader(data: bytes) -> Any:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return PdfFileReader(io.BytesIO(data))


def _basic(emb: Any, spec: Any) -> Any:
    """pyHanko's basic validation (EN 319 102-1 § 5.3) of a PDF signature, at the current time."""
    from pyhanko.sign.validation.ades import ades_basic_validation

    return asyncio.run(
        ades_basic_validation(emb.signed_data, spec, raw_digest=emb.compute_digest())
    )


def _with_time(emb: Any, spec: Any) -> Any:
    """pyHanko's validation with time (EN 319 102-1 § 5.5) of a PDF signature."""
    from pyhanko.sign.validation.ades import ades_with_time_validation
    from pyhanko.sign.validation.status import PdfSignatureStatus

    emb.compute_integrity_info()
    return asyncio.run(
        ades_with_time_validation(
            emb.signed_data,
            spec,
            raw_digest=emb.compute_digest(),
            extra_status_kwargs=emb.summarise_integrity_info(),
            status_cls=PdfSignatureStatus,
        )
    )


def _lta(emb: Any, spec: Any) -> Any:
    """pyHanko's LTA validation (EN 319 102-1 § 5.6.3); it reads the file's DSS itself."""
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko.sign.validation.policy_decl import PdfSignatureValidationSpec

    return asyncio.run(ades_lta_validation(emb, PdfSignatureValidationSpec(spec)))


def _passed(result: Any) -> bool:
    from pyhanko.sign.ades.report import AdESPassed

    return bool(result.ades_subindic == AdESPassed.OK)


def _same_time(iso: str | None, moment: dt.datetime) -> bool:
    assert iso is not None
    return abs(dt.datetime.fromisoformat(iso) - moment) < dt.timedelta(seconds=1)


def test_b_b_pyhanko_finds_no_signature_timestamp(home, pki, make):
    from pyhanko.sign.ades.report import AdESIndeterminate

    data = make()
    stamp = _emeterai(home, pki, data)
    assert (stamp.level, stamp.proven_by) == ("B-B", None)
    emb = _reader(data).embedded_regular_signatures[0]
    basic = _basic(emb, _spec(home, pki, revocation=False))
    assert _passed(basic), basic.failure_msg  # a good signature: only its time is missing
    before = dt.datetime.now(dt.UTC)
    result = _with_time(emb, _spec(home, pki, revocation=False))
    assert result.ades_subindic == AdESIndeterminate.SIG_CONSTRAINTS_FAILURE
    assert result.failure_msg == "No signature timestamp present"
    assert result.best_signature_time >= before  # no proof: pyHanko knows it exists only now


def test_b_t_pyhanko_passes_with_time_but_finds_no_revocation_data(home, pki, tsa, make):
    from pyhanko.sign.ades.report import AdESIndeterminate

    data = make(tsa_url=tsa)
    stamp = _emeterai(home, pki, data)
    assert stamp.level == "B-T" and stamp.signing_time_source == "timestamp"
    reader = _reader(data)
    emb = reader.embedded_regular_signatures[0]
    with_time = _with_time(emb, _spec(home, pki, revocation=False))
    assert _passed(with_time), with_time.failure_msg
    assert _same_time(stamp.proven_by, with_time.best_signature_time)
    # the same validation with revocation required, from the file's data: no CRL to be found
    from_dss = _spec(home, pki, revocation=True, knowledge=_dss_knowledge(reader))
    no_crl = AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE
    assert _with_time(emb, from_dss).ades_subindic == no_crl
    lta = _lta(emb, _spec(home, pki, revocation=True))
    assert lta.ades_subindic == no_crl and lta.oldest_evidence_record_timestamp is None


def test_b_lt_pyhanko_validates_with_revocation_from_the_dss_alone(home, pki, tsa, make):
    from pyhanko.sign.ades.report import AdESIndeterminate

    data = make(crl=True, tsa_url=tsa)
    stamp = _emeterai(home, pki, data)
    assert stamp.level == "B-LT"
    reader = _reader(data)
    emb = reader.embedded_regular_signatures[0]
    from_dss = _spec(home, pki, revocation=True, knowledge=_dss_knowledge(reader))
    with_time = _with_time(emb, from_dss)
    assert _passed(with_time), with_time.failure_msg
    assert _same_time(stamp.proven_by, with_time.best_signature_time)
    assert not _passed(_with_time(emb, _spec(home, pki, revocation=True)))  # without the DSS
    assert not reader.embedded_timestamp_signatures
    lta = _lta(emb, _spec(home, pki, revocation=True))
    # validation data but no document timestamp proving it existed: no evidence record, and
    # pyHanko's past validation finds no proof of existence (the LTA in B-LTA is missing)
    assert lta.ades_subindic == AdESIndeterminate.NO_POE, lta.failure_msg
    assert lta.oldest_evidence_record_timestamp is None


def test_b_lta_pyhanko_lta_validation_passes_with_a_document_timestamp(
    home, issuer, pki, tsa, make
):
    lt = make(crl=True, tsa_url=tsa)
    sealed, result = seal(lt, "l.pdf", tsa, [("issuer.crl", issuer.crl(PASSPHRASE))])
    stamp = _emeterai(home, pki, sealed)
    assert stamp.level == "B-LTA"
    reader = _reader(sealed)
    emb = reader.embedded_regular_signatures[0]
    lta = _lta(emb, _spec(home, pki, revocation=True))
    assert _passed(lta), lta.failure_msg
    assert lta.oldest_evidence_record_timestamp is not None
    assert _same_time(result.timestamp, lta.oldest_evidence_record_timestamp)
    assert lta.signature_timestamp_status is not None and _passed(lta.signature_timestamp_status)
    assert _same_time(stamp.proven_by, lta.best_signature_time)  # the signature timestamp's


def test_a_sealed_offline_stamp_is_b_lta_by_pyhankos_reading_of_its_pieces(
    home, issuer, pki, tsa, make
):
    """pyHanko's LTA validation refuses a stamp without a signature timestamp outright (see the
    module docstring), so the pieces of B-LTA are checked one by one."""
    from pyhanko.sign.ades.report import AdESIndeterminate
    from pyhanko.sign.validation.ades import ades_timestamp_validation
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    sealed, result = seal(make(), "l.pdf", tsa, [("issuer.crl", issuer.crl(PASSPHRASE))])
    stamp = _emeterai(home, pki, sealed)
    assert (stamp.level, stamp.signing_time_source) == ("B-LTA", "claimed")
    reader = _reader(sealed)
    emb = reader.embedded_regular_signatures[0]
    lta = _lta(emb, _spec(home, pki, revocation=True))
    assert lta.ades_subindic == AdESIndeterminate.SIG_CONSTRAINTS_FAILURE  # the limitation
    # the stamp, with revocation required from the file's DSS alone (and not without it)
    from_dss = _spec(home, pki, revocation=True, knowledge=_dss_knowledge(reader))
    assert _passed(_basic(emb, from_dss))
    assert not _passed(_basic(emb, _spec(home, pki, revocation=True)))
    # the document timestamp: trusted, over the stamp, over a revision that held the DSS
    (doc_ts,) = reader.embedded_timestamp_signatures
    checked = asyncio.run(
        ades_timestamp_validation(
            doc_ts.signed_data,
            _spec(home, pki, revocation=False),
            expected_tst_imprint=lambda algo: _digest(doc_ts, algo),
        )
    )
    assert _passed(checked), checked.failure_msg
    assert doc_ts.signed_revision > emb.signed_revision
    before = reader.get_historical_resolver(doc_ts.signed_revision)
    assert DocumentSecurityStore.read_dss(before).crls  # the DSS came before the timestamp
    gen_time = doc_ts.signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    assert _same_time(stamp.proven_by, gen_time) and _same_time(result.timestamp, gen_time)


def _digest(emb: Any, algo: str) -> bytes:
    """The digest a timestamp's message imprint must hold: the signed byte ranges'."""
    assert algo == emb.md_algorithm, algo
    return bytes(emb.compute_digest())
