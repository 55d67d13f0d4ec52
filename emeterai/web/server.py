"""One process of ``emeterai serve``: its config, verifier, ledger and desk, the in-flight cap
and time limit every piece of work runs under, and the library's errors as HTTP answers."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
)

from emeterai import home as layout
from emeterai.errors import (
    AlreadyStamped,
    ArchiveTooLarge,
    ConfigError,
    EmeteraiError,
    NoStampAvailable,
    OutputError,
    PassphraseError,
    StampAlreadyUsed,
    StampPossiblyUsed,
    TrustError,
    UsageError,
    WalletError,
)
from emeterai.i18n import _
from emeterai.web.config import Mode, ServeConfig
from emeterai.web.desk import Desk, UnknownDocument, WalletLocked
from emeterai.web.metrics import Metrics
from emeterai.web.uploads import BadRequest, Body, TooLarge, read_body

T = TypeVar("T")


# When the request being answered must be done (time.monotonic()); a batch sets it per file.
_deadline: contextvars.ContextVar[float] = contextvars.ContextVar("emeterai_deadline")


UNCAPPED = frozenset({"/api/v1/health", "/metrics"})  # probes answer even when saturated


class Busy(Exception):
    """Every place under the in-flight cap is taken (503)."""


class TooSlow(Exception):
    """The request went over its time limit (504)."""


_STATUS: tuple[tuple[type[EmeteraiError], int], ...] = (
    (TooLarge, 413),
    (ArchiveTooLarge, 413),
    (BadRequest, 400),
    (UsageError, 400),
    (WalletLocked, 423),
    (PassphraseError, 403),
    (UnknownDocument, 404),
    (AlreadyStamped, 409),
    (NoStampAvailable, 409),
    (StampAlreadyUsed, 409),
    (StampPossiblyUsed, 409),
    (WalletError, 409),
    (OutputError, 500),
    (ConfigError, 400),
    (TrustError, 400),
)


def _kind(exc: EmeteraiError) -> str:
    name = type(exc).__name__
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def error_response(exc: EmeteraiError, about: str | None = None) -> JSONResponse:
    """An error as JSON: ``error`` (its kind), ``message`` (English, the same in every
    language, for scripts) and ``text`` (in the request's language, for people). A private
    temporary path is never shown: the client's own name for the file is."""
    status = next((s for cls, s in _STATUS if isinstance(exc, cls)), 422)
    english = exc.message if exc.path is None or about is None else exc.about(about)
    text = exc.translated()
    if about is not None:
        text = f"{about}: {text}"
        english = f"{about}: {exc.message}"
    return JSONResponse({"error": _kind(exc), "message": english, "text": text}, status)


def _plain_error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, "text": _(message)}, status, headers)


class Server:
    """One process's server: config, the verifier, the ledger, the desk (local mode), the caps."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self.limiter = anyio.CapacityLimiter(config.limits.work_threads)
        self.in_flight = 0
        self._count = threading.Lock()
        self.desk: Desk | None = None
        if config.mode is Mode.LOCAL:
            home = config.home_path()
            out_dir = Path(config.out_dir) if config.out_dir else layout.stamped_folder(home)
            self.desk = Desk(home, out_dir, config.lock_after_seconds)
        self._verifier: Any = None
        self._verifier_lock = threading.Lock()
        self._ledger: Any = None
        self.reports: dict[str, list[Any]] = {}  # local mode: the last checks, for download

    # -- shared pieces ----------------------------------------------------------------------

    def verifier(self) -> Any:
        from emeterai.trust import parse_root
        from emeterai.verify import Verifier

        home = self.config.home_path()
        with self._verifier_lock:
            if self._verifier is None:
                roots = list(layout.trust_store(home).certificates())
                for pem in self.config.trust:
                    roots.append(parse_root(Path(pem).read_bytes(), pem))
                crl = Path(self.config.crl).read_bytes() if self.config.crl else None
                tsa = layout.trust_store(home, tsa=True).certificates()
                self._verifier = Verifier(roots, crl, tsa_roots=tsa)
            return self._verifier

    def forget_verifier(self) -> None:
        """The trust store changed: the next verification builds the verifier again."""
        with self._verifier_lock:
            self._verifier = None

    def ledger(self, wanted: bool) -> Any:
        """The ledger: service mode's ``--ledger`` always; local mode's when the page asks for it
        (``--ledger``, else one SQLite file in the home folder)."""
        from emeterai.ledger import open_ledger

        location = self.config.ledger
        if self.config.mode is Mode.LOCAL:
            if not wanted:
                return None
            if location is None:
                path = layout.default_ledger(self.config.home_path())
                path.parent.mkdir(parents=True, exist_ok=True)
                location = str(path)
        if location is None:
            return None
        if self._ledger is None:
            self._ledger = open_ledger(location)
        return self._ledger

    @contextlib.contextmanager
    def place(self) -> Iterator[None]:
        """A place under the in-flight cap, or Busy."""
        with self._count:
            if self.in_flight >= self.config.limits.max_in_flight:
                raise Busy
            self.in_flight += 1
        try:
            yield
        finally:
            with self._count:
                self.in_flight -= 1

    def start_clock(self) -> None:
        _deadline.set(time.monotonic() + self.config.limits.request_seconds)

    async def work(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread, in this request's language, before its deadline."""
        ctx = contextvars.copy_context()
        left = (
            _deadline.get(time.monotonic() + self.config.limits.request_seconds) - time.monotonic()
        )
        try:
            with anyio.fail_after(max(left, 0.0)):
                return await anyio.to_thread.run_sync(
                    functools.partial(ctx.run, fn, *args),
                    limiter=self.limiter,
                    abandon_on_cancel=True,
                )
        except TimeoutError:
            raise TooSlow from None


def server_of(request: Request) -> Server:
    server = request.app.state.server
    assert isinstance(server, Server)
    return server


def desk_of(request: Request) -> Desk:
    desk = server_of(request).desk
    assert desk is not None  # local-mode routes only
    return desk


def flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


async def read_form(request: Request, max_files: int = 0) -> Body:
    limits = server_of(request).config.limits
    return await read_body(request, limits.max_upload_bytes, max_files, "upload")
