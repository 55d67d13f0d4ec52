"""How one server runs: its mode, address, token, limits and folders (frozen, passed to every
worker process as JSON in the environment)."""

from __future__ import annotations

import enum
import ipaddress
import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ENV", "Limits", "Mode", "ServeConfig", "is_loopback", "new_token"]

ENV = "EMETERAI_SERVE_CONFIG"  # the JSON of the config, for worker processes


class Mode(enum.StrEnum):
    LOCAL = "local"  # one person on this machine: wallet, stamping, checking
    VERIFY_ONLY = "verify-only"  # a verification service: no wallet, no stamping


@dataclass(frozen=True)
class Limits:
    """What one request may ask for. Over a limit the answer is 413 (size), 503 (busy, with
    Retry-After) or 504 (too slow); never a crash and never a partial verdict."""

    max_upload_bytes: int = 64 * 1024 * 1024
    max_batch_files: int = 200
    max_archive_bytes: int = 256 * 1024 * 1024  # what one .zip may expand to
    max_in_flight: int = 16  # requests doing work at once in one process; more get 503
    work_threads: int = 1  # threads doing the CPU work in one process (the GIL: one is enough)
    request_seconds: float = 120.0


def new_token() -> str:
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServeConfig:
    """One server. ``token`` is required on every request in local mode, and in service mode
    unless bound to loopback; ``home`` holds the wallet and trust store (``EMETERAI_HOME``);
    ``out_dir`` keeps every stamped file, so a download that fails never loses a spent stamp."""

    mode: Mode
    host: str
    port: int
    token: str | None
    home: str
    out_dir: str | None = None
    ledger: str | None = None
    trust: tuple[str, ...] = ()  # root PEM files trusted beside the trust store
    crl: str | None = None
    lock_after_seconds: int = 600
    limits: Limits = field(default_factory=Limits)
    language: str = "id"  # the pages' default language (the user may switch)

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def needs_token(self) -> bool:
        return self.mode is Mode.LOCAL or not self.loopback

    def home_path(self) -> Path:
        return Path(self.home)

    def to_env(self) -> str:
        data = asdict(self)
        data["mode"] = str(self.mode)
        return json.dumps(data)

    @classmethod
    def from_env(cls, text: str) -> ServeConfig:
        data: dict[str, Any] = json.loads(text)
        data["mode"] = Mode(data["mode"])
        data["limits"] = Limits(**data["limits"])
        data["trust"] = tuple(data["trust"])
        return cls(**data)
