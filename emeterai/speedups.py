"""A faster drop-in for one hot spot in pyHanko's PDF parser.

pyHanko reads a hex string (``<...>``) one byte at a time through Python generators. Every stamp
signature's /Contents is one of several kilobytes, so reading it was about a third of verifying a
letter. :func:`read_hex_string_from_stream` reads it in chunks and gives the same result; anything
out of the ordinary (a comment or a stray byte inside the string, the end of the stream) goes to
pyHanko's own reader from the start of the string, so that errors and edge cases stay pyHanko's.
"""

from __future__ import annotations

import binascii
import re
from typing import Any

_CHUNK = 64 * 1024
_WHITESPACE = b" \n\r\t\f\x00"  # pyhanko.pdf_utils.misc.PDF_WHITESPACE
_UNUSUAL = re.compile(rb"[^0-9a-fA-F \n\r\t\f\x00]")
_original: Any = None


def read_hex_string_from_stream(stream: Any) -> Any:
    from pyhanko.pdf_utils import generic

    start = stream.tell()
    stream.read(1)  # the '<'
    parts = []
    while True:
        chunk = stream.read(_CHUNK)
        end = chunk.find(b">")
        body = chunk if end < 0 else chunk[:end]
        if not chunk or _UNUSUAL.search(body):
            stream.seek(start)
            return _original(stream)
        parts.append(body)
        if end >= 0:
            stream.seek(end + 1 - len(chunk), 1)  # just after the '>'
            break
    digits = b"".join(parts).translate(None, _WHITESPACE)
    if len(digits) % 2:
        digits += b"0"
    return generic.pdf_string(binascii.unhexlify(digits))


def install() -> None:
    """Put the fast reader in place of pyHanko's (idempotent)."""
    global _original
    from pyhanko.pdf_utils import generic

    if _original is None:
        _original = generic.read_hex_string_from_stream
        generic.read_hex_string_from_stream = read_hex_string_from_stream
