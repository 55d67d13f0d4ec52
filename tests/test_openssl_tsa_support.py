"""tests/support/openssl_tsa.py works end to end, with pyHanko alone (not emeterai's code):
OpenSSL's TSA answers pyHanko's timestamp requests, the tokens come back out of the PDF, and
``openssl ts -verify`` accepts them, and refuses them once a covered byte changes."""

from __future__ import annotations

import hashlib
import io
import subprocess
import urllib.error
import urllib.request

import pytest
from asn1crypto import cms, core, keys, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.support.common import require_tool
from tests.support.openssl_tsa import (
    TSA_POLICY,
    TsaPki,
    make_tsa_ca,
    running_openssl_tsa,
    timestamp_tokens_in_pdf,
    verify_token_with_openssl,
)
from tests.support.pdfmakers import letter_pdf, make_other_signer


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TsaPki:
    require_tool("openssl")
    return make_tsa_ca(tmp_path_factory.mktemp("tsa"))


def _timestamped(pdf: bytes, url: str) -> bytes:
    """``pdf`` with a pyHanko document timestamp (an incremental update) from the TSA at ``url``."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
    from pyhanko.sign.timestamps import HTTPTimeStamper

    out = io.BytesIO()
    PdfTimeStamper(HTTPTimeStamper(url)).timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), "sha256", output=out
    )
    return out.getvalue()


def _signed_with_timestamp(pdf: bytes, url: str) -> bytes:
    """``pdf`` signed by pyHanko (PAdES) with a signature timestamp from the TSA at ``url``."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko.sign.timestamps import HTTPTimeStamper

    other = make_other_signer()
    signer = signers.SimpleSigner(
        signing_cert=ax509.Certificate.load(other.cert_der),
        signing_key=keys.PrivateKeyInfo.load(other.key_der),
        cert_registry=None,
    )
    meta = signers.PdfSignatureMetadata(
        field_name="Pemohon", md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES
    )
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=signer, timestamper=HTTPTimeStamper(url)).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), output=out
    )
    return out.getvalue()


def _ok(done: subprocess.CompletedProcess[str]) -> bool:
    return done.returncode == 0 and "Verification: OK" in done.stdout


def test_the_tsa_certificate_is_issued_by_the_root_for_timestamping_only(pki):
    root = x509.load_pem_x509_certificate(pki.root_pem.read_bytes())
    tsa = x509.load_pem_x509_certificate(pki.tsa_cert_pem.read_bytes())
    tsa.verify_directly_issued_by(root)
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    usage = tsa.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    # OpenSSL agrees that the chain is fit for timestamping
    done = subprocess.run(
        [
            "openssl",
            "verify",
            "-purpose",
            "timestampsign",
            "-CAfile",
            str(pki.root_pem),
            str(pki.tsa_cert_pem),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "[tsa]" in pki.config.read_text()


def test_a_document_timestamp_from_openssl_verifies_with_openssl(pki):
    pdf = letter_pdf()
    with running_openssl_tsa(pki) as (url, answered):
        stamped = _timestamped(pdf, url)
    assert answered  # OpenSSL answered, not some other TSA
    assert stamped.startswith(pdf)  # an incremental update

    (token,) = timestamp_tokens_in_pdf(stamped)
    assert token.kind == "document"
    assert token.data.startswith(pdf[:1000])
    tst_info = cms.ContentInfo.load(token.der)["content"]["encap_content_info"]["content"].parsed
    assert tst_info["policy"].dotted == TSA_POLICY  # from OpenSSL's config
    assert (
        tst_info["message_imprint"]["hashed_message"].native == hashlib.sha256(token.data).digest()
    )

    by_data = verify_token_with_openssl(token.der, token.data, pki)
    assert _ok(by_data), by_data.stdout + by_data.stderr
    by_digest = verify_token_with_openssl(token.der, hashlib.sha256(token.data).hexdigest(), pki)
    assert _ok(by_digest), by_digest.stdout + by_digest.stderr


def test_openssl_refuses_the_token_once_a_covered_byte_changes(pki):
    with running_openssl_tsa(pki) as (url, _answered):
        stamped = _timestamped(letter_pdf(), url)
    at = stamped.index(b"ReportLab Generated")  # a comment near the top: in the first range
    tampered = stamped[:at] + b"X" + stamped[at + 1 :]

    (token,) = timestamp_tokens_in_pdf(tampered)
    done = verify_token_with_openssl(token.der, token.data, pki)
    assert done.returncode != 0
    assert "Verification: OK" not in done.stdout
    assert "FAILED" in done.stdout + done.stderr


def test_openssl_refuses_a_token_from_a_tsa_it_does_not_trust(pki, tmp_path):
    with running_openssl_tsa(pki) as (url, _answered):
        (token,) = timestamp_tokens_in_pdf(_timestamped(letter_pdf(), url))
    stranger = make_tsa_ca(tmp_path / "stranger")
    done = verify_token_with_openssl(token.der, token.data, stranger)
    assert not _ok(done)


def test_every_incremental_update_gives_its_own_token(pki):
    with running_openssl_tsa(pki) as (url, answered):
        once = _timestamped(letter_pdf(), url)
        twice = _timestamped(once, url)
    assert len(answered) >= 2
    tokens = timestamp_tokens_in_pdf(twice)
    assert [t.kind for t in tokens] == ["document", "document"]
    assert [t.index for t in tokens] == [0, 1]
    assert tokens[0].der != tokens[1].der
    assert len(tokens[0].data) < len(tokens[1].data)  # the second covers the first
    for token in tokens:
        done = verify_token_with_openssl(token.der, token.data, pki)
        assert _ok(done), done.stdout + done.stderr


def test_a_signature_timestamp_is_found_in_the_signer_info_and_verifies(pki):
    with running_openssl_tsa(pki) as (url, _answered):
        signed = _signed_with_timestamp(letter_pdf(), url)
        sealed = _timestamped(signed, url)
    tokens = timestamp_tokens_in_pdf(sealed)
    assert [(t.kind, t.field, t.index) for t in tokens] == [
        ("signature", "Pemohon", 0),
        ("document", tokens[1].field, 1),
    ]
    signature_token = tokens[0]
    for token in tokens:
        done = verify_token_with_openssl(token.der, token.data, pki)
        assert _ok(done), done.stdout + done.stderr
    # the imprint is over the signature value, not anything else
    wrong = verify_token_with_openssl(signature_token.der, signature_token.data[:-1], pki)
    assert not _ok(wrong)


def test_the_tsa_answers_only_timestamp_queries(pki):
    with running_openssl_tsa(pki) as (url, answered):
        request = urllib.request.Request(url, data=b"hello", headers={"Content-Type": "text/plain"})
        with pytest.raises(urllib.error.HTTPError) as wrong_type:
            urllib.request.urlopen(request, timeout=10)
        assert answered == []
        garbage = urllib.request.Request(
            url, data=b"not DER", headers={"Content-Type": "application/timestamp-query"}
        )
        with urllib.request.urlopen(garbage, timeout=10) as response:
            content_type = response.headers["Content-Type"]
            reply = core.Sequence.load(response.read())
    assert wrong_type.value.code == 415
    # RFC 3161: a malformed query is answered, with a rejection
    assert content_type == "application/timestamp-reply"
    # (asn1crypto's TimeStampResp wants a token, so the status is read on its own)
    status = tsp.PKIStatusInfo.load(reply[0].dump())
    assert status["status"].native == "rejection"
    assert len(reply) == 1  # no token


def test_the_server_stops_when_the_block_ends(pki):
    with running_openssl_tsa(pki) as (url, _answered):
        pass
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(
            urllib.request.Request(
                url, data=b"x", headers={"Content-Type": "application/timestamp-query"}
            ),
            timeout=5,
        )
