"""The stamp issuer: a root CA that sells stamps and can revoke them (SPEC §2).

State lives in one directory: ``root.pem`` (public), ``root.key`` (PKCS#8, encrypted with the
issuer passphrase, mode 0600), ``issuer.json`` (name, serial prefix, specimen flag) and
``issuer.db`` (SQLite: every serial issued, and revocations). The library returns bytes; writing
stamp files is the caller's job.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from emeterai import serial as serials
from emeterai._files import discard, write_atomic
from emeterai._x509util import OID_SPECIMEN, OID_VALUE, der_integer, fingerprint, to_pem
from emeterai.errors import IssuerError, PassphraseError, SerialError, UsageError
from emeterai.i18n import N_

__all__ = [
    "DEFAULT_NAME",
    "IssuedStamp",
    "Issuer",
    "IssuerInfo",
    "MAX_NAME",
    "check_stamp_passphrase",
]

DEFAULT_NAME = "emeterai Issuer"
MAX_NAME = 56  # X.509 names allow 64 characters, and the root's CN adds " Root CA"


@dataclass(frozen=True)
class IssuerInfo:
    name: str
    prefix: str
    specimen: bool
    fingerprint: str
    not_after: dt.datetime


@dataclass(frozen=True)
class IssuedStamp:
    """One stamp as sold: its serial and its passphrase-protected PKCS#12 file."""

    serial: str
    value: int
    not_after: dt.datetime
    p12: bytes


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only, atomically."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def check_stamp_passphrase(stamp_passphrase: str, issuer_passphrase: str) -> None:
    """Raise UsageError when the stamp files' passphrase is the issuer key's: buyers get the
    former, and must never hold the latter. Cheap, so a prompt can judge a first entry."""
    if stamp_passphrase == issuer_passphrase:
        raise UsageError(
            N_("the stamp files' passphrase must differ from the issuer key's: buyers get it")
        )


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS issued (serial TEXT PRIMARY KEY, cert_serial TEXT NOT NULL,"
        " value INTEGER NOT NULL, not_after TEXT NOT NULL, issued_at TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS revoked (serial TEXT PRIMARY KEY, revoked_at TEXT NOT NULL)"
    )
    return db


def _root_certificate(
    key: ec.EllipticCurvePrivateKey, name: str, specimen: bool, valid_years: int
) -> x509.Certificate:
    """The issuer's self-signed root: a CA that signs stamp certificates (but no CA below
    it) and CRLs, valid from five minutes ago (clock skew) for ``valid_years``, marked
    as a specimen issuer when ``specimen``."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{name} Root CA"),
        ]
    )
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * valid_years))
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
        .add_extension(ski, critical=False)
    )
    if specimen:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(OID_SPECIMEN, b"\x05\x00"), critical=False
        )
    return builder.sign(key, hashes.SHA256())


def _p12_encryption(password: bytes) -> serialization.KeySerializationEncryption:
    """How stamp files are protected, spelled out rather than left to a library default so
    every file gets the same: PBES2 (SHA-256, AES-256-CBC), 50000 KDF rounds, a SHA-256 MAC."""
    return (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(50000)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password)
    )


class Issuer:
    """An issuer CA on disk. Create with :meth:`create`, open with :meth:`open`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        meta_path = directory / "issuer.json"
        if not meta_path.exists():
            raise IssuerError(
                N_("no issuer in {directory}: run 'emeterai issuer init' first"),
                directory=directory,
            )
        meta = json.loads(meta_path.read_text())
        self.root = x509.load_pem_x509_certificate((directory / "root.pem").read_bytes())
        self.info = IssuerInfo(
            name=meta["name"],
            prefix=meta["prefix"],
            specimen=bool(meta["specimen"]),
            fingerprint=fingerprint(self.root),
            not_after=self.root.not_valid_after_utc,
        )

    @classmethod
    def create(
        cls,
        directory: Path,
        passphrase: str,
        name: str = DEFAULT_NAME,
        specimen: bool = False,
        valid_years: int = 10,
    ) -> Issuer:
        """Make a new root CA (ECDSA P-256) in ``directory``; refuses to replace one."""
        if (directory / "issuer.json").exists() or (directory / "root.key").exists():
            raise IssuerError(
                N_("an issuer already exists in {directory}; not replacing it"),
                directory=directory,
            )
        if not passphrase:
            raise PassphraseError(N_("the issuer key needs a non-empty passphrase"))
        if not 1 <= len(name.strip()) <= MAX_NAME:
            raise IssuerError(N_("the issuer name must be 1 to {count} characters"), count=MAX_NAME)
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _root_certificate(key, name, specimen, valid_years)
        pub = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        _write_private(
            directory / "root.key",
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(passphrase.encode()),
            ),
        )
        write_atomic(directory / "root.pem", to_pem(cert), overwrite=True)
        _connect(directory / "issuer.db").close()
        meta = {"name": name, "prefix": serials.issuer_prefix(pub), "specimen": specimen}
        # last: an issuer.json names an issuer whose every part is in place
        write_atomic(directory / "issuer.json", (json.dumps(meta, indent=2) + "\n").encode())
        return cls(directory)

    @classmethod
    def open(cls, directory: Path) -> Issuer:
        return cls(directory)

    def root_pem(self) -> bytes:
        return to_pem(self.root)

    def check_passphrase(self, passphrase: str) -> None:
        """Raise PassphraseError unless ``passphrase`` opens the issuer key."""
        self._key(passphrase)

    def _key(self, passphrase: str) -> ec.EllipticCurvePrivateKey:
        data = (self.directory / "root.key").read_bytes()
        try:
            key = serialization.load_pem_private_key(data, passphrase.encode())
        except (ValueError, TypeError) as exc:
            raise PassphraseError(N_("wrong passphrase for the issuer key")) from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise IssuerError(N_("the issuer key is not an EC key"))
        return key

    def issue(
        self,
        count: int,
        passphrase: str,
        value: int = 10000,
        valid_days: int = 365,
        stamp_passphrase: str | None = None,
    ) -> list[IssuedStamp]:
        """Issue ``count`` new stamps, each a fresh serial never issued before.

        ``stamp_passphrase`` protects the PKCS#12 files that buyers get, and must differ from
        the issuer key's (:func:`check_stamp_passphrase`). Without it the files fall back to
        ``passphrase``, which suits throwaway issuers (demo, tests) only.
        """
        if stamp_passphrase is not None:
            check_stamp_passphrase(stamp_passphrase, passphrase)
        if count < 1:
            raise IssuerError(N_("the count must be at least 1"))
        if value < 1:
            raise IssuerError(N_("the value must be a positive number of rupiah"))
        if valid_days < 1:
            raise IssuerError(N_("the validity in days must be at least 1"))
        ca_key = self._key(passphrase)
        p12_pass = (stamp_passphrase or passphrase).encode()
        root_ski = self.root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski)
        encryption = _p12_encryption(p12_pass)
        stamps: list[IssuedStamp] = []
        db = _connect(self.directory / "issuer.db")
        try:
            for _ in range(count):
                now = _now()
                not_after = now + dt.timedelta(days=valid_days)
                key = ec.generate_private_key(ec.SECP256R1())
                cert_serial = x509.random_serial_number()
                serial = self._record_new_serial(db, cert_serial, value, now, not_after)
                cert = self._stamp_certificate(
                    ca_key, key, serial, cert_serial, value, now, not_after, aki
                )
                p12 = pkcs12.serialize_key_and_certificates(
                    serial.encode(), key, cert, [self.root], encryption
                )
                stamps.append(IssuedStamp(serial, value, not_after, p12))
        finally:
            db.close()
        return stamps

    def _record_new_serial(
        self,
        db: sqlite3.Connection,
        cert_serial: int,
        value: int,
        now: dt.datetime,
        not_after: dt.datetime,
    ) -> str:
        """A fresh serial under this issuer's prefix, recorded as issued before any certificate
        carries it; one already recorded is drawn again, so no serial is ever issued twice."""
        while True:
            serial = serials.generate(self.info.prefix)
            try:
                db.execute(
                    "INSERT INTO issued VALUES (?, ?, ?, ?, ?)",
                    (
                        serial,
                        str(cert_serial),
                        value,
                        not_after.isoformat(),
                        now.isoformat(),
                    ),
                )
                return serial
            except sqlite3.IntegrityError:
                continue  # 2^-90 odds, but never issue a serial twice

    def _stamp_certificate(
        self,
        ca_key: ec.EllipticCurvePrivateKey,
        key: ec.EllipticCurvePrivateKey,
        serial: str,
        cert_serial: int,
        value: int,
        not_before: dt.datetime,
        not_after: dt.datetime,
        aki: x509.AuthorityKeyIdentifier,
    ) -> x509.Certificate:
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.info.name),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, serial),
                x509.NameAttribute(NameOID.COMMON_NAME, f"e-Meterai {serial}"),
            ]
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.root.subject)
            .public_key(key.public_key())
            .serial_number(cert_serial)
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
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
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(aki, critical=False)
            .add_extension(x509.UnrecognizedExtension(OID_VALUE, der_integer(value)), False)
        )
        if self.info.specimen:
            builder = builder.add_extension(
                x509.UnrecognizedExtension(OID_SPECIMEN, b"\x05\x00"), critical=False
            )
        return builder.sign(ca_key, hashes.SHA256())

    def issued_serials(self) -> list[str]:
        db = _connect(self.directory / "issuer.db")
        try:
            return [row[0] for row in db.execute("SELECT serial FROM issued ORDER BY issued_at")]
        finally:
            db.close()

    def revocable(self, serial_texts: Iterable[str]) -> list[str]:
        """The canonical serials, when each is well formed and was issued by this issuer; else
        the SerialError that :meth:`revoke` would raise. Needs no passphrase, so a command can
        refuse a mistyped serial before asking for one."""
        wanted = [serials.parse(text) for text in serial_texts]
        db = _connect(self.directory / "issuer.db")
        try:
            _require_issued(db, wanted)
        finally:
            db.close()
        return wanted

    def revoke(self, serial_texts: Iterable[str], passphrase: str) -> list[str]:
        """Revoke serials this issuer issued, all or none; returns the canonical serials.
        ``passphrase`` must open the issuer key (PassphraseError): revocation changes the CRL,
        which only the key's holder may do."""
        wanted = [serials.parse(text) for text in serial_texts]
        self._key(passphrase)
        db = _connect(self.directory / "issuer.db")
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                _require_issued(db, wanted)
                for serial in wanted:
                    db.execute(
                        "INSERT OR IGNORE INTO revoked VALUES (?, ?)", (serial, _now().isoformat())
                    )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()
        return wanted

    def crl(self, passphrase: str, next_update_days: int = 30) -> bytes:
        """The current CRL (PEM), signed by the issuer key."""
        key = self._key(passphrase)
        now = _now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.root.subject)
            .last_update(now)
            .next_update(now + dt.timedelta(days=next_update_days))
        )
        db = _connect(self.directory / "issuer.db")
        try:
            rows = db.execute(
                "SELECT i.cert_serial, r.revoked_at FROM revoked r JOIN issued i USING (serial)"
            ).fetchall()
        finally:
            db.close()
        for cert_serial, revoked_at in rows:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(int(cert_serial))
                .revocation_date(dt.datetime.fromisoformat(revoked_at))
                .build()
            )
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _require_issued(db: sqlite3.Connection, wanted: Sequence[str]) -> None:
    """Raise SerialError naming the first of ``wanted`` that this issuer never issued."""
    for serial in wanted:
        if db.execute("SELECT 1 FROM issued WHERE serial = ?", (serial,)).fetchone() is None:
            raise SerialError(
                N_("serial {serial} was not issued by this issuer; nothing revoked"), serial=serial
            )
