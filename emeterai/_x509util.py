"""The stamp certificate format shared by issuer, wallet and verify.

A stamp certificate carries its serial in the subject (CN and serialNumber), its nominal value in
a private extension, and, for specimen issuers, a specimen marker (also on the root).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from emeterai.i18n import N_

# Private arc under a UUID OID (ITU-T X.667), owned by this project.
OID_BASE = "2.25.174577653491752765795149438163376291227"
OID_VALUE = x509.ObjectIdentifier(OID_BASE + ".1")
OID_SPECIMEN = x509.ObjectIdentifier(OID_BASE + ".2")
OID_DOCUMENT_DIGEST = OID_BASE + ".3"  # signed attribute: SHA-256 of the document as given
OID_BASE_LENGTH = OID_BASE + ".4"  # signed attribute: length of the signed pre-stamp prefix
OID_BASE_DIGEST = (
    OID_BASE + ".5"
)  # signed attribute: SHA-256 of that prefix, when repaired by rewrite

DEFAULT_VALUE = 10000


def der_integer(value: int) -> bytes:
    """DER encoding of a non-negative INTEGER."""
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return bytes([0x02, len(body)]) + body


def parse_der_integer(data: bytes) -> int:
    if len(data) < 3 or data[0] != 0x02 or data[1] != len(data) - 2 or data[1] > 8:
        raise ValueError("not a small DER INTEGER")
    return int.from_bytes(data[2:], "big", signed=True)


@dataclass(frozen=True)
class StampCertInfo:
    """What a stamp certificate says about its stamp."""

    serial: str
    value: int
    issuer_name: str
    specimen: bool
    not_before: dt.datetime
    not_after: dt.datetime


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    attrs = name.get_attributes_for_oid(oid)
    return str(attrs[0].value) if attrs else ""


def issuer_display_name(cert: x509.Certificate) -> str:
    """The issuer's human name: O, else CN of the certificate's issuer."""
    return _attr(cert.issuer, NameOID.ORGANIZATION_NAME) or _attr(cert.issuer, NameOID.COMMON_NAME)


def subject_display_name(cert: x509.Certificate) -> str:
    return _attr(cert.subject, NameOID.ORGANIZATION_NAME) or _attr(
        cert.subject, NameOID.COMMON_NAME
    )


def is_specimen(cert: x509.Certificate) -> bool:
    try:
        cert.extensions.get_extension_for_oid(OID_SPECIMEN)
    except x509.ExtensionNotFound:
        return False
    return True


def stamp_info(cert: x509.Certificate) -> StampCertInfo:
    """Read the stamp fields of a stamp certificate; ValueError when it is not one (its
    message is a catalog msgid: ``EmeteraiError(str(exc))`` translates)."""
    serial = _attr(cert.subject, NameOID.SERIAL_NUMBER)
    if not serial:
        raise ValueError(N_("certificate subject has no serialNumber: not a stamp certificate"))
    try:
        ext = cert.extensions.get_extension_for_oid(OID_VALUE)
        value = parse_der_integer(ext.value.value)  # type: ignore[attr-defined]
    except (x509.ExtensionNotFound, ValueError) as exc:
        raise ValueError(N_("certificate carries no stamp value: not a stamp certificate")) from exc
    return StampCertInfo(
        serial=serial,
        value=value,
        issuer_name=issuer_display_name(cert),
        specimen=is_specimen(cert),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint of the DER certificate, lower-case hex."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """All certificates in PEM (one or more) or DER ``data``."""
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    """The CRL in PEM or DER ``data``; ValueError when it is neither."""
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def crl_signed_by(crl: x509.CertificateRevocationList, certs: Iterable[x509.Certificate]) -> bool:
    """Is ``crl`` signed by one of ``certs`` (one whose subject is the CRL's issuer)?"""
    for cert in certs:
        if cert.subject != crl.issuer:
            continue
        try:
            if crl.is_signature_valid(cert.public_key()):  # type: ignore[arg-type]
                return True
        except (TypeError, ValueError):  # a key type a CRL cannot be signed with
            continue
    return False


def to_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)
