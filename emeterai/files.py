"""Atomic file output: a temp file in the target folder, fsync, rename."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from emeterai.errors import OutputError


def discard(path: Path) -> None:
    """Remove a temp file if it is there; cleanup never hides the error being handled."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def temp_path_for(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


def write_temp(
    path: Path, data: bytes | Sequence[bytes], mode: int = 0o644, tmp: Path | None = None
) -> Path:
    """Write ``data`` (bytes, or parts to write one after the other) durably to a new temp file
    beside ``path``; returns the temp path."""
    parts = (data,) if isinstance(data, bytes | bytearray | memoryview) else tuple(data)
    tmp = tmp or temp_path_for(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write in {path.parent} ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            for part in parts:
                fh.write(part)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        discard(tmp)
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    except BaseException:
        discard(tmp)
        raise
    return tmp


def publish(tmp: Path, path: Path, overwrite: bool) -> None:
    """Move a finished temp file into place; never replaces a file unless ``overwrite``."""
    try:
        if overwrite:
            os.replace(tmp, path)
        else:
            # link() fails if the target exists, so no other writer is clobbered either.
            os.link(tmp, path)
            tmp.unlink()
    except FileExistsError:
        discard(tmp)
        raise OutputError(f"{path}: already exists (use --force to overwrite)") from None
    except OSError as exc:
        discard(tmp)
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_atomic(path: Path, data: bytes, overwrite: bool = False, mode: int = 0o644) -> None:
    if not overwrite and path.exists():
        raise OutputError(f"{path}: already exists (use --force to overwrite)")
    publish(write_temp(path, data, mode), path, overwrite)
