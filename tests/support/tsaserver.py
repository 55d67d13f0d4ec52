"""A real RFC 3161 timestamp authority on loopback, for ``stamp --tsa`` tests.

HTTP on 127.0.0.1 (a thread of the test process); pyHanko's DummyTimeStamper builds and signs the
responses with a self-made TSA certificate (extended key usage timeStamping, critical).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import keys, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _tsa_identity() -> tuple[ax509.Certificate, keys.PrivateKeyInfo]:
    key = rsa.generate_private_key(
        public_exponent=65537, key_size=2048
    )  # pyHanko's dummy TSA is RSA-only
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (
        ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        keys.PrivateKeyInfo.load(der_key),
    )


def tsa_identity() -> tuple[ax509.Certificate, keys.PrivateKeyInfo]:
    """A fresh TSA certificate and key (the certificate is what a verifier trusts)."""
    return _tsa_identity()


def tsa_certificate(identity: tuple[ax509.Certificate, keys.PrivateKeyInfo]) -> x509.Certificate:
    return x509.load_der_x509_certificate(identity[0].dump())


@contextmanager
def running_tsa(
    fixed_time: dt.datetime | None = None,
    identity: tuple[ax509.Certificate, keys.PrivateKeyInfo] | None = None,
) -> Iterator[tuple[str, list[int]]]:
    """Yields the TSA's URL and a list counting the requests it answered; ``identity`` (from
    :func:`tsa_identity`) when the test must trust the TSA's certificate."""
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    cert, key = identity or _tsa_identity()
    stamper = DummyTimeStamper(tsa_cert=cert, tsa_key=key, fixed_dt=fixed_time)
    answered: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            response = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(response)))
            self.end_headers()
            self.wfile.write(response)
            answered.append(1)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa", answered
    finally:
        server.shutdown()
        server.server_close()
