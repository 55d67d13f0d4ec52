"""Atomic file output: a temp file in the target folder, fsync, rename."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from emeterai.errors import Hint, OutputError, OutputNotDurable
from emeterai.i18n import N_

# The folder of a published output could not be synced: stamping adds the serial it spent.
NOT_SYNCED = N_("written, but its folder could not be synced to disk ({reason})")


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
        raise OutputError(
            N_("cannot write in {folder} ({reason})"),
            path=path,
            folder=path.parent,
            reason=exc.strerror,
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            for part in parts:
                fh.write(part)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        discard(tmp)
        raise OutputError(N_("cannot write ({reason})"), path=path, reason=exc.strerror) from None
    except BaseException:
        discard(tmp)
        raise
    return tmp


# How a temp file was moved into place, as the wallet records it before the move: with an atomic
# rename ("replace", or "rename" that refuses an existing target) the temp file exists exactly as
# long as the output does not; "link" (link then unlink, where no-replace rename is missing)
# leaves a moment where both names exist, so an existing temp file proves nothing there.
ATOMIC_METHODS = ("replace", "rename")


def _rename_noreplace(src: Path, dst: Path) -> bool:
    """renameat2(RENAME_NOREPLACE) on Linux: True if done, False where it is not supported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_noreplace = -100, 1
    if fn(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), rename_noreplace) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # e.g. a file system without the flag
    raise OSError(err, os.strerror(err), str(dst))


def rename_into_place(
    tmp: Path,
    path: Path,
    overwrite: bool,
    before: Callable[[str], None] | None = None,
) -> None:
    """Move a finished temp file to ``path`` (never replacing a file unless ``overwrite``).

    ``before(method)`` runs just before the move is attempted, with one of "replace", "rename"
    or "link": a caller that must know afterwards whether the move can have happened records it
    there. Returns once ``path`` is in place; an OutputError means the move did not happen (the
    temp file is removed). Making the move durable is :func:`sync_folder`'s job.
    """
    try:
        if overwrite:
            if before is not None:
                before("replace")
            os.replace(tmp, path)
            return
        if before is not None:
            before("rename")
        if _rename_noreplace(tmp, path):
            return
        if before is not None:
            before("link")
        # link() fails if the target exists, so no other writer is clobbered either.
        os.link(tmp, path)
    except FileExistsError:
        discard(tmp)
        raise OutputError(N_("already exists"), path=path, hint=Hint.FORCE) from None
    except OSError as exc:
        discard(tmp)
        raise OutputError(N_("cannot write ({reason})"), path=path, reason=exc.strerror) from None
    # The output is in place from here on: failing to drop the temp name changes nothing.
    discard(tmp)


def sync_folder(path: Path) -> None:
    """fsync the folder holding ``path``, so that its new name survives a power cut; raises
    OutputNotDurable if the system refuses (the file itself is in place)."""
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return  # e.g. Windows, where a folder cannot be opened: nothing to sync
    try:
        os.fsync(dir_fd)
    except OSError as exc:
        raise OutputNotDurable(NOT_SYNCED, path=path, reason=exc.strerror) from None
    finally:
        os.close(dir_fd)


def publish(tmp: Path, path: Path, overwrite: bool) -> None:
    """Move a finished temp file into place durably; never replaces a file unless ``overwrite``."""
    rename_into_place(tmp, path, overwrite)
    sync_folder(path)


def write_atomic(path: Path, data: bytes, overwrite: bool = False, mode: int = 0o644) -> None:
    if not overwrite and path.exists():
        raise OutputError(N_("already exists"), path=path, hint=Hint.FORCE)
    publish(write_temp(path, data, mode), path, overwrite)
