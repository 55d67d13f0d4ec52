"""Stamping and verifying many files: in this process, or spread over worker processes.

Each verify worker builds one Verifier (trust roots, CRL, diff policy) and reuses it for every
file; results come back in input order so that the ledger sees files in a stable order. Each
stamp worker unlocks the wallet once; the wallet's transactions keep workers from ever taking the
same stamp.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from emeterai.errors import (
    EmeteraiError,
    NoStampAvailable,
    NotStamped,
    PassphraseError,
    library_logging,
)
from emeterai.i18n import N_
from emeterai.verify import UNREADABLE, Problem, Verifier, VerifyResult

if TYPE_CHECKING:  # stamping's modules are imported when stamping: verify starts faster
    from concurrent.futures import Future

    from emeterai.ledger import Ledger
    from emeterai.stamp import StampFailure, StampOptions, StampResult
    from emeterai.wallet import Wallet, WalletKey

__all__ = ["MIN_FILES_FOR_POOL", "StampJob", "stamp_files", "verify_files", "verify_path"]

# Below this many files a pool costs more than it saves.
MIN_FILES_FOR_POOL = 4
_worker: tuple[Verifier, str | None] | None = None


def _read(path: Path) -> bytes | VerifyResult:
    try:
        return path.read_bytes()
    except IsADirectoryError:
        return VerifyResult(str(path), (), (Problem.of(UNREADABLE, N_("is a folder, not a PDF")),))
    except OSError as exc:
        problem = Problem.of(UNREADABLE, N_("cannot read ({reason})"), reason=exc.strerror)
        return VerifyResult(str(path), (), (problem,))


def verify_path(verifier: Verifier, path: Path, password: str | None) -> VerifyResult:
    data = _read(path)
    if isinstance(data, VerifyResult):
        return data
    return verifier.verify(data, str(path), password)


def _verbose() -> bool:
    """Did the CLI turn library logging on (--verbose)? Workers then log as the parent does."""
    root = logging.getLogger()
    return root.level <= logging.INFO and any(
        not isinstance(h, logging.NullHandler) for h in root.handlers
    )


def _init(
    roots_der: list[bytes], crl: bytes | None, password: str | None, verbose: bool = False
) -> None:
    global _worker
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    library_logging(verbose)  # also under the spawn start method
    roots = [x509.load_der_x509_certificate(d) for d in roots_der]
    _worker = (Verifier(roots, crl), password)
    import gc

    gc.freeze()  # see _settle


def _work(path: str) -> VerifyResult:
    assert _worker is not None
    verifier, password = _worker
    return verify_path(verifier, Path(path), password)


def verify_files(
    verifier: Verifier,
    files: list[Path],
    password: str | None,
    jobs: int,
    ledger: Ledger | None = None,
) -> Generator[VerifyResult, None, None]:
    """Results for ``files`` in order; ``jobs`` worker processes when worth it (closing the
    generator early drops the files not yet started). With a
    ``ledger``, each result is recorded in it in that order (a ledger failure becomes the
    file's ``ledger-unavailable`` problem)."""
    import gc

    if ledger is not None:
        from emeterai.ledger import record

    gc.freeze()  # see _settle
    try:
        for result in _verify_all(verifier, files, password, jobs):
            yield result if ledger is None else record(result, ledger)
    finally:
        gc.unfreeze()


def _verify_all(
    verifier: Verifier, files: list[Path], password: str | None, jobs: int
) -> Iterator[VerifyResult]:
    if jobs <= 1 or len(files) < MIN_FILES_FOR_POOL:
        for path in files:
            yield verify_path(verifier, path, password)
        return
    from concurrent.futures import ProcessPoolExecutor  # multiprocessing: ~13 ms of a cold start

    roots_der = [r.public_bytes(serialization.Encoding.DER) for r in verifier.trust_roots]
    initargs = (roots_der, verifier.crl, password, _verbose())
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_init, initargs=initargs)
    try:
        yield from pool.map(_work, [str(f) for f in files], chunksize=8)
    finally:
        # interrupted (Ctrl-C, or the caller stopped reading): the files not yet started are
        # dropped instead of verified for nobody
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class StampJob:
    """One document to stamp into ``output`` (``serial``: spend this stamp)."""

    source: Path
    output: Path
    serial: str | None = None
    force: bool = False


# Errors after which no further document can be stamped in this run.
_FATAL = (NoStampAvailable, PassphraseError)
_stamper: tuple[Wallet, WalletKey, StampOptions] | None = None


def _stamp_one(
    wallet: Wallet, key: WalletKey, options: StampOptions, job: StampJob
) -> tuple[StampResult | StampFailure, bool]:
    from emeterai.stamp import StampFailure, stamp_file

    try:
        return stamp_file(
            job.source, job.output, wallet, key, options, job.serial, job.force
        ), False
    except EmeteraiError as exc:
        # --verbose shows why, traceback included; otherwise library logging is silenced.
        logging.getLogger(__name__).info("%s: not stamped", job.source, exc_info=True)
        exc.__traceback__ = None  # results cross process boundaries
        return StampFailure(str(job.source), exc.at(job.source)), isinstance(exc, _FATAL)


def _settle() -> None:
    """Import what stamping needs, then freeze every object alive now.

    A batch keeps its modules and caches for its whole life, but Python's collector walks all
    of them in every full collection, and reading a 300-page document leaves enough cyclic
    garbage (pypdf's pages and reader refer to each other) to trigger one every few documents:
    that was ~10 ms a 300-page document. Frozen objects are not walked; ``gc.unfreeze`` at the
    end of the batch hands them back.
    """
    import gc

    import emeterai._sign  # noqa: F401  pyHanko
    import emeterai.stamp  # noqa: F401  pypdf, the wallet

    gc.freeze()


def _stamp_init(
    wallet_path: str, key: WalletKey, options: StampOptions, verbose: bool = False
) -> None:
    global _stamper
    import gc
    import signal

    from emeterai.wallet import Wallet

    # Ctrl-C reaches the whole process group: a worker finishes the document it is stamping
    # and reports it; the parent decides what happens next (stamp_files' ``stop``).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    library_logging(verbose)  # also under the spawn start method
    _stamper = (Wallet(Path(wallet_path)), key, options)
    gc.freeze()  # the worker's inheritance from the parent is not walked by the collector


def _stamp_work(job: StampJob) -> tuple[StampResult | StampFailure, bool]:
    assert _stamper is not None
    wallet, key, options = _stamper
    return _stamp_one(wallet, key, options, job)


def stamp_files(
    wallet: Wallet,
    secret: str,
    jobs_list: Sequence[StampJob],
    options: StampOptions,
    jobs: int,
    key: WalletKey | None = None,
    stop: threading.Event | None = None,
) -> Iterator[tuple[StampJob, StampResult | StampFailure]]:
    """Stamp each job, yielding its result or its failure, in input order.

    After a fatal error (wallet empty, wrong passphrase) the remaining jobs are reported as not
    stamped instead of being tried. Once ``stop`` is set (the user pressed Ctrl-C), no further
    document is started; those being stamped are finished and yielded, so that every stamp
    spent is reported, and the iteration ends early.
    """
    import gc

    _settle()
    try:
        yield from _stamp_all(wallet, secret, jobs_list, options, jobs, key, stop)
    finally:
        gc.unfreeze()


def _stamp_all(
    wallet: Wallet,
    secret: str,
    jobs_list: Sequence[StampJob],
    options: StampOptions,
    jobs: int,
    key: WalletKey | None,
    stop: threading.Event | None,
) -> Iterator[tuple[StampJob, StampResult | StampFailure]]:
    from emeterai.stamp import StampFailure

    fatal: EmeteraiError | None = None
    stopped = stop.is_set if stop is not None else lambda: False

    def skipped(job: StampJob) -> StampFailure:
        assert fatal is not None
        return StampFailure(str(job.source), NotStamped(fatal, path=job.source))

    if jobs <= 1 or len(jobs_list) < 2:
        key = key or wallet.unlock(secret)
        for job in jobs_list:
            if stopped():
                return
            if fatal is not None:
                yield job, skipped(job)
                continue
            outcome, is_fatal = _stamp_one(wallet, key, options, job)
            if is_fatal and isinstance(outcome, StampFailure):
                fatal = outcome.error
            yield job, outcome
        return
    from concurrent.futures import ProcessPoolExecutor

    workers = min(jobs, len(jobs_list))
    with ProcessPoolExecutor(
        max_workers=workers,
        initializer=_stamp_init,
        initargs=(str(wallet.path), key or wallet.unlock(secret), options, _verbose()),
    ) as pool:
        # A short window of submitted jobs instead of pool.map: after ``stop`` the jobs not yet
        # handed to a worker are cancelled, and only those already started are waited for.
        waiting = iter(jobs_list)
        window: deque[tuple[StampJob, Future[tuple[StampResult | StampFailure, bool]]]] = deque()
        while True:
            while fatal is None and not stopped() and len(window) < 2 * workers:
                nxt = next(waiting, None)
                if nxt is None:
                    break
                window.append((nxt, pool.submit(_stamp_work, nxt)))
            if not window:
                if fatal is not None and not stopped():
                    yield from ((job, skipped(job)) for job in waiting)
                return
            if stopped():
                for _job, future in window:
                    future.cancel()
            job, future = window.popleft()
            if future.cancelled():
                continue
            outcome, is_fatal = future.result()
            if fatal is not None and isinstance(outcome, StampFailure):
                outcome = skipped(job)
            elif is_fatal and isinstance(outcome, StampFailure):
                fatal = outcome.error
            yield job, outcome
