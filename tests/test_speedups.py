"""The fast hex-string reader gives exactly what pyHanko's own reader gives."""

from __future__ import annotations

import io
import os

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfStreamError

from emeterai import speedups

speedups.install()
ORIGINAL = speedups._original

CASES = [
    b"<>",
    b"<48656c6c6f>",
    b"<48656C6C6F> rest",
    b"<4 8 6\n5\r6c\t6c\x006f\x0c>",
    b"<486>",  # odd: a trailing 0 is implied
    b"<FEFF00480069>",  # UTF-16 BOM: a text string
    b"<" + os.urandom(40_000).hex().encode() + b"0000>",  # longer than a chunk
    b"<48 %a comment > inside\n 65>",  # comments go to pyHanko's reader
]
BAD = [b"<48zz>", b"<4865", b"<"]


@pytest.mark.parametrize("raw", CASES)
def test_same_value_and_same_position_after_the_string(raw):
    fast, slow = io.BytesIO(b"xx" + raw), io.BytesIO(b"xx" + raw)
    fast.seek(2)
    slow.seek(2)
    a = speedups.read_hex_string_from_stream(fast)
    b = ORIGINAL(slow)
    assert type(a) is type(b)
    assert a == b
    assert fast.tell() == slow.tell()


@pytest.mark.parametrize("raw", BAD)
def test_malformed_strings_fail_as_pyhanko_fails(raw):
    with pytest.raises(PdfStreamError):
        ORIGINAL(io.BytesIO(raw))
    with pytest.raises(PdfStreamError):
        speedups.read_hex_string_from_stream(io.BytesIO(raw))


def test_installed_in_pyhankos_parser():
    obj = generic.read_object(io.BytesIO(b"<48656c6c6f>"), None)
    assert obj == "Hello"
    assert generic.read_hex_string_from_stream is speedups.read_hex_string_from_stream
