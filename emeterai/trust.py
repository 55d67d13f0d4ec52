"""The verifier's trust store: the issuer roots that stamps must chain to.

One PEM file per root in a directory, named by the certificate's SHA-256 fingerprint.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from emeterai._files import write_atomic
from emeterai._x509util import (
    fingerprint,
    is_specimen,
    load_certificates,
    subject_display_name,
    to_pem,
)
from emeterai.errors import TrustError
from emeterai.i18n import N_

__all__ = ["TrustStore", "TrustedRoot", "parse_root"]


@dataclass(frozen=True)
class TrustedRoot:
    fingerprint: str
    name: str
    specimen: bool
    not_after: dt.datetime
    certificate: x509.Certificate

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "name": self.name,
            "specimen": self.specimen,
            "not_after": self.not_after.isoformat(),
        }


def _describe(cert: x509.Certificate) -> TrustedRoot:
    return TrustedRoot(
        fingerprint=fingerprint(cert),
        name=subject_display_name(cert),
        specimen=is_specimen(cert),
        not_after=cert.not_valid_after_utc,
        certificate=cert,
    )


def _one_certificate(data: bytes, source: str) -> x509.Certificate:
    try:
        certs = load_certificates(data)
    except ValueError as exc:
        raise TrustError(N_("not a PEM or DER certificate"), path=source) from exc
    if len(certs) != 1:
        raise TrustError(
            N_("expected one certificate, found {count}"), path=source, count=len(certs)
        )
    return certs[0]


def parse_root(data: bytes, source: str) -> x509.Certificate:
    """The one CA certificate in ``data``; TrustError naming ``source`` otherwise."""
    cert = _one_certificate(data, source)
    try:
        ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        ca = False
    if not ca:
        raise TrustError(N_("not a CA certificate (an issuer root is needed)"), path=source)
    return cert


def parse_tsa_root(data: bytes, source: str) -> x509.Certificate:
    """The one certificate a timestamp authority is trusted by: a CA, or the TSA's own
    self-signed certificate for timestamping; TrustError naming ``source`` otherwise."""
    cert = _one_certificate(data, source)
    try:
        ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        ca = False
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        stamps_time = x509.oid.ExtendedKeyUsageOID.TIME_STAMPING in usages
    except x509.ExtensionNotFound:
        stamps_time = False
    if not ca and not (stamps_time and cert.subject == cert.issuer):
        raise TrustError(
            N_("not a CA nor a self-signed timestamping certificate (a TSA root is needed)"),
            path=source,
        )
    return cert


class TrustStore:
    """Trusted roots in a folder, one PEM file each: the issuers' (``trust``), or the timestamp
    authorities' (``trust/tsa``, with ``tsa=True``)."""

    def __init__(self, directory: Path, tsa: bool = False) -> None:
        self.directory = directory
        self.tsa = tsa

    def add(self, data: bytes, source: str) -> tuple[TrustedRoot, bool]:
        """Trust the root in ``data``; returns it and whether it was new."""
        cert = parse_tsa_root(data, source) if self.tsa else parse_root(data, source)
        root = _describe(cert)
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{root.fingerprint}.pem"
        if path.exists():
            return root, False
        write_atomic(path, to_pem(cert), overwrite=True)
        return root, True

    def roots(self) -> list[TrustedRoot]:
        if not self.directory.is_dir():
            return []
        roots: list[TrustedRoot] = []
        for path in sorted(self.directory.glob("*.pem")):
            try:
                certs = load_certificates(path.read_bytes())
            except (OSError, ValueError) as exc:
                raise TrustError(
                    N_("unreadable trusted root ({reason}); remove the file"),
                    path=path,
                    reason=exc,
                ) from None
            roots.extend(_describe(c) for c in certs)
        return roots

    def certificates(self) -> list[x509.Certificate]:
        return [r.certificate for r in self.roots()]

    def remove(self, key: str) -> TrustedRoot:
        """Remove the root whose fingerprint starts with ``key`` or whose name is ``key``."""
        key_l = key.lower().replace(":", "")
        matches = [
            r
            for r in self.roots()
            if (len(key_l) >= 8 and r.fingerprint.startswith(key_l)) or r.name == key
        ]
        if not matches:
            raise TrustError(
                N_("no trusted root matches {key} (see 'emeterai trust list')"), key=repr(key)
            )
        if len(matches) > 1:
            raise TrustError(
                N_("{key} matches {count} roots; give more of the fingerprint"),
                key=repr(key),
                count=len(matches),
            )
        (self.directory / f"{matches[0].fingerprint}.pem").unlink()
        return matches[0]
