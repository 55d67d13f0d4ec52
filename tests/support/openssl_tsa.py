"""An independent RFC 3161 timestamp authority for the long-term validity tests: OpenSSL's.

``running_tsa`` (tsaserver.py) answers with pyHanko, the library emeterai builds on, so a mistake
shared by both would go unnoticed. Here ``openssl ts -reply`` answers, behind a loopback HTTP
handler, with its own TSA certificate issued by a test CA (``make_tsa_ca``); the tokens a PDF
carries are taken out (``timestamp_tokens_in_pdf``) and checked by ``openssl ts -verify``
(``verify_token_with_openssl``).
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.common import require_tool

TSA_POLICY = "1.2.3.4.1"
SIGNATURE_TIMESTAMP_OID = "1.2.840.113549.1.9.16.2.14"  # id-aa-signatureTimeStampToken


@dataclass(frozen=True)
class TsaPki:
    """The files of a test TSA: its CA's root, its certificate and key, and openssl's config."""

    folder: Path
    root_pem: Path
    tsa_cert_pem: Path
    tsa_key_pem: Path
    config: Path
    serial_file: Path

    def root_der(self) -> bytes:
        """The root certificate in DER, for trust stores that take bytes."""
        return x509.load_pem_x509_certificate(self.root_pem.read_bytes()).public_bytes(
            serialization.Encoding.DER
        )

    def tsa_cert_der(self) -> bytes:
        """The TSA certificate in DER."""
        return x509.load_pem_x509_certificate(self.tsa_cert_pem.read_bytes()).public_bytes(
            serialization.Encoding.DER
        )


@dataclass(frozen=True)
class Token:
    """One RFC 3161 TimeStampToken found in a PDF, with the bytes its message imprint covers.

    ``kind`` is ``document`` (a /DocTimeStamp: ``data`` is the file's /ByteRange) or
    ``signature`` (an unsigned attribute of a CMS signature: ``data`` is that SignerInfo's
    signature value). ``field`` is the signature field holding it; ``index`` its place among the
    file's signatures, oldest first.
    """

    kind: Literal["document", "signature"]
    der: bytes
    data: bytes
    field: str
    index: int


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "emeterai tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_tsa_ca(folder: Path, name: str = "OpenSSL Test TSA", days: int = 3650) -> TsaPki:
    """A self-signed test root and a TSA certificate it issues (EC P-256, which OpenSSL 3's
    ``ts -reply`` signs with), written to ``folder`` with a ``[tsa]`` config for ``openssl ts``.

    The TSA certificate carries what RFC 3161 asks: extendedKeyUsage timeStamping, critical.
    """
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=days)

    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"{name} Root CA")
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(root_ski, critical=False)
        .sign(root_key, hashes.SHA256())
    )

    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(root_name)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(tsa_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )

    root_pem = folder / "tsa-root.pem"
    tsa_cert_pem = folder / "tsa-cert.pem"
    tsa_key_pem = folder / "tsa-key.pem"
    serial_file = folder / "tsa-serial"
    config = folder / "tsa.cnf"
    root_pem.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    tsa_cert_pem.write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
    tsa_key_pem.write_bytes(_pem_key(tsa_key))
    tsa_key_pem.chmod(0o600)
    serial_file.write_text("01\n")
    config.write_text(
        "\n".join(
            [
                "[tsa]",
                "default_tsa = tsa_config",
                "",
                "[tsa_config]",
                f"serial = {serial_file}",
                "crypto_device = builtin",
                f"signer_cert = {tsa_cert_pem}",
                f"certs = {root_pem}",
                f"signer_key = {tsa_key_pem}",
                "signer_digest = sha256",
                f"default_policy = {TSA_POLICY}",
                "digests = sha256, sha384, sha512",
                "accuracy = secs:1, millisecs:500, microsecs:100",
                "clock_precision_digits = 0",
                "ordering = no",
                "tsa_name = no",
                "ess_cert_id_chain = no",
                "ess_cert_id_alg = sha256",
                "",
            ]
        )
    )
    return TsaPki(folder, root_pem, tsa_cert_pem, tsa_key_pem, config, serial_file)


def _openssl() -> str:
    return require_tool("openssl")


@contextmanager
def running_openssl_tsa(pki: TsaPki) -> Iterator[tuple[str, list[int]]]:
    """Yields the URL of ``openssl ts -reply`` behind a loopback HTTP handler, and a list that
    grows by one for each request answered; the server stops when the block ends.

    Like tsaserver.running_tsa, so a test can take either. A POST whose Content-Type is not
    application/timestamp-query gets 415; a query openssl cannot answer gets 500 with its stderr.
    """
    openssl = _openssl()
    answered: list[int] = []
    lock = threading.Lock()  # one openssl at a time: it rewrites the serial file

    with tempfile.TemporaryDirectory(prefix="openssl-tsa-") as scratch_name:
        scratch = Path(scratch_name)  # mode 0700: the queries and replies stay private

        def reply(query: bytes) -> tuple[int, str, bytes]:
            with lock:
                query_file = scratch / f"q{len(answered)}.tsq"
                reply_file = scratch / f"r{len(answered)}.tsr"
                query_file.write_bytes(query)
                done = subprocess.run(
                    [
                        openssl,
                        "ts",
                        "-reply",
                        "-config",
                        str(pki.config),
                        "-queryfile",
                        str(query_file),
                        "-out",
                        str(reply_file),
                    ],
                    capture_output=True,
                    timeout=30,
                    check=False,
                )
                if done.returncode != 0 or not reply_file.is_file():
                    return 500, "text/plain", done.stderr or b"openssl ts -reply failed"
                response = reply_file.read_bytes()
                query_file.unlink()
                reply_file.unlink()
                answered.append(1)
                return 200, "application/timestamp-reply", response

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if content_type.lower() != "application/timestamp-query":
                    status, kind, payload = (
                        415,
                        "text/plain",
                        b"expected application/timestamp-query",
                    )
                else:
                    status, kind, payload = reply(body)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/tsa", answered
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


def verify_token_with_openssl(
    token_der: bytes, data_or_digest: bytes | str, pki: TsaPki
) -> subprocess.CompletedProcess[str]:
    """``openssl ts -verify`` of a DER TimeStampToken against the test root.

    ``data_or_digest`` is the timestamped bytes (bytes: passed as ``-data``) or the hex of their
    digest (str: ``-digest``). Returns the finished process, not checked: callers assert
    ``returncode == 0`` and ``"Verification: OK"`` in stdout, or that it failed.
    """
    openssl = _openssl()
    with tempfile.TemporaryDirectory(prefix="openssl-ts-verify-") as scratch_name:
        scratch = Path(scratch_name)
        token_file = scratch / "token.der"
        token_file.write_bytes(token_der)
        if isinstance(data_or_digest, bytes):
            data_file = scratch / "data.bin"
            data_file.write_bytes(data_or_digest)
            imprint = ["-data", str(data_file)]
        else:
            imprint = ["-digest", data_or_digest]
        return subprocess.run(
            [
                openssl,
                "ts",
                "-verify",
                "-in",
                str(token_file),
                "-token_in",
                *imprint,
                "-CAfile",
                str(pki.root_pem),
                "-untrusted",
                str(pki.tsa_cert_pem),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )


def _signature_timestamps(signed_data: cms.SignedData) -> Iterator[tuple[bytes, bytes]]:
    """(token DER, signature value) for every signature timestamp in ``signed_data``."""
    for signer_info in signed_data["signer_infos"]:
        attrs = signer_info["unsigned_attrs"]
        if not attrs.native:
            continue
        for attr in attrs:
            if attr["type"].dotted != SIGNATURE_TIMESTAMP_OID:
                continue
            for token in attr["values"]:
                yield token.dump(), signer_info["signature"].native


def timestamp_tokens_in_pdf(pdf_bytes: bytes) -> list[Token]:
    """Every RFC 3161 token in a PDF, across all its incremental updates, oldest signature
    first: each /DocTimeStamp's /Contents (with its /ByteRange bytes), and each
    id-aa-signatureTimeStampToken in any signature's SignerInfos (with the signature value).
    """
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
    tokens: list[Token] = []
    for index, sig in enumerate(reader.embedded_signatures):
        sub_filter = sig.sig_object.get("/SubFilter")
        if sub_filter == "/ETSI.RFC3161":
            start1, len1, start2, len2 = (int(n) for n in sig.byte_range)
            covered = pdf_bytes[start1 : start1 + len1] + pdf_bytes[start2 : start2 + len2]
            token = cms.ContentInfo.load(sig.pkcs7_content).dump()  # the padding dropped
            tokens.append(Token("document", token, covered, sig.field_name, index))
        for token, signature in _signature_timestamps(sig.signed_data):
            tokens.append(Token("signature", token, signature, sig.field_name, index))
    return tokens
