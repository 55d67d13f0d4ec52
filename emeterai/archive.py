"""PDFs out of a .zip archive, read with limits: an office drops one archive of applications.

An archive is untrusted input. Its members are read in memory with a budget on their count and
on the bytes they expand to (counted as they are inflated, never taken from the sizes the
archive claims), so a zip bomb stops at the budget. Member names are only labels: they never
become paths on this machine.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from emeterai.errors import ArchiveError, ArchiveTooLarge
from emeterai.i18n import N_

__all__ = ["ArchiveLimits", "Member", "is_zip", "pdfs_in_zip"]

_CHUNK = 1 << 16


@dataclass(frozen=True)
class ArchiveLimits:
    """How much one archive may hold: PDFs, bytes per PDF, bytes in all, and how far a member
    may expand over its compressed size (a bomb's ratio is in the thousands, a PDF's under 20)."""

    max_files: int = 1000
    max_file_bytes: int = 50 * 1024 * 1024
    max_total_bytes: int = 1024 * 1024 * 1024
    max_ratio: int = 200


@dataclass(frozen=True)
class Member:
    """One PDF from an archive: its name inside it (a label, shown to people) and its bytes."""

    name: str
    data: bytes


def is_zip(data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def _label(name: str) -> str:
    """A member's name as shown: control characters dropped, folders kept as written."""
    return "".join(ch for ch in name if ch.isprintable()) or "?"


def pdfs_in_zip(data: bytes, source: str, limits: ArchiveLimits | None = None) -> list[Member]:
    """Every ``*.pdf`` member of the archive ``data`` (folders, other files and macOS resource
    forks left out), in archive order. Raises ArchiveError naming ``source`` when the archive
    is unreadable or goes over a limit: then nothing of it is checked."""
    return list(_members(data, source, limits or ArchiveLimits()))


def _members(data: bytes, source: str, limits: ArchiveLimits) -> Iterator[Member]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ArchiveError(N_("not a readable .zip archive"), path=source) from None
    with archive:
        infos = [
            i
            for i in archive.infolist()
            if not i.is_dir()
            and i.filename.lower().endswith(".pdf")
            and "__MACOSX/" not in i.filename
        ]
        if len(infos) > limits.max_files:
            raise ArchiveTooLarge(
                N_("the archive holds {count} PDFs; at most {limit} can be checked at once"),
                path=source,
                count=len(infos),
                limit=limits.max_files,
            )
        total = 0
        for info in infos:
            body = _read(archive, info, source, limits, limits.max_total_bytes - total)
            total += len(body)
            yield Member(_label(info.filename), body)


def _read(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str, limits: ArchiveLimits, left: int
) -> bytes:
    """One member inflated chunk by chunk, stopped as soon as it passes a limit."""
    name = _label(info.filename)
    cap = min(limits.max_file_bytes, left)
    allowed_by_ratio = max(info.compress_size, 1) * limits.max_ratio
    out = bytearray()
    try:
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                out += chunk
                if len(out) > allowed_by_ratio and len(out) > _CHUNK:
                    raise ArchiveTooLarge(
                        N_("{member} expands more than {ratio} times: refused as a zip bomb"),
                        path=source,
                        member=name,
                        ratio=limits.max_ratio,
                    )
                if len(out) > cap:
                    raise ArchiveTooLarge(
                        N_("{member} expands past the size limit ({limit} bytes)"),
                        path=source,
                        member=name,
                        limit=cap,
                    )
    except RuntimeError:  # an encrypted member
        raise ArchiveError(
            N_("{member} is encrypted in the archive"), path=source, member=name
        ) from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise ArchiveError(
            N_("{member} cannot be read from the archive ({reason})"),
            path=source,
            member=name,
            reason=str(exc) or type(exc).__name__,
        ) from None
    return bytes(out)
