"""File sizes as people write them: ``800K``, ``1.5M``, ``300KB``, ``900000``.

Upload portals state their caps in kilobytes; a kilobyte here is 1000 bytes (SI), the unit the
portals' own checks use, so that a file emeterai says fits also fits there.
"""

from __future__ import annotations

import re

from emeterai.errors import UsageError
from emeterai.i18n import N_

__all__ = ["Size", "format_size", "parse_size"]

_UNITS = {
    "": 1,
    "B": 1,
    "K": 1000,
    "KB": 1000,
    "M": 1000**2,
    "MB": 1000**2,
    "G": 1000**3,
    "GB": 1000**3,
}
_SIZE = re.compile(r"\s*(\d+(?:[.,]\d+)?)\s*([A-Za-z]*)\s*")


def parse_size(text: str) -> int:
    """Bytes for ``text``, or a usage error saying how to write it."""
    match = _SIZE.fullmatch(text)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in _UNITS:
        raise UsageError(
            N_("{text} is not a size: write e.g. 800K, 1.5M or 900000 (bytes)"), text=repr(text)
        )
    size = int(float(match.group(1).replace(",", ".")) * _UNITS[unit])
    if size <= 0:
        raise UsageError(
            N_("{text} is not a size: it must be more than 0 bytes, e.g. 800K"), text=repr(text)
        )
    return size


class Size(str):
    """A size as :func:`format_size` writes it: English (``2.4 MB``) as JSON and logs carry it,
    :meth:`translated` in the reader's language (``2,4 MB`` in Indonesian, a decimal comma)."""

    def translated(self) -> str:
        from emeterai.i18n import language

        return self.replace(".", ",") if language() == "id" else str(self)


def format_size(size: int) -> Size:
    """``size`` bytes as a person reads it: ``812 KB``, ``1.4 MB``, ``950 B``; an error that
    holds it as a param shows it translated (:class:`Size`)."""
    if size < 1000:
        return Size(f"{size} B")
    if size < 1000**2:
        return Size(f"{size / 1000:.0f} KB")
    return Size(f"{size / 1000**2:.1f} MB")
