"""How a name that is not valid UTF-8 is shown, in one place: reports, JSON and human output.

A file name made on Windows (say in CP1252) and unpacked on Linux holds bytes that are no UTF-8;
Python gives them to us as lone surrogates (``os.fsdecode``, "surrogateescape"), which no UTF-8
writer accepts. Each such byte is shown as a backslash escape, ``surat-\\xe9.pdf``: every valid
character stays as it is, and the bad bytes stay visible and distinct (a replacement character
would make two different names look alike). Any other lone surrogate is shown as ``\\uXXXX``.
"""

from __future__ import annotations

import re

__all__ = ["shown", "shown_json"]

_SURROGATES = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that did not decode (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def shown(text: str) -> str:
    """``text`` with its undecodable bytes as ``\\xNN`` escapes: always encodable as UTF-8."""
    return _SURROGATES.sub(_escape, text)


def shown_json(value: object) -> object:
    """A JSON-ready value with :func:`shown` applied to every string in it (keys too)."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, dict):
        return {shown_json(k): shown_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [shown_json(v) for v in value]
    return value
