"""The applicant's wallet: purchased stamps and their spending state (SPEC §2, §5).

State lives in one SQLite database. Each stamp's private key is re-wrapped at import under a
random wallet key (AES-256-GCM, the serial as associated data); the wallet key itself is wrapped
under the passphrase with scrypt. Opening the wallet costs one key derivation per command, and
each stamp key then costs microseconds, however many documents a batch stamps.

Spending is reserve -> mark_written -> mark_publishing -> commit. A reservation records the
process that holds it; :meth:`Wallet.recover` settles reservations whose process is gone: used if
the intended output exists with the recorded digest; available only when it is certain that no
output carrying the serial was published (the move into place never began, or an atomic move's
temp file is still there); otherwise ``unsure`` ("possibly used"), a state never spent again.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import json
import os
import secrets
import socket
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import pkcs12

from emeterai import serial as serials
from emeterai._files import ATOMIC_METHODS, discard
from emeterai._pdfobjects import Joined, Said
from emeterai._x509util import StampCertInfo, crl_signed_by, load_crl, stamp_info
from emeterai.errors import (
    EmeteraiError,
    Hint,
    NoStampAvailable,
    PassphraseError,
    SerialError,
    StampAlreadyUsed,
    StampFileError,
    StampPossiblyUsed,
    TrustError,
    UntrustedStampError,
    WalletError,
)
from emeterai.i18n import N_

__all__ = [
    "AVAILABLE",
    "CrlImport",
    "is_crl",
    "EXPIRED",
    "ImportOutcome",
    "ImportStatus",
    "RESERVED",
    "RecoveryReport",
    "Reservation",
    "RestoreReport",
    "STALE_AFTER",
    "StampKey",
    "State",
    "UNSURE",
    "USED",
    "Wallet",
    "WalletEntry",
    "WalletKey",
    "WalletTotals",
    "check_stamp_file",
]

STALE_AFTER = dt.timedelta(hours=1)
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stamps (
    serial TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    issuer TEXT NOT NULL,
    specimen INTEGER NOT NULL,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL,
    cert BLOB NOT NULL,
    chain BLOB NOT NULL,
    wrapped_key BLOB NOT NULL,
    imported_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'available',
    token TEXT, pid INTEGER, proc TEXT, host TEXT, reserved_at TEXT,
    temp_path TEXT, output_path TEXT, output_sha256 TEXT,
    used_file TEXT, used_sha256 TEXT, used_at TEXT,
    publish_method TEXT
);
CREATE INDEX IF NOT EXISTS stamps_by_expiry ON stamps (state, not_after, serial);
CREATE TABLE IF NOT EXISTS crls (issuer BLOB PRIMARY KEY, this_update TEXT NOT NULL, der BLOB NOT NULL);
"""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(moment: dt.datetime | None) -> dt.datetime:
    """``moment`` (naive means UTC) or now, in UTC: times are stored as UTC ISO strings."""
    if moment is None:
        return _now()
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


class State(enum.StrEnum):
    """A stamp's spending state: available -> reserved -> used; a reserved stamp whose output
    may or may not have been published when its process died becomes unsure, and is never
    reserved again. Expired is never stored: an available stamp past its validity is shown as
    expired when the wallet is read, so the state follows the clock."""

    AVAILABLE = "available"
    RESERVED = "reserved"
    USED = "used"
    UNSURE = "unsure"
    EXPIRED = "expired"


AVAILABLE, RESERVED, USED, UNSURE = State.AVAILABLE, State.RESERVED, State.USED, State.UNSURE
EXPIRED = State.EXPIRED

# Stamps that reserve() may take at a moment (bound twice to that moment, as an ISO string).
_USABLE = "state = 'available' AND not_after > ? AND not_before <= ?"
# How spent a stored state is, for merging a backup: the more spent state wins, and a stamp
# reserved when the backup was made counts as possibly used (its process went on after it).
_SPENT_RANK = {AVAILABLE: 0, RESERVED: 1, UNSURE: 1, USED: 2}
_DAMAGED = N_("stamp {serial} in the backup is damaged")
_EMPTY = N_("the wallet is empty: import stamps with 'emeterai wallet import'")


@dataclass(frozen=True)
class WalletTotals:
    """How many stamps the wallet holds in each state at one moment. ``usable`` counts what
    reserve() could take (available and valid at that moment), by the query that
    :meth:`Wallet.require_usable` answers with, so a summary and a refusal never disagree."""

    usable: int = 0
    not_valid_yet: int = 0
    expired: int = 0
    used: int = 0
    unsure: int = 0
    reserved: int = 0

    @property
    def total(self) -> int:
        return (
            self.usable
            + self.not_valid_yet
            + self.expired
            + self.used
            + self.unsure
            + self.reserved
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "usable": self.usable,
            "not_valid_yet": self.not_valid_yet,
            "expired": self.expired,
            "used": self.used,
            "unsure": self.unsure,
            "reserved": self.reserved,
        }


@dataclass(frozen=True)
class WalletEntry:
    """One stamp in the wallet, as ``wallet list`` shows it."""

    serial: str
    value: int
    issuer: str
    specimen: bool
    not_after: dt.datetime
    state: State
    used_file: str | None
    used_sha256: str | None
    used_at: str | None
    output_path: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "value": self.value,
            "issuer": self.issuer,
            "specimen": self.specimen,
            "expires": self.not_after.isoformat(),
            "state": self.state,
            "file": self.used_file,
            "document_sha256": self.used_sha256,
            "output": self.output_path,
            "used_at": self.used_at,
        }

    @property
    def used_on(self) -> dt.date | None:
        """The day the stamp was used, in the local time zone (used_at is stored in UTC)."""
        if self.used_at is None:
            return None
        return _utc(dt.datetime.fromisoformat(self.used_at)).astimezone().date()


class ImportStatus(enum.StrEnum):
    IMPORTED = "imported"
    DUPLICATE = "duplicate"
    ERROR = "error"


@dataclass(frozen=True)
class ImportOutcome:
    """What became of one stamp file on import; ``error`` says why it was refused."""

    source: str
    serial: str | None
    status: ImportStatus
    error: EmeteraiError | None = None

    @property
    def detail(self) -> str:
        """One line for the user: why the file was refused, or what else became of it."""
        if self.error is not None:
            return str(self.error)
        return "already in the wallet" if self.status == ImportStatus.DUPLICATE else ""

    @property
    def locked(self) -> bool:
        """Refused only because no passphrase given opened the file."""
        return isinstance(self.error, PassphraseError)


@dataclass(frozen=True)
class Reservation:
    serial: str
    token: str


@dataclass(frozen=True)
class StampKey:
    """What signing needs: the stamp's key, its certificate and the chain above it."""

    serial: str
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    crl: bytes | None = None  # the issuer's latest CRL the wallet holds (DER): embedded in the DSS


@dataclass(frozen=True)
class CrlImport:
    """A revocation list given to the wallet: its issuer, its date, and whether it replaced an
    older one (an older or equal one than the wallet's is kept out)."""

    source: str
    issuer: str
    this_update: dt.datetime
    kept: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "issuer": self.issuer,
            "this_update": self.this_update.isoformat(),
            "kept": self.kept,
        }


def is_crl(data: bytes) -> bool:
    """Is ``data`` an X.509 CRL (PEM or DER)?"""
    try:
        load_crl(data)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class RecoveryReport:
    released: tuple[str, ...]
    committed: tuple[str, ...]
    unsure: tuple[str, ...] = ()


@dataclass(frozen=True)
class RestoreReport:
    """What a restore did: serials added from the backup, serials of this wallet that the
    backup showed more spent (now used or unsure), and serials left as they were.

    ``exported_at`` is when the backup was made (None for a backup older than that record).
    ``available_per_backup`` are the serials available here only on the backup's word: the
    old wallet may have spent any of them since, which no offline check can know."""

    added: tuple[str, ...]
    spent: tuple[str, ...]
    unchanged: tuple[str, ...]
    exported_at: dt.datetime | None = None
    available_per_backup: tuple[str, ...] = ()

    @property
    def warning(self) -> str | None:
        """The sentence a user must read when stamps may be spent twice; None when none can."""
        if not self.available_per_backup:
            return None
        if self.exported_at is None:
            when = "this backup does not say when it was made"
        else:
            when = f"this backup was made on {self.exported_at.astimezone():%Y-%m-%d %H:%M}"
        return (
            f"{when}: stamps used on the old machine after that show as available here; "
            "stop using the old wallet, or one serial may be spent on two documents, "
            "which verifiers with a ledger detect"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "spent": list(self.spent),
            "unchanged": list(self.unchanged),
            "exported_at": None if self.exported_at is None else self.exported_at.isoformat(),
            "available_per_backup": list(self.available_per_backup),
            "warning": self.warning,
        }


def _proc_start(pid: int) -> str:
    """The process's start time (Linux), to tell a live process from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return "zombie"
    return fields[19]


@functools.cache
def _machine() -> str:
    """This machine, as reservations name it: the OS's machine id where there is one (a laptop's
    host name changes from network to network), else the hardware address, else the host name."""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            ident = Path(path).read_text().strip()
        except OSError:
            continue
        if ident:
            return f"machine-{ident}"
    node = uuid.getnode()
    if not (node >> 40) & 1:  # a real hardware address, not a random stand-in
        return f"node-{node:012x}"
    return socket.gethostname()


def _windows_alive(pid: int) -> bool:
    import ctypes

    kernel32 = getattr(ctypes, "windll").kernel32  # noqa: B009 (Windows only)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return bool(kernel32.GetLastError() == 5)  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259
    finally:
        kernel32.CloseHandle(handle)


def _process_alive(pid: int, proc: str) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) there would send the process a Ctrl+C
        return _windows_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # e.g. not ours to signal: it exists
    current = _proc_start(pid)
    if current == "zombie":
        return False
    return not proc or not current or current == proc


def _load_p12(data: bytes, passphrase: str, source: str) -> pkcs12.PKCS12KeyAndCertificates:
    try:
        bundle = pkcs12.load_pkcs12(data, passphrase.encode())
    except ValueError as exc:
        raise PassphraseError(
            N_("wrong passphrase, or not a PKCS#12 stamp file"), path=source
        ) from exc
    if bundle.key is None or bundle.cert is None:
        raise StampFileError(N_("the stamp file holds no key or no certificate"), path=source)
    return bundle


def check_stamp_file(
    data: bytes,
    passphrase: str,
    source: str,
    trust_roots: Sequence[x509.Certificate],
    allow_untrusted: bool = False,
    now: dt.datetime | None = None,
) -> tuple[StampKey, bool]:
    """Open and check one stamp file; returns the stamp and whether it chains to a trusted root."""
    bundle = _load_p12(data, passphrase, source)
    assert bundle.cert is not None
    chain = tuple(c.certificate for c in bundle.additional_certs)
    return _check_stamp(
        bundle.key, bundle.cert.certificate, chain, source, trust_roots, allow_untrusted, _utc(now)
    )


def _stamp_serial(cert: x509.Certificate, source: str | None) -> tuple[StampCertInfo, str]:
    """The stamp fields of ``cert`` and its canonical serial, or a StampFileError."""
    try:
        info = stamp_info(cert)
    except ValueError as exc:
        raise StampFileError(str(exc), path=source) from exc  # a msgid of _x509util
    try:
        return info, serials.parse(info.serial)
    except SerialError as exc:
        raise StampFileError(
            N_("malformed serial {serial}: {reason}"),
            path=source,
            serial=repr(info.serial),
            reason=exc,
        ) from exc


def _check_stamp(
    key: object,
    cert: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    source: str | None,
    trust_roots: Sequence[x509.Certificate],
    allow_untrusted: bool,
    now: dt.datetime | None,
) -> tuple[StampKey, bool]:
    """What import and restore both check of a stamp: its key belongs to its certificate, the
    certificate is a stamp's, and it chains to a trusted root (or, with ``allow_untrusted``,
    to a certificate in its own chain); when ``now`` is given, it is valid then. Returns the
    stamp and whether it is trusted."""
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise StampFileError(N_("the stamp key is not an EC key"), path=source)
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise StampFileError(N_("the key does not belong to the certificate"), path=source)
    info, serial = _stamp_serial(cert, source)
    if now is not None and now < info.not_before:
        raise StampFileError(
            N_("stamp {serial} is not valid before {date}"),
            path=source,
            serial=serial,
            date=f"{info.not_before:%Y-%m-%d}",
        )
    if now is not None and now > info.not_after:
        raise StampFileError(
            N_("stamp {serial} expired on {date}"),
            path=source,
            serial=serial,
            date=f"{info.not_after:%Y-%m-%d}",
        )

    def issued_by(issuer: x509.Certificate) -> bool:
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    trusted = any(issued_by(root) for root in trust_roots)
    if not trusted:
        if not allow_untrusted:
            raise UntrustedStampError(
                N_(
                    "stamp {serial} from {issuer} does not chain to a trusted issuer root:"
                    " it may be fake"
                ),
                path=source,
                hint=Hint.ALLOW_UNTRUSTED,
                serial=serial,
                issuer=repr(info.issuer_name),
            )
        if not any(issued_by(c) for c in chain):
            raise StampFileError(
                N_("stamp {serial} is not signed by any certificate in its chain"),
                path=source,
                serial=serial,
            )
    return StampKey(serial, key, cert, chain), trusted


class WalletKey:
    """The unwrapped wallet key; keep it for the duration of one command."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._aead = AESGCM(key)

    def __reduce__(self) -> tuple[type[WalletKey], tuple[bytes]]:
        """Worker processes of one batch get the key itself, so none repeats the scrypt."""
        return (WalletKey, (self._key,))

    def wrap(self, serial: str, der: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, der, serial.encode())

    def unwrap(self, serial: str, blob: bytes) -> bytes:
        return self._aead.decrypt(blob[:12], blob[12:], serial.encode())

    def __repr__(self) -> str:
        return "WalletKey(<hidden>)"


def _open_stamp_file(
    data: bytes,
    secrets_to_try: Sequence[str],
    source: str,
    trust_roots: Sequence[x509.Certificate],
    allow_untrusted: bool,
    now: dt.datetime | None,
) -> StampKey | EmeteraiError | None:
    """The checked stamp in one file, opened with the first of ``secrets_to_try`` that opens
    it; else why it is refused: a file that opens but fails its checks is refused at once
    (another passphrase cannot fix it), one that no passphrase opens with the last error.
    (None only when there is no passphrase to try, which the caller rules out.)"""
    error: EmeteraiError | None = None
    for secret in secrets_to_try:
        try:
            stamp, _ = check_stamp_file(data, secret, source, trust_roots, allow_untrusted, now)
        except PassphraseError as exc:
            error = exc
            continue
        except StampFileError as exc:
            error = exc
            break
        return stamp
    return error


# A stamp's spending columns as import leaves them: available, never used.
_UNSPENT: tuple[object, ...] = (AVAILABLE, None, None, None, None, None)


def _insert_stamp(
    db: sqlite3.Connection,
    stamp: StampKey,
    wallet_key: WalletKey,
    imported_at: str,
    spending: tuple[object, ...] = _UNSPENT,
) -> None:
    """Add one checked stamp, its key re-wrapped under the wallet key (the seller's PKCS#12
    protection is not kept). Value, issuer, specimen and validity are read from its
    certificate, never taken from elsewhere. ``spending`` is (state, used_file, used_sha256,
    used_at, output_path, output_sha256): unspent on import, a backup's record on restore."""
    info = stamp_info(stamp.certificate)
    der = stamp.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    db.execute(
        "INSERT INTO stamps (serial, value, issuer, specimen, not_before, not_after,"
        " cert, chain, wrapped_key, imported_at, state, used_file, used_sha256, used_at,"
        " output_path, output_sha256) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            stamp.serial,
            info.value,
            info.issuer_name,
            int(info.specimen),
            info.not_before.isoformat(),
            info.not_after.isoformat(),
            stamp.certificate.public_bytes(serialization.Encoding.DER),
            b"".join(c.public_bytes(serialization.Encoding.PEM) for c in stamp.chain),
            wallet_key.wrap(stamp.serial, der),
            imported_at,
            *spending,
        ),
    )


class Wallet:
    """A wallet database at ``path`` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._db_pid = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        db = self._conn()
        db.executescript(_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(stamps)")}
        if "publish_method" not in columns:  # a wallet made before the column existed
            db.execute("ALTER TABLE stamps ADD COLUMN publish_method TEXT")

    def _conn(self) -> sqlite3.Connection:
        """This process's connection (reopened after a fork), kept for the wallet's lifetime."""
        if self._db is None or self._db_pid != os.getpid():
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            self._db, self._db_pid = db, os.getpid()
        return self._db

    def close(self) -> None:
        if self._db is not None and self._db_pid == os.getpid():
            self._db.close()
        self._db = None

    @contextmanager
    def _tx(self, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction, serialised across processes (BEGIN IMMEDIATE).

        ``durable`` transactions are on disk when they return (and with them every earlier one,
        the WAL being synced as a whole). The others may be lost on power failure; that only
        ever rolls a stamp back to a state that recover() settles again.
        """
        db = self._conn()
        db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- the wallet key -------------------------------------------------------------------

    def has_passphrase(self) -> bool:
        """Whether the wallet has its key yet (the first import makes it): a new wallet's
        passphrase is being chosen, an existing one's must match. Needs no passphrase."""
        row = self._conn().execute("SELECT 1 FROM meta WHERE key = 'wallet_key'").fetchone()
        return row is not None

    def require_key(self) -> None:
        """Raise WalletError (the wallet is empty: import first) unless it has its key: what
        a command that needs the passphrase of an existing wallet checks before asking it."""
        if not self.has_passphrase():
            raise WalletError(_EMPTY)

    def unlock(self, passphrase: str, create: bool = False) -> WalletKey:
        """The wallet key, from ``passphrase``; made on first import when ``create``."""
        with self._tx(durable=True) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'wallet_key'").fetchone()
            if row is None:
                if not create:
                    raise WalletError(_EMPTY)
                key = secrets.token_bytes(32)
                db.execute(
                    "INSERT INTO meta VALUES ('wallet_key', ?)",
                    (_wrap_wallet_key(key, passphrase),),
                )
                return WalletKey(key)
        return WalletKey(_unwrap_wallet_key(row[0], passphrase))

    def change_passphrase(self, old: str, new: str) -> None:
        """Put the wallet key under ``new`` instead of ``old``, in one durable transaction: an
        interruption leaves the old passphrase working, or the new one, never neither.

        The stamps' keys stay wrapped under the same wallet key, so nothing else is rewritten
        and a batch already running with the key goes on. A copy of the wallet made earlier
        (``wallet export``) still opens with the old passphrase.
        """
        if new == old:
            raise PassphraseError(N_("the new passphrase is the same as the old one"))
        with self._tx(durable=True) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'wallet_key'").fetchone()
            if row is None:
                raise WalletError(_EMPTY)
            key = _unwrap_wallet_key(row[0], old)
            db.execute(
                "UPDATE meta SET value = ? WHERE key = 'wallet_key'", (_wrap_wallet_key(key, new),)
            )

    # -- import and listing -----------------------------------------------------------------

    def import_stamps(
        self,
        files: Sequence[tuple[str, bytes]],
        passphrase: str,
        trust_roots: Sequence[x509.Certificate],
        allow_untrusted: bool = False,
        now: dt.datetime | None = None,
        stamp_passphrase: str | None = None,
    ) -> list[ImportOutcome]:
        """Check and import stamp files; each gets an outcome, bad ones change nothing.

        ``passphrase`` opens (or creates) the wallet; ``stamp_passphrase``, when the seller
        protected the stamp files with another one, opens the files. Imported keys are wrapped
        under the wallet key, so stamps bought under different passphrases share one wallet.
        """
        checked: list[tuple[str, StampKey]] = []
        outcomes: list[ImportOutcome] = []
        # The seller's passphrase first, then the wallet's own (stamps bought earlier or
        # protected by the buyer's choice): either may open a given file.
        secrets_to_try = list(dict.fromkeys(p for p in (stamp_passphrase, passphrase) if p))
        if not secrets_to_try:
            raise PassphraseError(N_("a passphrase is needed to open the stamp files"))
        for source, data in files:
            opened = _open_stamp_file(
                data, secrets_to_try, source, trust_roots, allow_untrusted, now
            )
            if isinstance(opened, StampKey):
                checked.append((source, opened))
            elif opened is not None:
                outcomes.append(ImportOutcome(source, None, ImportStatus.ERROR, opened))
        if not checked:
            return outcomes
        wallet_key = self.unlock(passphrase, create=True)
        imported_at = _now().isoformat()
        with self._tx(durable=True) as db:
            for source, stamp in checked:
                if db.execute("SELECT 1 FROM stamps WHERE serial = ?", (stamp.serial,)).fetchone():
                    outcomes.append(ImportOutcome(source, stamp.serial, ImportStatus.DUPLICATE))
                    continue
                _insert_stamp(db, stamp, wallet_key, imported_at)
                outcomes.append(ImportOutcome(source, stamp.serial, ImportStatus.IMPORTED))
        return outcomes

    def entries(
        self, now: dt.datetime | None = None, states: Sequence[State] = ()
    ) -> list[WalletEntry]:
        """Every stamp (or those in ``states``), an available one past its validity at ``now``
        shown as expired."""
        moment = _utc(now)
        rows = (
            self._conn()
            .execute(
                "SELECT serial, value, issuer, specimen, not_after, state, used_file, used_sha256,"
                " used_at, output_path FROM stamps ORDER BY state, not_after, serial"
            )
            .fetchall()
        )
        entries = []
        for r in rows:
            not_after = dt.datetime.fromisoformat(r[4])
            stored = State(r[5])
            entry = WalletEntry(
                serial=r[0],
                value=r[1],
                issuer=r[2],
                specimen=bool(r[3]),
                not_after=not_after,
                state=EXPIRED if stored == AVAILABLE and not_after <= moment else stored,
                used_file=_read_path(r[6]),
                used_sha256=r[7],
                used_at=r[8],
                output_path=_read_path(r[9]) if r[5] in (USED, UNSURE) else None,
            )
            if not states or entry.state in states:
                entries.append(entry)
        return entries

    def require_usable(self, serial: str | None = None, now: dt.datetime | None = None) -> int:
        """How many stamps could be spent at ``now`` (1 for a given ``serial`` that can), so a
        command can refuse before asking for any secret. Raises NoStampAvailable saying why
        there is none (the same sentence reserve() gives); for a ``serial``, the error
        reserve() would raise for it. Needs no passphrase."""
        moment = _utc(now).isoformat()
        db = self._conn()
        if serial is not None:
            serial = serials.parse(serial)
            _check_serial(db, serial, moment)
            return 1
        totals = _totals(db, moment)
        if totals.usable == 0:
            raise _nothing_usable(totals)
        return totals.usable

    def totals(self, now: dt.datetime | None = None) -> WalletTotals:
        """The stamps counted by state at ``now``; ``usable`` is what require_usable() finds."""
        return _totals(self._conn(), _utc(now).isoformat())

    # -- backup ---------------------------------------------------------------------------

    def export_bytes(self) -> bytes:
        """A consistent copy of the whole wallet (SQLite's online backup: a stamp being spent
        meanwhile is copied in one state or the other, never half), as a database file's bytes,
        with the moment it was made (meta ``exported_at``), which a restore reports. Every key
        in it stays wrapped under the wallet's passphrase of the moment."""
        self.require_key()
        copy = sqlite3.connect(":memory:", isolation_level=None)
        try:
            self._conn().backup(copy)
            copy.execute(
                "INSERT OR REPLACE INTO meta VALUES ('exported_at', ?)", (_now().isoformat(),)
            )
            return _rollback_journal(copy.serialize())
        finally:
            copy.close()

    def restore(
        self,
        data: bytes,
        passphrase: str,
        trust_roots: Sequence[x509.Certificate],
        backup_passphrase: str | None = None,
        source: str | None = None,
        allow_untrusted: bool = False,
    ) -> RestoreReport:
        """Merge a backup made by :meth:`export_bytes` into this wallet (empty or not).

        ``backup_passphrase`` (default: ``passphrase``) must open the backup, and every stamp
        in it must pass import's checks but the validity dates (its key opens and matches its
        certificate, whose serial is the row's, and it chains to one of ``trust_roots`` unless
        ``allow_untrusted``), before anything changes; value, issuer, specimen and validity are
        read from the certificate, not from the backup. ``passphrase`` must open this wallet; an
        empty wallet takes the backup's key under it. A serial in both keeps the more spent
        state, so nothing used, possibly used or reserved ever becomes available again; a stamp
        reserved when the backup was made comes back as unsure (its process may have gone on to
        publish). Refused while a stamp here is reserved.
        """
        record, exported_at, rows = _read_backup(data, source)
        backup_key = _unwrap_wallet_key(
            record, backup_passphrase or passphrase, N_("wrong passphrase for the backup")
        )
        opened = WalletKey(backup_key)
        stamps = {
            row["serial"]: _backup_stamp(opened, row, source, trust_roots, allow_untrusted)
            for row in rows
        }
        added: list[str] = []
        spent: list[str] = []
        unchanged: list[str] = []
        as_of_backup: list[str] = []
        with self._tx(durable=True) as db:
            busy = db.execute("SELECT serial FROM stamps WHERE state = 'reserved'").fetchone()
            if busy is not None:
                raise WalletError(
                    N_(
                        "stamp {serial} is being used by an emeterai process;"
                        " restore when it is done"
                    ),
                    serial=busy[0],
                )
            mine = db.execute("SELECT value FROM meta WHERE key = 'wallet_key'").fetchone()
            if mine is None:
                record = _wrap_wallet_key(backup_key, passphrase)
                db.execute("INSERT INTO meta VALUES ('wallet_key', ?)", (record,))
                target = WalletKey(backup_key)
            else:
                target = WalletKey(_unwrap_wallet_key(mine[0], passphrase))
            for row in rows:
                serial = row["serial"]
                state = UNSURE if row["state"] == RESERVED else State(row["state"])
                used_at = row["used_at"] or (None if state == AVAILABLE else _now().isoformat())
                spending = (
                    state,
                    row["used_file"],
                    row["used_sha256"],
                    used_at,
                    row["output_path"],
                    row["output_sha256"],
                )
                here = db.execute("SELECT state FROM stamps WHERE serial = ?", (serial,)).fetchone()
                if state == AVAILABLE and (here is None or here[0] == AVAILABLE):
                    as_of_backup.append(serial)
                if here is None:
                    _insert_stamp(db, stamps[serial], target, row["imported_at"], spending)
                    added.append(serial)
                elif _SPENT_RANK[state] > _SPENT_RANK[State(here[0])]:
                    db.execute(
                        "UPDATE stamps SET state = ?, used_file = ?, used_sha256 = ?, used_at = ?,"
                        " output_path = ?, output_sha256 = ?, token = NULL, temp_path = NULL"
                        " WHERE serial = ?",
                        (*spending, serial),
                    )
                    spent.append(serial)
                else:
                    unchanged.append(serial)
        return RestoreReport(
            tuple(added), tuple(spent), tuple(unchanged), exported_at, tuple(as_of_backup)
        )

    # -- spending ---------------------------------------------------------------------------

    def reserve(self, serial: str | None = None, now: dt.datetime | None = None) -> Reservation:
        """Take one stamp for this process: the given serial, or the available one that expires first."""
        moment = _utc(now).isoformat()
        token = secrets.token_hex(16)
        pid = os.getpid()
        with self._tx() as db:
            if serial is None:
                row = db.execute(
                    f"SELECT serial FROM stamps WHERE {_USABLE} ORDER BY not_after, serial LIMIT 1",
                    (moment, moment),
                ).fetchone()
                if row is None:
                    raise _nothing_usable(_totals(db, moment))
                serial = row[0]
            else:
                serial = serials.parse(serial)
                _check_serial(db, serial, moment)
            db.execute(
                "UPDATE stamps SET state = 'reserved', token = ?, pid = ?, proc = ?, host = ?,"
                " reserved_at = ?, temp_path = NULL, output_path = NULL, output_sha256 = NULL,"
                " publish_method = NULL WHERE serial = ? AND state = 'available'",
                (token, pid, _proc_start(pid), _machine(), moment, serial),
            )
        return Reservation(serial, token)

    def stamp_key(self, serial: str, wallet_key: WalletKey) -> StampKey:
        row = (
            self._conn()
            .execute("SELECT cert, chain, wrapped_key FROM stamps WHERE serial = ?", (serial,))
            .fetchone()
        )
        if row is None:
            raise WalletError(N_("stamp {serial} is not in the wallet"), serial=serial)
        try:
            der = wallet_key.unwrap(serial, row[2])
        except InvalidTag as exc:
            raise PassphraseError(N_("wrong passphrase for the wallet")) from exc
        key = serialization.load_der_private_key(der, None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        cert = x509.load_der_x509_certificate(row[0])
        chain = tuple(x509.load_pem_x509_certificates(row[1])) if row[1] else ()
        return StampKey(serial, key, cert, chain, self.crl_for(cert.issuer))

    # -- the issuers' revocation lists ----------------------------------------------------

    def import_crl(
        self, data: bytes, source: str, trust_roots: Sequence[x509.Certificate]
    ) -> CrlImport:
        """Keep an issuer's CRL, checked against the trusted roots, if it is newer than the one
        the wallet holds. Needs no passphrase: a CRL is public."""
        try:
            crl = load_crl(data)
        except ValueError:
            raise TrustError(N_("not an X.509 CRL (PEM or DER)"), path=source) from None
        if not crl_signed_by(crl, trust_roots):
            raise TrustError(N_("the CRL is not signed by a trusted issuer root"), path=source)
        issuer = crl.issuer.public_bytes()
        this_update = crl.last_update_utc
        with self._tx(durable=True) as db:
            row = db.execute("SELECT this_update FROM crls WHERE issuer = ?", (issuer,)).fetchone()
            kept = row is None or dt.datetime.fromisoformat(row[0]) < this_update
            if kept:
                db.execute(
                    "INSERT OR REPLACE INTO crls VALUES (?, ?, ?)",
                    (issuer, this_update.isoformat(), crl.public_bytes(serialization.Encoding.DER)),
                )
        return CrlImport(source, crl.issuer.rfc4514_string(), this_update, kept)

    def crl_for(self, issuer: x509.Name) -> bytes | None:
        """The issuer's latest CRL the wallet holds (DER), or None."""
        row = (
            self._conn()
            .execute("SELECT der FROM crls WHERE issuer = ?", (issuer.public_bytes(),))
            .fetchone()
        )
        return bytes(row[0]) if row else None

    def _update_reserved(
        self,
        reservation: Reservation,
        sql: str,
        args: tuple[object, ...],
        durable: bool = False,
    ) -> None:
        with self._tx(durable) as db:
            cur = db.execute(
                sql + " WHERE serial = ? AND token = ? AND state = 'reserved'",
                (*args, reservation.serial, reservation.token),
            )
            if cur.rowcount != 1:
                raise WalletError(
                    N_("stamp {serial} is no longer reserved by this process"),
                    serial=reservation.serial,
                )

    def mark_written(
        self,
        reservation: Reservation,
        document_file: str,
        document_sha256: str,
        output_path: str,
        temp_path: str,
        output_sha256: str,
    ) -> None:
        """Record what is about to be written, so a crash after the rename can be recovered.

        Durable: from here on the output may appear, and the record must outlive a power cut.
        """
        self._update_reserved(
            reservation,
            "UPDATE stamps SET used_file = ?, used_sha256 = ?, output_path = ?, temp_path = ?,"
            " output_sha256 = ?",
            (_stored_path(document_file), document_sha256, _stored_path(output_path),
             _stored_path(temp_path), output_sha256),
            durable=True,
        )  # fmt: skip

    def mark_publishing(self, reservation: Reservation, method: str) -> None:
        """Record that the temp file is about to be moved into place, and how (files.py's
        "replace", "rename" or "link"). Durable: recover() trusts its absence to mean that no
        move began, so it must be on disk before the move is attempted."""
        self._update_reserved(
            reservation, "UPDATE stamps SET publish_method = ?", (method,), durable=True
        )

    def commit(self, reservation: Reservation) -> None:
        """The output is durably written: the stamp is spent."""
        self._update_reserved(
            reservation,
            "UPDATE stamps SET state = 'used', used_at = ?, token = NULL, temp_path = NULL",
            (_now().isoformat(),),
        )

    def release(self, reservation: Reservation) -> None:
        """Nothing was written: the stamp is available again."""
        self._update_reserved(reservation, _RELEASE, ())

    def recover(self, now: dt.datetime | None = None) -> RecoveryReport:
        """Settle reservations whose process died. A process on this host is asked directly,
        however long it has been working (a suspended laptop resumes and finishes its write);
        a reservation made on another host sharing this wallet counts as dead after
        STALE_AFTER, since its process cannot be asked.

        A dead reservation becomes used if its recorded output is there with the recorded
        digest; available only if no output carrying it can have been published; unsure
        otherwise (see :func:`_settle`).
        """
        now = _utc(now)
        host = _machine()
        released: list[str] = []
        committed: list[str] = []
        unsure: list[str] = []
        with self._tx() as db:
            rows = db.execute(
                "SELECT serial, pid, proc, host, reserved_at, temp_path, output_path,"
                " output_sha256, publish_method FROM stamps WHERE state = 'reserved'"
            ).fetchall()
            for serial, pid, proc, rhost, reserved_at, temp, output, output_sha, method in rows:
                if rhost == host:
                    dead = not _process_alive(pid, proc or "")
                else:
                    dead = now - dt.datetime.fromisoformat(reserved_at) > STALE_AFTER
                if not dead:
                    continue
                temp, output = _read_path(temp), _read_path(output)
                outcome = _settle(temp, output, output_sha, method)
                if outcome in (USED, UNSURE):
                    db.execute(
                        "UPDATE stamps SET state = ?, used_at = ?, token = NULL,"
                        " temp_path = NULL WHERE serial = ?",
                        (outcome, now.isoformat(), serial),
                    )
                    (committed if outcome == USED else unsure).append(serial)
                else:
                    db.execute(_RELEASE + " WHERE serial = ?", (serial,))
                    released.append(serial)
                if temp:
                    discard(Path(temp))
        return RecoveryReport(tuple(released), tuple(committed), tuple(unsure))


def _stored_path(path: str) -> str | bytes:
    """A path as the wallet stores it: text, or its bytes when it is not UTF-8 (a name from a
    zip made on Windows): SQLite takes only valid UTF-8 text, and recovery needs the exact
    name to find the output again."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def _read_path(value: str | bytes | None) -> str | None:
    return os.fsdecode(value) if isinstance(value, bytes) else value


def _settle(
    temp: str | None, output: str | None, output_sha: str | None, method: str | None
) -> str:
    """What a dead reservation becomes. Available only when certain that nothing carrying the
    serial was published: the intended output was never recorded (nothing was written), the
    move into place never began (``method`` is recorded durably before it), or an atomic move
    was about to run and its temp file is still there (a rename removes the temp name in the
    same step that makes the output appear). Anything else, e.g. an output moved away or
    edited after a crash between the move and the commit, is unsure: possibly used."""
    if not output:
        return AVAILABLE
    if output_sha and _file_sha256(Path(output)) == output_sha:
        return USED
    if method is None:
        return AVAILABLE
    if method in ATOMIC_METHODS and temp and _is_file(Path(temp)):
        return AVAILABLE
    return UNSURE


def _kdf(passphrase: str, salt: bytes, params: dict[str, int]) -> bytes:
    return Scrypt(salt=salt, length=32, **params).derive(passphrase.encode())


def _wrap_wallet_key(key: bytes, passphrase: str) -> str:
    """The wallet key wrapped under ``passphrase`` (scrypt, then AES-GCM), as stored in meta."""
    if not passphrase:
        raise PassphraseError(N_("the wallet needs a non-empty passphrase"))
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    kek = AESGCM(_kdf(passphrase, salt, _SCRYPT))
    record = {
        "salt": salt.hex(),
        "nonce": nonce.hex(),
        "wrapped": kek.encrypt(nonce, key, b"emeterai wallet").hex(),
        **_SCRYPT,
    }
    return json.dumps(record)


def _unwrap_wallet_key(
    stored: str, passphrase: str, wrong: str = N_("wrong passphrase for the wallet")
) -> bytes:
    """The wallet key that ``passphrase`` unwraps, or PassphraseError(``wrong``)."""
    record = json.loads(stored)
    params = {name: int(record.get(name, value)) for name, value in _SCRYPT.items()}
    kek = AESGCM(_kdf(passphrase, bytes.fromhex(record["salt"]), params))
    try:
        return kek.decrypt(
            bytes.fromhex(record["nonce"]), bytes.fromhex(record["wrapped"]), b"emeterai wallet"
        )
    except InvalidTag as exc:
        raise PassphraseError(wrong) from exc


def _totals(db: sqlite3.Connection, moment: str) -> WalletTotals:
    """The wallet's stamps counted by state at ``moment`` (usable by the test reserve() uses)."""
    rows = db.execute(
        f"SELECT CASE WHEN {_USABLE} THEN 'usable' WHEN state != 'available' THEN state"
        " WHEN not_after <= ? THEN 'expired' ELSE 'not_valid_yet' END, count(*)"
        " FROM stamps GROUP BY 1",
        (moment, moment, moment),
    ).fetchall()
    return WalletTotals(**{str(kind): int(count) for kind, count in rows})


def _nothing_usable(totals: WalletTotals) -> NoStampAvailable:
    """Why reserve() finds no stamp: one sentence for each way a wallet runs dry."""
    total = totals.total
    if total == 0:
        return NoStampAvailable(_EMPTY)
    if totals.expired == total:
        if total == 1:
            return NoStampAvailable(
                N_(
                    "{count} stamp expired, none usable: buy new stamps and import them with"
                    " 'emeterai wallet import'"
                ),
                count=total,
            )
        return NoStampAvailable(
            N_(
                "{count} stamps expired, none usable: buy new stamps and import them with"
                " 'emeterai wallet import'"
            ),
            count=total,
        )
    if totals.used == total:
        if total == 1:
            return NoStampAvailable(
                N_(
                    "the wallet's only stamp is used: buy stamps and import them with"
                    " 'emeterai wallet import'"
                )
            )
        return NoStampAvailable(
            N_(
                "all {count} stamps are used: buy stamps and import them with"
                " 'emeterai wallet import'"
            ),
            count=total,
        )
    counted = (
        (totals.expired, N_("{count} expired")),
        (totals.not_valid_yet, N_("{count} not valid yet")),
        (totals.reserved, N_("{count} being used by another emeterai process")),
        (totals.unsure, N_("{count} possibly used")),
        (totals.used, N_("{count} used")),
    )
    parts = Joined([Said(words, count=n) for n, words in counted if n])
    if total == 1:
        return NoStampAvailable(
            N_(
                "none of the wallet's {count} stamp is usable ({parts}): buy stamps and import"
                " them with 'emeterai wallet import'"
            ),
            count=total,
            parts=parts,
        )
    return NoStampAvailable(
        N_(
            "none of the wallet's {count} stamps is usable ({parts}): buy stamps and import"
            " them with 'emeterai wallet import'"
        ),
        count=total,
        parts=parts,
    )


def _check_serial(db: sqlite3.Connection, serial: str, moment: str) -> None:
    """Raise why the stamp ``serial`` cannot be spent at ``moment``, if it cannot."""
    row = db.execute(
        "SELECT state, used_file, not_after FROM stamps WHERE serial = ?", (serial,)
    ).fetchone()
    if row is None:
        raise NoStampAvailable(N_("stamp {serial} is not in the wallet"), serial=serial)
    if row[0] == USED:
        raise StampAlreadyUsed(
            N_("stamp {serial} was already used on {file}"), serial=serial, file=_read_path(row[1])
        )
    if row[0] == UNSURE:
        raise StampPossiblyUsed(
            N_(
                "stamp {serial} may have been used on {file} (an interrupted stamp could not be"
                " settled); it is never spent again"
            ),
            serial=serial,
            file=_read_path(row[1]),
        )
    if row[0] == RESERVED:
        raise WalletError(
            N_("stamp {serial} is being used by another emeterai process"), serial=serial
        )
    not_after = dt.datetime.fromisoformat(row[2])
    if not_after <= dt.datetime.fromisoformat(moment):
        raise NoStampAvailable(
            N_("stamp {serial} expired on {date}"), serial=serial, date=f"{not_after:%Y-%m-%d}"
        )


_BACKUP_COLUMNS = (
    "serial, value, issuer, specimen, not_before, not_after, cert, chain, wrapped_key,"
    " imported_at, state, used_file, used_sha256, used_at, output_path, output_sha256"
)


def _rollback_journal(image: bytes) -> bytes:
    """A database image marked for a rollback journal: a WAL-mode file (header bytes 18-19
    set to 2) cannot be opened from memory, nor without its -wal file beside it."""
    if image[18:20] == b"\x02\x02":
        return image[:18] + b"\x01\x01" + image[20:]
    return image


def _read_backup(
    data: bytes, source: str | None
) -> tuple[str, dt.datetime | None, list[sqlite3.Row]]:
    """The wrapped wallet key, when the backup was made (None if it does not say) and the
    stamp rows of a backup, or a WalletError naming it."""
    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    try:
        db.deserialize(_rollback_journal(data))
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        rows = db.execute(f"SELECT {_BACKUP_COLUMNS} FROM stamps ORDER BY serial").fetchall()
    except sqlite3.DatabaseError:
        raise WalletError(N_("not an emeterai wallet backup"), path=source) from None
    finally:
        db.close()
    if "wallet_key" not in meta:
        raise WalletError(N_("the backup holds no wallet key: nothing to restore"), path=source)
    try:
        exported_at = _utc(dt.datetime.fromisoformat(meta["exported_at"]))
    except (KeyError, TypeError, ValueError):
        exported_at = None
    return str(meta["wallet_key"]), exported_at, rows


def _backup_stamp(
    key: WalletKey,
    row: sqlite3.Row,
    source: str | None,
    trust_roots: Sequence[x509.Certificate],
    allow_untrusted: bool,
) -> StampKey:
    """One stamp of a backup, checked as import checks a stamp file (but for its dates: an
    expired or used stamp keeps its record): the row's serial must be its certificate's."""
    serial = row["serial"]
    if row["state"] not in _SPENT_RANK:
        raise WalletError(
            N_("stamp {serial} in the backup has no valid state"), path=source, serial=serial
        )
    try:
        cert = x509.load_der_x509_certificate(row["cert"])
        chain = tuple(x509.load_pem_x509_certificates(row["chain"])) if row["chain"] else ()
    except ValueError as exc:
        raise WalletError(_DAMAGED, path=source, serial=serial) from exc
    _, certified = _stamp_serial(cert, source)
    if certified != serial:
        raise WalletError(
            N_("stamp {serial} in the backup carries the certificate of stamp {certified}"),
            path=source,
            serial=serial,
            certified=certified,
        )
    try:
        private = serialization.load_der_private_key(key.unwrap(serial, row["wrapped_key"]), None)
    except (InvalidTag, ValueError) as exc:
        raise WalletError(_DAMAGED, path=source, serial=serial) from exc
    try:
        stamp, _ = _check_stamp(private, cert, chain, source, trust_roots, allow_untrusted, None)
    except UntrustedStampError:
        raise
    except StampFileError as exc:
        raise WalletError(
            N_("stamp {serial} in the backup: {reason}"),
            path=source,
            serial=serial,
            reason=exc,
        ) from exc
    return stamp


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


_RELEASE = (
    "UPDATE stamps SET state = 'available', token = NULL, pid = NULL, proc = NULL, host = NULL,"
    " reserved_at = NULL, temp_path = NULL, output_path = NULL, output_sha256 = NULL,"
    " used_file = NULL, used_sha256 = NULL, publish_method = NULL"
)


def _file_sha256(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None
