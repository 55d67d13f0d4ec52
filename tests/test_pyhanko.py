"""``emeterai._pyhanko``: the contract with pyHanko's internals, the fixes leaving pyHanko as it
was until an entry point installs them, and the fast hex-string reader giving exactly what
pyHanko's own reader gives."""

from __future__ import annotations

import io
import os

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfStreamError

from emeterai import _pyhanko

ORIGINAL = _pyhanko.ORIGINAL_HEX_READER

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
    a = _pyhanko.read_hex_string_from_stream(fast)
    b = ORIGINAL(slow)
    assert type(a) is type(b)
    assert a == b
    assert fast.tell() == slow.tell()


@pytest.mark.parametrize("raw", BAD)
def test_malformed_strings_fail_as_pyhanko_fails(raw):
    with pytest.raises(PdfStreamError):
        ORIGINAL(io.BytesIO(raw))
    with pytest.raises(PdfStreamError):
        _pyhanko.read_hex_string_from_stream(io.BytesIO(raw))


def test_installed_in_pyhankos_parser_while_patched():
    with _pyhanko.patched():
        obj = generic.read_object(io.BytesIO(b"<48656c6c6f>"), None)
        assert obj == "Hello"
        assert generic.read_hex_string_from_stream is _pyhanko.read_hex_string_from_stream


@pytest.mark.parametrize(("owner", "name"), _pyhanko.HOOKS, ids=lambda v: getattr(v, "__name__", v))
def test_every_private_hook_exists_in_the_installed_pyhanko(owner, name):
    """Fails first when a pyHanko upgrade renames or drops something emeterai relies on."""
    assert callable(getattr(owner, name, None)), f"pyHanko no longer has {owner}.{name}"


def test_the_writer_hooks_keep_their_signatures():
    import inspect

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader

    assert list(inspect.signature(IncrementalPdfFileWriter._walk_page_tree).parameters) == [
        "self",
        "page_ix",
        "retrieve_parent",
    ]
    assert list(inspect.signature(IncrementalPdfFileWriter._write_header).parameters) == [
        "self",
        "stream",
    ]
    assert hasattr(PdfFileReader(io.BytesIO(_tiny_pdf())).xrefs, "_xref_sections")


def _tiny_pdf() -> bytes:
    from pypdf import PdfWriter

    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.write(out)
    return out.getvalue()


UNTOUCHED = """
import io, sys
import emeterai.stamp, emeterai.verify, emeterai._sign, emeterai.batch, emeterai.cli
import pyhanko.pdf_utils.generic as g
from emeterai import _pyhanko
def state():
    return (g.read_hex_string_from_stream is _pyhanko.ORIGINAL_HEX_READER,
            g.NameObject.write_to_stream is _pyhanko.ORIGINAL_NAME_WRITER)
print("import", *state())
with _pyhanko.patched():
    with _pyhanko.patched():
        pass
    print("inside", *state(), _pyhanko.is_installed())
print("after", *state())
from emeterai.verify import Verifier
Verifier([]).verify(sys.stdin.buffer.read(), "x.pdf")
print("verified", *state())
_pyhanko.install()
print("installed", *state(), _pyhanko.is_installed())
with _pyhanko.patched():
    pass
print("still", *state(), _pyhanko.is_installed())
"""


def test_importing_emeterai_leaves_pyhanko_untouched_until_an_entry_point_installs_the_fixes():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", UNTOUCHED], input=_tiny_pdf(), capture_output=True, check=True
    )
    lines = done.stdout.decode().splitlines()
    # the name writer is replaced only while pyHanko still has its one-digit escape bug
    buggy = _pyhanko._name_writer_has_bug()
    assert lines == [
        "import True True",
        f"inside False {not buggy} True",
        "after True True",
        "verified True True",
        f"installed False {not buggy} True",
        f"still False {not buggy} True",
    ]


def test_names_below_0x10_are_written_with_two_hex_digits_while_patched():
    out = io.BytesIO()
    with _pyhanko.patched():
        generic.NameObject("/X\x04").write_to_stream(out)
    assert out.getvalue() == b"/X#04"
