"""``emeterai._pyhanko``: the contract with pyHanko's internals, the fixes leaving pyHanko as it
was until an entry point installs them, and the fast hex-string reader giving exactly what
pyHanko's own reader gives."""

from __future__ import annotations

import datetime as dt
import io
import os
from typing import Any

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfStreamError

from emeterai import _pyhanko
from tests.support.common import PASSPHRASE

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
    if isinstance(owner, str):  # a class only signing imports, named by its dotted path
        import importlib

        module, _, attr = owner.rpartition(".")
        owner = getattr(importlib.import_module(module), attr)
    assert callable(getattr(owner, name, None)), f"pyHanko no longer has {owner}.{name}"


def test_the_binding_signer_is_a_pyhanko_signer_made_once():
    from pyhanko.sign import signers

    assert issubclass(_pyhanko.BindingSigner, signers.SimpleSigner)
    assert _pyhanko.BindingSigner is _pyhanko.BindingSigner
    with pytest.raises(AttributeError):
        _pyhanko.NoSuchThing  # noqa: B018


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


@pytest.mark.parametrize("byte", range(1, 256))
def test_every_name_byte_is_written_as_pyhanko_writes_it_bar_the_short_escape(byte):
    """The fast path (a name with nothing to escape is written as it is) and the escaping
    loop give pyHanko's bytes, except that an escape always has two hex digits."""
    name = generic.NameObject("/A" + bytes([byte]).decode("latin-1") + "b")
    ours, theirs = io.BytesIO(), io.BytesIO()
    _pyhanko.write_name_to_stream(name, ours)
    _pyhanko.ORIGINAL_NAME_WRITER(name, theirs)
    if ours.getvalue() != theirs.getvalue():
        assert theirs.getvalue() == b"/A#%Xb" % byte and byte < 0x10
    raw = name.encode("utf8")
    parsed = generic.NameObject.read_from_stream(io.BytesIO(ours.getvalue()))
    assert parsed == name, (raw, ours.getvalue())


# -- the speed fixes: the same bytes and answers as the originals ------------------------------


def _signed_cms(key: Any, dump_with: Any) -> tuple[bytes, bytes]:
    """A CMS SignedData as the stamp's signer builds it (nested values made from Python data),
    serialised with ``dump_with`` in place of asn1crypto's ``Asn1Value.dump``."""
    import asyncio

    from asn1crypto import core as asn1_core
    from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

    from emeterai import _sign

    signer = _sign.make_signer(key, b"\1" * 32, 1234, b"\2" * 32)
    attrs = PdfCMSSignedAttributes(signing_time=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    saved = asn1_core.Asn1Value.dump
    asn1_core.Asn1Value.dump = dump_with
    try:
        cms = asyncio.run(
            signer.async_sign(b"\3" * 32, "sha256", use_pades=True, signed_attr_settings=attrs)
        )
        return cms.dump(), cms.dump(force=True)
    finally:
        asn1_core.Asn1Value.dump = saved


def test_the_cms_a_signer_builds_is_serialised_to_the_same_bytes(issuer):
    """ECDSA signatures differ each time, so the signature value is compared apart."""
    from asn1crypto import cms

    from tests.support.attacks import stamp_key_from_issuer

    key = stamp_key_from_issuer(issuer, PASSPHRASE, "TST-0000000001")
    fast = _signed_cms(key, _pyhanko.asn1_dump)
    slow = _signed_cms(key, _pyhanko.ORIGINAL_DUMP)
    for a, b in zip(fast, slow, strict=True):
        left, right = cms.ContentInfo.load(a), cms.ContentInfo.load(b)
        for info in (left, right):
            info["content"]["signer_infos"][0]["signature"] = b""
        assert _pyhanko.ORIGINAL_DUMP(left, force=True) == _pyhanko.ORIGINAL_DUMP(right, force=True)
        assert len(a) - len(b) in range(-2, 3)  # DER ECDSA values differ by a byte or two


@pytest.mark.parametrize(
    "der",
    [
        bytes.fromhex("3009020101a004020202ff"),  # a sequence with an explicit [0] inside
        bytes.fromhex("30800201010000"),  # BER indefinite length: re-encoded as DER
        bytes.fromhex("3080a08002010100000000"),  # nested indefinite lengths
    ],
    ids=["explicit", "indefinite", "nested-indefinite"],
)
def test_parsed_and_ber_values_dump_as_the_original_dumps_them(der):
    from asn1crypto import core as asn1_core

    for force in (False, True):
        fast, slow = asn1_core.Asn1Value.load(der), asn1_core.Asn1Value.load(der)
        assert _pyhanko.asn1_dump(fast, force) == _pyhanko.ORIGINAL_DUMP(slow, force)


def test_dumping_a_built_value_serialises_each_level_a_bounded_number_of_times():
    """The original read a built value's contents up to three times per level, re-serialising
    everything below each time: 2**depth work. Counted, not timed."""
    from asn1crypto import core as asn1_core

    class Pair(asn1_core.Sequence):
        pass

    Pair._fields = [("a", asn1_core.Any, {"optional": True}), ("n", asn1_core.Integer)]

    def nested(depth: int) -> Any:
        value = Pair({"n": 0})
        for i in range(depth):
            value = Pair({"a": value, "n": i})
        return value

    calls = {"n": 0}
    original = asn1_core.Sequence._set_contents

    def counting(self: Any, force: bool = False) -> None:
        calls["n"] += 1
        original(self, force)

    asn1_core.Sequence._set_contents = counting
    try:
        for dump, limit in ((_pyhanko.asn1_dump, 2 * 13), (_pyhanko.ORIGINAL_DUMP, 2**12)):
            value = nested(12)
            calls["n"] = 0
            asn1_core.Asn1Value.dump = dump
            try:
                value.dump()
            finally:
                asn1_core.Asn1Value.dump = _pyhanko.ORIGINAL_DUMP
            if dump is _pyhanko.asn1_dump:
                assert calls["n"] <= limit
            else:
                assert calls["n"] >= limit  # the original's cost, which the fix removes
    finally:
        asn1_core.Sequence._set_contents = original


def _name(**attrs: Any) -> Any:
    from asn1crypto import x509 as ax509

    return ax509.Name.build(attrs)


def _printable(name: Any) -> Any:
    """``name`` re-encoded with PrintableString values: other DER, the same name."""
    from asn1crypto import x509 as ax509

    return ax509.Name.build(dict(name.native), use_printable=True)


NAME_PAIRS = [
    (
        _name(common_name="Test Issuer", country_name="ID"),
        _name(common_name="Test Issuer", country_name="ID"),
    ),
    (_name(common_name="Test Issuer"), _printable(_name(common_name="Test Issuer"))),
    (_name(common_name="Test  Issuer"), _name(common_name="test issuer")),
    (_name(common_name="Test Issuer"), _name(common_name="Other Issuer")),
    (_name(common_name="Test Issuer"), _name(common_name="Test Issuer", organization_name="X")),
]


@pytest.mark.parametrize(("left", "right"), NAME_PAIRS)
def test_names_compare_and_hash_as_the_original_compares_them(left, right):
    from asn1crypto import x509 as ax509

    assert _pyhanko.name_eq(left, right) == _pyhanko.ORIGINAL_NAME_EQ(left, right)
    assert _pyhanko.name_eq(left, "not a name") is False
    for name in (left, right):
        assert _pyhanko.name_hashable(name) == _pyhanko.ORIGINAL_NAME_HASHABLE.fget(name)
        assert _pyhanko.name_hashable(name) == _pyhanko.name_hashable(ax509.Name.load(name.dump()))


def test_equal_names_with_other_der_are_still_equal():
    """The DER fast path must not be the only path: RFC 5280 preparation still decides."""
    left = _name(common_name="Test Issuer")
    right = _printable(left)
    assert left.dump() != right.dump()
    assert _pyhanko.name_eq(left, right) is True


def test_permitted_subtrees_are_the_originals_and_fresh_each_time():
    first = _pyhanko.default_permitted_subtrees()
    assert first == _pyhanko.ORIGINAL_PERMITTED()
    name_type = next(iter(first))
    first[name_type].clear()
    assert _pyhanko.default_permitted_subtrees() == _pyhanko.ORIGINAL_PERMITTED()


def test_the_speed_fixes_are_in_place_only_while_patched():
    from asn1crypto import core as asn1_core
    from asn1crypto import x509 as ax509
    from pyhanko_certvalidator import validate

    assert asn1_core.Asn1Value.dump is _pyhanko.ORIGINAL_DUMP
    with _pyhanko.patched():
        assert asn1_core.Asn1Value.dump is _pyhanko.asn1_dump
        assert ax509.Name.__eq__ is _pyhanko.name_eq
        assert validate.default_permitted_subtrees is _pyhanko.default_permitted_subtrees
    assert asn1_core.Asn1Value.dump is _pyhanko.ORIGINAL_DUMP
    assert ax509.Name.__eq__ is _pyhanko.ORIGINAL_NAME_EQ
    assert validate.default_permitted_subtrees is _pyhanko.ORIGINAL_PERMITTED


def test_names_with_repeated_or_reordered_attributes_compare_as_the_original():
    from asn1crypto import x509 as ax509

    def rdns(*groups: list[tuple[str, str]]) -> Any:
        return ax509.Name(
            name="",
            value=ax509.RDNSequence(
                [
                    ax509.RelativeDistinguishedName(
                        [
                            ax509.NameTypeAndValue(
                                {
                                    "type": t,
                                    "value": ax509.DirectoryString(name="utf8_string", value=v),
                                }
                            )
                            for t, v in group
                        ]
                    )
                    for group in groups
                ]
            ),
        )

    names = [
        rdns([("common_name", "A"), ("common_name", "A")]),
        rdns([("common_name", "A")]),
        rdns([("common_name", "a ")]),
        rdns([("common_name", "A"), ("organization_name", "B")]),
        rdns([("organization_name", "B"), ("common_name", "A")]),
        rdns([("common_name", "A")], [("organization_name", "B")]),
        rdns([("organization_name", "B")], [("common_name", "A")]),
    ]
    for left in names:
        for right in names:
            assert _pyhanko.name_eq(left, right) == _pyhanko.ORIGINAL_NAME_EQ(left, right)


TOKENS = [
    b"abc def",
    b"abc/def",
    b"abc",  # to the end
    b"",
    b"/",
    b"x" * 200 + b" tail",  # longer than a chunk
    b"x" * 64 + b"(",  # the delimiter just past a chunk
    b"x" * 63 + b"[",
    b"R\n",
    b"true>>",
    b"n%comment",
    b"a\x00b",
    b"\xff\xfe(",
]


@pytest.mark.parametrize("raw", TOKENS)
@pytest.mark.parametrize("start", [0, 1])
def test_tokens_read_up_to_their_delimiter_as_pyhanko_reads_them(raw, start):
    fast, slow = io.BytesIO(raw), io.BytesIO(raw)
    fast.seek(start)
    slow.seek(start)
    assert _pyhanko.read_until_delimiter(fast) == _pyhanko.ORIGINAL_READ_UNTIL_DELIMITER(slow)
    assert fast.tell() == slow.tell()
    assert fast.read() == slow.read()


NAMES = [
    b"Type",
    b"A#20B",
    b"Lime#20Green",
    b"paired#28#29parentheses",
    b"The_Key_of_F#23_Minor",
    b"caf#C3#A9",  # UTF-8 escaped
    b"caf#E9",  # latin-1 escaped
    b"#",  # unterminated escape
    b"A#G0",  # not hex
    b"",
] + [b"A" + bytes([b]) + b"B" for b in range(256)]


@pytest.mark.parametrize("raw", NAMES)
def test_names_decode_as_pyhanko_decodes_them(raw):
    from pyhanko.pdf_utils.misc import PdfReadError

    try:
        expected: Any = _pyhanko.ORIGINAL_DECODE_NAME(raw)
    except PdfReadError as exc:
        expected = type(exc)
    try:
        got: Any = _pyhanko.decode_name(raw)
    except PdfReadError as exc:
        got = type(exc)
    assert got == expected
    assert type(got) is type(expected)


def test_the_reader_fixes_are_in_pyhankos_parser_while_patched():
    with _pyhanko.patched():
        names = [generic.read_object(io.BytesIO(raw), None) for raw in (b"/Page ", b"/A#20B>")]
        assert generic._decode_name is _pyhanko.decode_name
        assert generic.read_until_delimiter is _pyhanko.read_until_delimiter
    assert names == ["/Page", "/A B"]
    assert generic._decode_name is _pyhanko.ORIGINAL_DECODE_NAME
