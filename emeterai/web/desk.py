"""Local mode's state for its one user: the wallet (and how long it stays unlocked), the
documents uploaded for stamping, and the stamped files kept for download.

Uploaded documents live in a private temporary folder (0700) removed when the server stops, or
earlier when stamped or left alone too long. Every stamped file is written to ``out_dir`` by
the library's own :func:`emeterai.stamp.stamp_file`, atomically, before the stamp is marked
used: a download that fails can be repeated, so a spent stamp is never lost with it. The server
keeps the wallet key, never the passphrase, and forgets it after ``lock_after`` seconds idle.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from emeterai import home as layout
from emeterai.errors import EmeteraiError, PdfError
from emeterai.i18n import N_
from emeterai.trust import TrustStore
from emeterai.wallet import Wallet, WalletKey

__all__ = ["Desk", "HeldDocument", "StampedFile", "WalletLocked"]

HOLD_SECONDS = 3600  # an uploaded document nobody stamped is dropped after this


class WalletLocked(EmeteraiError):
    """The wallet must be unlocked with its passphrase first (423)."""


class UnknownDocument(EmeteraiError):
    """The id names no document held here (404): never uploaded, stamped already, or expired."""


@dataclass(frozen=True)
class HeldDocument:
    id: str
    name: str  # the client's label
    path: Path  # the private copy
    held_at: float


@dataclass(frozen=True)
class StampedFile:
    id: str
    name: str  # the download name: NAME.emeterai.pdf
    path: Path
    serial: str
    stamped_at: str

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "serial": self.serial,
            "stamped_at": self.stamped_at,
            "download": f"/api/v1/stamped/{self.id}",
        }


def download_name(label: str) -> str:
    stem = label[:-4] if label.lower().endswith(".pdf") else label
    return f"{stem}.emeterai.pdf"


class Desk:
    def __init__(self, home: Path, out_dir: Path, lock_after: float) -> None:
        self.home = home
        self.out_dir = out_dir
        self.lock_after = lock_after
        self._lock = threading.Lock()
        self._key: WalletKey | None = None
        self._used_at = 0.0
        self._held: dict[str, HeldDocument] = {}
        self._stamped: dict[str, StampedFile] = {}
        self._tmp = Path(tempfile.mkdtemp(prefix="emeterai-serve-"))  # mode 0700

    # -- wallet -----------------------------------------------------------------------------

    def wallet(self) -> Wallet:
        return layout.wallet(self.home)

    def trust_store(self) -> TrustStore:
        return layout.trust_store(self.home)

    def unlock(self, passphrase: str) -> None:
        key = self.wallet().unlock(passphrase)
        with self._lock:
            self._key, self._used_at = key, time.monotonic()

    def lock(self) -> None:
        with self._lock:
            self._key = None

    def unlocked(self) -> bool:
        with self._lock:
            self._expire()
            return self._key is not None

    def key(self) -> WalletKey:
        """The wallet key, which counts as use (the idle time starts again)."""
        with self._lock:
            self._expire()
            if self._key is None:
                raise WalletLocked(N_("the wallet is locked: unlock it with its passphrase"))
            self._used_at = time.monotonic()
            return self._key

    def _expire(self) -> None:
        if self._key is not None and time.monotonic() - self._used_at > self.lock_after:
            self._key = None

    # -- documents --------------------------------------------------------------------------

    def hold(self, name: str, data: bytes) -> HeldDocument:
        doc_id = secrets.token_urlsafe(12)
        folder = self._tmp / doc_id
        folder.mkdir(mode=0o700)
        path = folder / "document.pdf"
        path.write_bytes(data)
        doc = HeldDocument(doc_id, name, path, time.monotonic())
        with self._lock:
            self._drop_old()
            self._held[doc_id] = doc
        return doc

    def held(self, doc_id: str) -> HeldDocument:
        with self._lock:
            self._drop_old()
            doc = self._held.get(doc_id)
        if doc is None:
            raise UnknownDocument(N_("this document is no longer here: upload it again"))
        return doc

    def release(self, doc_id: str) -> None:
        with self._lock:
            doc = self._held.pop(doc_id, None)
        if doc is not None:
            shutil.rmtree(doc.path.parent, ignore_errors=True)

    def _drop_old(self) -> None:
        now = time.monotonic()
        for doc_id in [k for k, d in self._held.items() if now - d.held_at > HOLD_SECONDS]:
            shutil.rmtree(self._held.pop(doc_id).path.parent, ignore_errors=True)

    def new_output(self) -> tuple[str, Path]:
        """A fresh id and a path in ``out_dir`` named by the server, never by the client."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        out_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(4)
        return out_id, self.out_dir / f"{out_id}.emeterai.pdf"

    def add_stamped(self, stamped: StampedFile) -> None:
        with self._lock:
            self._stamped[stamped.id] = stamped

    def stamped(self, out_id: str) -> StampedFile:
        with self._lock:
            found = self._stamped.get(out_id)
        if found is None or not found.path.is_file():
            raise PdfError(N_("no such stamped file"))
        return found

    def stamped_files(self) -> list[StampedFile]:
        with self._lock:
            return list(self._stamped.values())

    def close(self) -> None:
        """Forget the key and remove every uploaded document."""
        with self._lock:
            self._key = None
            self._held.clear()
        shutil.rmtree(self._tmp, ignore_errors=True)
