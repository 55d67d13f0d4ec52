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
from emeterai._x509util import stamp_info
from emeterai.errors import (
    EmeteraiError,
    Hint,
    NoStampAvailable,
    PassphraseError,
    SerialError,
    StampAlreadyUsed,
    StampFileError,
    StampPossiblyUsed,
    UntrustedStampError,
    WalletError,
)

__all__ = [
    "AVAILABLE",
    "ImportOutcome",
    "ImportStatus",
    "RESERVED",
    "RecoveryReport",
    "Reservation",
    "STALE_AFTER",
    "StampKey",
    "State",
    "UNSURE",
    "USED",
    "Wallet",
    "WalletEntry",
    "WalletKey",
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
    reserved again."""

    AVAILABLE = "available"
    RESERVED = "reserved"
    USED = "used"
    UNSURE = "unsure"


AVAILABLE, RESERVED, USED, UNSURE = State.AVAILABLE, State.RESERVED, State.USED, State.UNSURE


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


@dataclass(frozen=True)
class RecoveryReport:
    released: tuple[str, ...]
    committed: tuple[str, ...]
    unsure: tuple[str, ...] = ()


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
        raise PassphraseError("wrong passphrase, or not a PKCS#12 stamp file", path=source) from exc
    if bundle.key is None or bundle.cert is None:
        raise StampFileError("the stamp file holds no key or no certificate", path=source)
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
    now = _utc(now)
    bundle = _load_p12(data, passphrase, source)
    key = bundle.key
    assert bundle.cert is not None
    cert = bundle.cert.certificate
    chain = tuple(c.certificate for c in bundle.additional_certs)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise StampFileError("the stamp key is not an EC key", path=source)
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise StampFileError("the key does not belong to the certificate", path=source)
    try:
        info = stamp_info(cert)
    except ValueError as exc:
        raise StampFileError(f"{exc}", path=source) from exc
    try:
        serial = serials.parse(info.serial)
    except SerialError as exc:
        raise StampFileError(f"malformed serial {info.serial!r}: {exc}", path=source) from exc
    if now < info.not_before:
        raise StampFileError(
            f"stamp {serial} is not valid before {info.not_before:%Y-%m-%d}", path=source
        )
    if now > info.not_after:
        raise StampFileError(f"stamp {serial} expired on {info.not_after:%Y-%m-%d}", path=source)

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
                f"stamp {serial} from {info.issuer_name!r} does not chain to a trusted "
                "issuer root: it may be fake",
                path=source,
                hint=Hint.ALLOW_UNTRUSTED,
            )
        if not any(issued_by(c) for c in chain):
            raise StampFileError(
                f"stamp {serial} is not signed by any certificate in its chain", path=source
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


def _insert_stamp(
    db: sqlite3.Connection, stamp: StampKey, wallet_key: WalletKey, imported_at: str
) -> None:
    """Add one checked stamp as available, its key re-wrapped under the wallet key (the
    seller's PKCS#12 protection is not kept)."""
    info = stamp_info(stamp.certificate)
    der = stamp.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    db.execute(
        "INSERT INTO stamps (serial, value, issuer, specimen, not_before, not_after,"
        " cert, chain, wrapped_key, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
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

    @staticmethod
    def _kdf(passphrase: str, salt: bytes) -> bytes:
        return Scrypt(salt=salt, length=32, **_SCRYPT).derive(passphrase.encode())

    def unlock(self, passphrase: str, create: bool = False) -> WalletKey:
        """The wallet key, from ``passphrase``; made on first import when ``create``."""
        with self._tx(durable=True) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'wallet_key'").fetchone()
            if row is None:
                if not create:
                    raise WalletError(
                        "the wallet is empty: import stamps with 'emeterai wallet import'"
                    )
                if not passphrase:
                    raise PassphraseError("the wallet needs a non-empty passphrase")
                salt = secrets.token_bytes(16)
                key = secrets.token_bytes(32)
                kek = AESGCM(self._kdf(passphrase, salt))
                nonce = secrets.token_bytes(12)
                record = {
                    "salt": salt.hex(),
                    "nonce": nonce.hex(),
                    "wrapped": kek.encrypt(nonce, key, b"emeterai wallet").hex(),
                    **_SCRYPT,
                }
                db.execute("INSERT INTO meta VALUES ('wallet_key', ?)", (json.dumps(record),))
                return WalletKey(key)
        record = json.loads(row[0])
        kek = AESGCM(self._kdf(passphrase, bytes.fromhex(record["salt"])))
        try:
            key = kek.decrypt(
                bytes.fromhex(record["nonce"]), bytes.fromhex(record["wrapped"]), b"emeterai wallet"
            )
        except InvalidTag as exc:
            raise PassphraseError("wrong passphrase for the wallet") from exc
        return WalletKey(key)

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
            raise PassphraseError("a passphrase is needed to open the stamp files")
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

    def entries(self) -> list[WalletEntry]:
        rows = (
            self._conn()
            .execute(
                "SELECT serial, value, issuer, specimen, not_after, state, used_file, used_sha256,"
                " used_at, output_path FROM stamps ORDER BY state, not_after, serial"
            )
            .fetchall()
        )
        return [
            WalletEntry(
                serial=r[0],
                value=r[1],
                issuer=r[2],
                specimen=bool(r[3]),
                not_after=dt.datetime.fromisoformat(r[4]),
                state=State(r[5]),
                used_file=r[6],
                used_sha256=r[7],
                used_at=r[8],
                output_path=r[9] if r[5] in (USED, UNSURE) else None,
            )
            for r in rows
        ]

    # -- spending ---------------------------------------------------------------------------

    def reserve(self, serial: str | None = None, now: dt.datetime | None = None) -> Reservation:
        """Take one stamp for this process: the given serial, or the available one that expires first."""
        now = _utc(now)
        token = secrets.token_hex(16)
        pid = os.getpid()
        with self._tx() as db:
            if serial is None:
                row = db.execute(
                    "SELECT serial FROM stamps WHERE state = 'available' AND not_after > ?"
                    " AND not_before <= ? ORDER BY not_after, serial LIMIT 1",
                    (now.isoformat(), now.isoformat()),
                ).fetchone()
                if row is None:
                    raise NoStampAvailable(
                        "no stamp available in the wallet: buy stamps and run 'emeterai wallet import'"
                    )
                serial = row[0]
            else:
                serial = serials.parse(serial)
                row = db.execute(
                    "SELECT state, used_file, not_after FROM stamps WHERE serial = ?", (serial,)
                ).fetchone()
                if row is None:
                    raise WalletError(f"stamp {serial} is not in the wallet")
                if row[0] == "used":
                    raise StampAlreadyUsed(f"stamp {serial} was already used on {row[1]}")
                if row[0] == UNSURE:
                    raise StampPossiblyUsed(
                        f"stamp {serial} may have been used on {row[1]} (an interrupted stamp "
                        "could not be settled); it is never spent again"
                    )
                if row[0] == "reserved":
                    raise WalletError(f"stamp {serial} is being used by another emeterai process")
                if dt.datetime.fromisoformat(row[2]) <= now:
                    raise WalletError(f"stamp {serial} has expired")
            db.execute(
                "UPDATE stamps SET state = 'reserved', token = ?, pid = ?, proc = ?, host = ?,"
                " reserved_at = ?, temp_path = NULL, output_path = NULL, output_sha256 = NULL,"
                " publish_method = NULL WHERE serial = ? AND state = 'available'",
                (token, pid, _proc_start(pid), _machine(), now.isoformat(), serial),
            )
        return Reservation(serial, token)

    def stamp_key(self, serial: str, wallet_key: WalletKey) -> StampKey:
        row = (
            self._conn()
            .execute("SELECT cert, chain, wrapped_key FROM stamps WHERE serial = ?", (serial,))
            .fetchone()
        )
        if row is None:
            raise WalletError(f"stamp {serial} is not in the wallet")
        try:
            der = wallet_key.unwrap(serial, row[2])
        except InvalidTag as exc:
            raise PassphraseError("wrong passphrase for the wallet") from exc
        key = serialization.load_der_private_key(der, None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        cert = x509.load_der_x509_certificate(row[0])
        chain = tuple(x509.load_pem_x509_certificates(row[1])) if row[1] else ()
        return StampKey(serial, key, cert, chain)

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
                    f"stamp {reservation.serial} is no longer reserved by this process"
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
            (document_file, document_sha256, output_path, temp_path, output_sha256),
            durable=True,
        )

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
