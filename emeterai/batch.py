"""Verifying many files: in this process, or spread over worker processes.

Each worker builds one Verifier (trust roots, CRL, diff policy) and reuses it for every file it
gets; results come back in input order so that the ledger sees files in a stable order.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from emeterai.verify import UNREADABLE, Problem, Verifier, VerifyResult

# Below this many files a pool costs more than it saves.
MIN_FILES_FOR_POOL = 4
_worker: tuple[Verifier, str | None] | None = None


def _read(path: Path) -> bytes | VerifyResult:
    try:
        return path.read_bytes()
    except IsADirectoryError:
        return VerifyResult(str(path), (), (Problem(UNREADABLE, "is a folder, not a PDF"),))
    except OSError as exc:
        return VerifyResult(str(path), (), (Problem(UNREADABLE, f"cannot read ({exc.strerror})"),))


def verify_path(verifier: Verifier, path: Path, password: str | None) -> VerifyResult:
    data = _read(path)
    if isinstance(data, VerifyResult):
        return data
    return verifier.verify(data, str(path), password)


def _init(roots_der: list[bytes], crl: bytes | None, password: str | None) -> None:
    global _worker
    import logging

    logging.getLogger().handlers = [logging.NullHandler()]
    logging.getLogger().setLevel(logging.CRITICAL + 1)
    roots = [x509.load_der_x509_certificate(d) for d in roots_der]
    _worker = (Verifier(roots, crl), password)


def _work(path: str) -> VerifyResult:
    assert _worker is not None
    verifier, password = _worker
    return verify_path(verifier, Path(path), password)


def verify_files(
    files: list[Path],
    roots: list[x509.Certificate],
    crl: bytes | None,
    password: str | None,
    jobs: int,
) -> Iterator[VerifyResult]:
    """Results for ``files`` in order; ``jobs`` worker processes when worth it."""
    verifier = Verifier(roots, crl)  # also validates the CRL before any work starts
    if jobs <= 1 or len(files) < MIN_FILES_FOR_POOL:
        for path in files:
            yield verify_path(verifier, path, password)
        return
    roots_der = [r.public_bytes(serialization.Encoding.DER) for r in roots]
    with ProcessPoolExecutor(
        max_workers=jobs, initializer=_init, initargs=(roots_der, crl, password)
    ) as pool:
        yield from pool.map(_work, [str(f) for f in files], chunksize=8)
