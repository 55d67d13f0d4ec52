"""The verifier's ledger: which document each serial was seen on (README, "Ledgers: one machine or many").

No offline scheme can stop a copied stamp file from being used twice; a shared ledger detects it.
A document is identified by the SHA-256 of the original (pre-stamp) document that the stamp's
signature binds. The first document recorded for a serial owns it; any other document with the
same serial is ``serial-reused``. Recording is one transaction per document, safe for concurrent
processes. Only genuine stamps (intact, trusted signature) are recorded, so a forgery cannot
claim a serial before its rightful document.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emeterai.errors import EmeteraiError, LedgerError, LedgerUnavailable, first_line
from emeterai.i18n import N_
from emeterai.verify import LEDGER_UNAVAILABLE, SERIAL_REUSED, Problem, VerifyResult

__all__ = [
    "LedgerStats",
    "PostgresLedger",
    "Reuse",
    "Sighting",
    "SqliteLedger",
    "apply",
    "open_ledger",
    "record",
]


@dataclass(frozen=True)
class Sighting:
    """A serial seen on a document, first at ``first_seen``."""

    serial: str
    document_sha256: str
    file: str
    first_seen: str

    def to_json(self) -> dict[str, str]:
        return {
            "document_sha256": self.document_sha256,
            "file": self.file,
            "first_seen": self.first_seen,
        }


class Reuse(tuple[Sighting, ...]):
    """One serial seen on several documents: its sightings, first first."""

    __slots__ = ()

    @property
    def serial(self) -> str:
        return self[0].serial

    def to_json(self) -> dict[str, Any]:
        return {"serial": self.serial, "documents": [s.to_json() for s in self]}


@dataclass(frozen=True)
class LedgerStats:
    serials: int
    documents: int
    reused_serials: int

    def to_json(self) -> dict[str, int]:
        return {
            "serials": self.serials,
            "documents": self.documents,
            "reused_serials": self.reused_serials,
        }


class SqliteLedger:
    """A ledger in one SQLite file (one machine; WAL mode for concurrent verifiers)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        try:
            db = self._connect()
            db.executescript(
                "CREATE TABLE IF NOT EXISTS sightings (serial TEXT NOT NULL,"
                " document_sha256 TEXT NOT NULL, file TEXT NOT NULL, first_seen TEXT NOT NULL,"
                " seq INTEGER PRIMARY KEY AUTOINCREMENT, UNIQUE (serial, document_sha256));"
                "CREATE INDEX IF NOT EXISTS sightings_serial ON sightings (serial, seq);"
            )
            db.close()
        except sqlite3.Error as exc:
            raise LedgerError(
                N_("ledger {location}: cannot open ({reason})"), location=path, reason=exc
            ) from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def record(self, serial: str, document_sha256: str, file: str) -> Sighting:
        """Record a sighting; returns the serial's first sighting (maybe this one)."""
        now = dt.datetime.now(dt.UTC).isoformat()
        try:
            db = self._connect()
            try:
                db.execute("BEGIN IMMEDIATE")
                db.execute(
                    "INSERT OR IGNORE INTO sightings (serial, document_sha256, file, first_seen)"
                    " VALUES (?, ?, ?, ?)",
                    (serial, document_sha256, file, now),
                )
                row = db.execute(
                    "SELECT serial, document_sha256, file, first_seen FROM sightings"
                    " WHERE serial = ? ORDER BY seq LIMIT 1",
                    (serial,),
                ).fetchone()
                db.execute("COMMIT")
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise LedgerError(
                N_("ledger {location}: cannot record ({reason})"), location=self.path, reason=exc
            ) from None
        return Sighting(*row)

    def close(self) -> None:
        """Nothing to do: every call opens and closes its own connection."""

    def reused(self) -> list[Reuse]:
        """Every serial seen on more than one document, with all its documents, first first."""
        db = self._connect()
        try:
            rows = db.execute(
                "SELECT serial, document_sha256, file, first_seen FROM sightings WHERE serial IN"
                " (SELECT serial FROM sightings GROUP BY serial HAVING COUNT(*) > 1)"
                " ORDER BY serial, seq"
            ).fetchall()
        except sqlite3.Error as exc:
            raise LedgerError(
                N_("ledger {location}: cannot read ({reason})"), location=self.path, reason=exc
            ) from None
        finally:
            db.close()
        groups: dict[str, list[Sighting]] = {}
        for row in rows:
            groups.setdefault(row[0], []).append(Sighting(*row))
        return [Reuse(g) for g in groups.values()]

    def stats(self) -> LedgerStats:
        db = self._connect()
        try:
            serials, documents = db.execute(
                "SELECT COUNT(DISTINCT serial), COUNT(*) FROM sightings"
            ).fetchone()
            reused = db.execute(
                "SELECT COUNT(*) FROM (SELECT serial FROM sightings GROUP BY serial HAVING COUNT(*) > 1)"
            ).fetchone()[0]
        finally:
            db.close()
        return LedgerStats(serials, documents, reused)


class PostgresLedger:
    """A ledger shared by many verifiers on many machines (PostgreSQL, psycopg 3).

    ``emeterai_serials`` holds one row per serial: its first document. The unique key decides
    who was first when verifiers race; the upsert below returns the owner in the same statement.
    ``emeterai_sightings`` keeps every (serial, document) pair for ``ledger reused``.
    """

    _SCHEMA = """
    CREATE TABLE IF NOT EXISTS emeterai_serials (
        serial TEXT PRIMARY KEY, document_sha256 TEXT NOT NULL, file TEXT NOT NULL,
        first_seen TIMESTAMPTZ NOT NULL DEFAULT now());
    CREATE TABLE IF NOT EXISTS emeterai_sightings (
        seq BIGSERIAL PRIMARY KEY, serial TEXT NOT NULL, document_sha256 TEXT NOT NULL,
        file TEXT NOT NULL, first_seen TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (serial, document_sha256));
    """
    # First writer wins on the unique key. ON CONFLICT DO NOTHING needs INSERT rights only; the
    # owner of a serial seen before is read by a second statement, whose fresh snapshot sees a
    # row that a racing verifier committed while this statement waited on it.
    _RECORD = """
    WITH owner AS (
        INSERT INTO emeterai_serials (serial, document_sha256, file) VALUES (%(s)s, %(d)s, %(f)s)
        ON CONFLICT (serial) DO NOTHING
        RETURNING serial, document_sha256, file, first_seen),
    seen AS (
        INSERT INTO emeterai_sightings (serial, document_sha256, file) VALUES (%(s)s, %(d)s, %(f)s)
        ON CONFLICT (serial, document_sha256) DO NOTHING)
    SELECT serial, document_sha256, file, first_seen FROM owner
    """
    _OWNER = "SELECT serial, document_sha256, file, first_seen FROM emeterai_serials WHERE serial = %(s)s"
    _TABLES = "SELECT to_regclass('emeterai_serials') IS NOT NULL AND to_regclass('emeterai_sightings') IS NOT NULL"

    def __init__(self, url: str, create: bool = True) -> None:
        self.url = url
        self.location = _redact(url)
        self._conn: Any = None
        ((present,),) = self._run(self._TABLES)
        if present:
            return  # a verifier with INSERT and SELECT rights only needs no more than this
        if not create:
            raise LedgerError(
                N_("ledger {location}: no emeterai tables (nothing recorded yet)"),
                location=self.location,
            )
        conn = self._connection()
        try:
            with conn.transaction():
                conn.execute(
                    "SELECT pg_advisory_xact_lock(74657265)"
                )  # one schema creator at a time
                conn.execute(self._SCHEMA)
        except Exception as exc:
            raise LedgerError(
                N_("ledger {location}: cannot create its tables ({reason})"),
                location=self.location,
                reason=first_line(exc),
            ) from None

    def _connection(self) -> Any:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        try:
            import psycopg
        except ImportError:
            raise LedgerError(
                N_("PostgreSQL ledgers need psycopg: pip install 'emeterai[postgres]'")
            ) from None
        try:
            self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except Exception as exc:
            raise LedgerError(
                N_("ledger {location}: cannot connect ({reason})"),
                location=self.location,
                reason=first_line(exc),
            ) from None
        return self._conn

    def _run(self, sql: str, params: dict[str, str] | None = None) -> list[tuple[Any, ...]]:
        """One statement; a broken connection is reopened once before giving up."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                return list(conn.execute(sql, params).fetchall())
            except Exception as exc:
                import psycopg

                if isinstance(exc, psycopg.OperationalError) and attempt == 1:
                    self.close()
                    continue
                raise LedgerError(
                    N_("ledger {location}: {reason}"),
                    location=self.location,
                    reason=first_line(exc),
                ) from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def record(self, serial: str, document_sha256: str, file: str) -> Sighting:
        params = {"s": serial, "d": document_sha256, "f": file}
        rows = self._run(self._RECORD, params) or self._run(self._OWNER, params)
        if not rows:
            raise LedgerError(
                N_("ledger {location}: serial {serial} vanished while recording"),
                location=self.location,
                serial=serial,
            )
        s, d, f, seen = rows[0]
        return Sighting(s, d, f, seen.isoformat())

    def reused(self) -> list[Reuse]:
        rows = self._run(
            "SELECT serial, document_sha256, file, first_seen FROM emeterai_sightings WHERE serial IN"
            " (SELECT serial FROM emeterai_sightings GROUP BY serial HAVING COUNT(*) > 1)"
            " ORDER BY serial, seq"
        )
        groups: dict[str, list[Sighting]] = {}
        for s, d, f, seen in rows:
            groups.setdefault(s, []).append(Sighting(s, d, f, seen.isoformat()))
        return [Reuse(g) for g in groups.values()]

    def stats(self) -> LedgerStats:
        ((serials, documents),) = self._run(
            "SELECT COUNT(DISTINCT serial), COUNT(*) FROM emeterai_sightings"
        )
        ((reused,),) = self._run(
            "SELECT COUNT(*) FROM (SELECT serial FROM emeterai_sightings GROUP BY serial"
            " HAVING COUNT(*) > 1) AS r"
        )
        return LedgerStats(int(serials), int(documents), int(reused))


Ledger = SqliteLedger | PostgresLedger


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def open_ledger(location: str, create: bool = True) -> Ledger:
    """A ledger from a SQLite path or a ``postgresql://`` URL; ``create=False`` for reading.
    One that cannot be opened is LedgerUnavailable: the location given is wrong."""
    try:
        return _open(location, create)
    except LedgerUnavailable:
        raise
    except LedgerError as exc:
        raise LedgerUnavailable(exc.template, path=exc.path, hint=exc.hint, **exc.params) from None


def _open(location: str, create: bool) -> Ledger:
    if location.startswith(("postgresql://", "postgres://")):
        return PostgresLedger(location, create=create)
    path = Path(location).expanduser()
    if not create and not path.exists():
        raise LedgerError(N_("ledger {location}: no such file"), location=location)
    if path.is_dir():
        raise LedgerError(
            N_("ledger {location}: is a folder; give a file path for the SQLite ledger"),
            location=location,
        )
    return SqliteLedger(path)


def record(result: VerifyResult, ledger: Ledger) -> VerifyResult:
    """:func:`apply`, with a ledger that fails turned into a ``ledger-unavailable`` problem of
    the file (its verdict is then invalid: reuse could not be ruled out)."""
    try:
        return apply(result, ledger)
    except EmeteraiError as exc:
        problem = Problem.of(LEDGER_UNAVAILABLE, exc.template, **exc.params)
        return VerifyResult(result.file, result.stamps, (*result.file_problems, problem))


def apply(result: VerifyResult, ledger: Ledger) -> VerifyResult:
    """Record the genuine stamps of a result and add ``serial-reused`` where due."""
    for i, stamp in enumerate(result.stamps):
        if not stamp.genuine or not stamp.serial or not stamp.bound_sha256:
            continue
        first = ledger.record(stamp.serial, stamp.bound_sha256, result.file)
        if first.document_sha256 != stamp.bound_sha256:
            result = result.with_problems(
                i,
                [
                    Problem.of(
                        SERIAL_REUSED,
                        N_(
                            "serial {serial} was first seen on {file} (a different document)"
                            " at {first_seen}"
                        ),
                        serial=stamp.serial,
                        file=first.file,
                        first_seen=first.first_seen,
                    )
                ],
            )
    return result
