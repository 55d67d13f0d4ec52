"""The stamp's own picture must be exactly the one emeterai draws (docs/security.md, 5 and 8).

A stamp-file holder signs their own appearance with a genuine stamp key (``attacks``); verify
must call every such picture ``serial-mismatch``. Where the attack is about what readers show,
PDFium renders the widget and zxing-cpp reads its QR code, independently of verify.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emeterai import _picture_check as picture_check
from emeterai import _render as render
from emeterai import serial as serials
from emeterai._render import qr_payload
from emeterai.issuer import Issuer
from emeterai.verify import SERIAL_MISMATCH
from tests.support import attacks
from tests.support.common import PASSPHRASE, PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "samples" / "lamaran.pdf"
RECT = (412.5, 148.8, 483.4, 219.7)


@pytest.fixture
def key(issuer: Issuer):
    return attacks.stamp_key_from_issuer(issuer, PASSPHRASE, issuer.issue(1, PASSPHRASE)[0].serial)


@pytest.fixture
def letter() -> bytes:
    return SAMPLE.read_bytes()


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def other_serial() -> str:
    return serials.generate("T1X")


def assert_serial_mismatch(result) -> None:
    assert not result.valid
    assert {p.code for p in result.problems} == {SERIAL_MISMATCH}, [
        p.to_json() for p in result.problems
    ]


def verdict_of(data: bytes, key, letter: bytes) -> picture_check.PictureVerdict:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    emb = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[0]
    return picture_check.check_picture(
        emb.sig_field, key.serial, digest_of(letter), 10000, "Test Issuer", True, 0
    )


# -- genuine stamps ---------------------------------------------------------------------------


def test_genuine_stamp_passes_and_readers_show_its_qr_code(key, letter, verifier):
    data = attacks.stamp_with_appearance(
        letter, key, attacks.genuine_drawing(key.serial, digest_of(letter)).content
    )
    assert verifier.verify(data, "genuine.pdf").valid
    assert verdict_of(data, key, letter).version == "3"
    shown = attacks.qr_texts(attacks.render_widget(data, RECT))
    assert shown == [qr_payload(key.serial, digest_of(letter))]
    assert key.serial in shown[0]
    assert key.serial in attacks.widget_text(data, RECT)


@pytest.mark.parametrize("version", ["1", "2"])
def test_stamps_of_earlier_picture_versions_stay_valid(key, letter, verifier, tmp_path, version):
    """Stamps made with render.py as released in 0f27461 (v1) and 8e09112 (v2), taken from git
    and imported as a page the way sign.py then did, verify as version 1 and 2."""
    commit = {"1": "0f27461", "2": "8e09112"}[version]
    old = subprocess.run(
        ["git", "show", f"{commit}:emeterai/render.py"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    if not old:
        pytest.skip("no git history")
    (tmp_path / f"render_v{version}.py").write_bytes(old)
    sys.path.insert(0, str(tmp_path))
    try:
        module = __import__(f"render_v{version}")
    finally:
        sys.path.remove(str(tmp_path))
    digest = digest_of(letter)
    picture = module.render(key.serial, 10000, "Test Issuer", digest, True).pdf
    from emeterai._sign import SignOptions, sign

    data = sign(
        letter,
        key,
        picture,
        bytes.fromhex(digest),
        SignOptions(
            field_name=f"eMeterai_{key.serial}",
            reason=f"[{key.serial}] e-Meterai Rp10000",
            page_index=0,
            rect=RECT,
        ),
    )
    assert verifier.verify(data, "old.pdf").valid
    verdict = verdict_of(data, key, letter)
    best_is_fixed = render.qr_matrix(qr_payload(key.serial, digest), None) == render.qr_matrix(
        qr_payload(key.serial, digest)
    )
    assert verdict.version == ("3" if version == "2" and best_is_fixed else version)


# -- pictures a stamp-file holder makes -------------------------------------------------------


@pytest.mark.parametrize("how", ["invisible", "white", "clipped", "zero-font"])
def test_real_serial_hidden_under_another_serials_picture_is_serial_mismatch(
    key, letter, verifier, how
):
    other = other_serial()
    content = attacks.other_picture_with_hidden_serial(key.serial, other, digest_of(letter), how)
    data = attacks.stamp_with_appearance(letter, key, content)
    result = verifier.verify(data, "hidden.pdf")
    assert_serial_mismatch(result)
    assert any("drawing differs" in p.detail or other in p.detail for p in result.problems)
    # readers show the other serial's QR code, not the real one
    assert attacks.qr_texts(attacks.render_widget(data, RECT)) == [
        qr_payload(other, digest_of(letter))
    ]


def test_qr_rectangles_built_and_never_filled_is_serial_mismatch(key, letter, verifier):
    data = attacks.stamp_with_appearance(
        letter, key, attacks.unfilled_qr(key.serial, digest_of(letter))
    )
    result = verifier.verify(data, "unfilled.pdf")
    assert_serial_mismatch(result)
    assert "drawing differs" in result.problems[0].detail
    assert attacks.qr_texts(attacks.render_widget(data, RECT)) == []


def test_qr_code_of_another_payload_is_serial_mismatch(key, letter, verifier):
    other = other_serial()
    content = attacks.qr_of_another_payload(key.serial, digest_of(letter), other)
    data = attacks.stamp_with_appearance(letter, key, content)
    result = verifier.verify(data, "other-qr.pdf")
    assert_serial_mismatch(result)
    assert [p.detail for p in result.problems] == [
        f"the stamp's QR code does not encode serial {key.serial} and this document"
    ]
    assert attacks.qr_texts(attacks.render_widget(data, RECT)) == [
        qr_payload(other, digest_of(letter))
    ]


def test_serial_shown_as_a_hex_string_of_another_serial_is_serial_mismatch(key, letter, verifier):
    other = other_serial()
    content = attacks.hex_string_serial(key.serial, other, digest_of(letter))
    data = attacks.stamp_with_appearance(letter, key, content)
    assert_serial_mismatch(verifier.verify(data, "hex.pdf"))
    assert other in attacks.widget_text(data, RECT)


def test_blank_picture_is_serial_mismatch(key, letter, verifier):
    data = attacks.stamp_with_appearance(letter, key, b"")
    assert_serial_mismatch(verifier.verify(data, "blank.pdf"))
    assert attacks.qr_texts(attacks.render_widget(data, RECT)) == []


def test_genuine_content_with_an_extra_nested_form_is_serial_mismatch(key, letter, verifier):
    content = attacks.genuine_drawing(key.serial, digest_of(letter)).content
    data = attacks.stamp_with_appearance(letter, key, content, nested=(1, 1))
    result = verifier.verify(data, "nested.pdf")
    assert_serial_mismatch(result)
    assert "resources emeterai never uses (/XObject)" in result.problems[0].detail


# -- bounded cost (class 8) -------------------------------------------------------------------


def test_unbalanced_parentheses_are_a_mismatch_at_once(key, letter, verifier):
    data = attacks.stamp_with_appearance(
        letter, key, attacks.unbalanced_parens(key.serial, digest_of(letter))
    )
    started = time.perf_counter()
    assert_serial_mismatch(verifier.verify(data, "parens.pdf"))
    assert time.perf_counter() - started < 2.0
    verdict = verdict_of(data, key, letter)
    genuine = len(attacks.genuine_drawing(key.serial, digest_of(letter)).content)
    assert verdict.forms_visited <= picture_check.MAX_FORMS
    assert verdict.bytes_decoded <= 6 * genuine  # a few bounded reads, never the 40 kB tail


def test_a_child_form_named_many_times_is_never_walked(key, letter, verifier):
    content = attacks.genuine_drawing(key.serial, digest_of(letter)).content
    data = attacks.stamp_with_appearance(letter, key, content, nested=(12, 40))
    assert len(data) - len(letter) < 60_000
    started = time.perf_counter()
    assert_serial_mismatch(verifier.verify(data, "fanout.pdf"))
    assert time.perf_counter() - started < 2.0
    assert verdict_of(data, key, letter).forms_visited == 2


def _widget(content: bytes, inner_extra: dict | None = None):
    """An in-memory widget whose appearance is pyHanko's wrapper around a picture form drawing
    ``content`` with the genuine picture's resources (no file, no signature)."""
    from pyhanko.pdf_utils import generic as g

    n = g.NameObject
    drawing = attacks.genuine_drawing("T1X0000000000000000001", "ab" * 32)
    fonts = g.DictionaryObject(
        {
            n(name): g.DictionaryObject(
                {
                    n("/Type"): n("/Font"),
                    n("/Subtype"): n("/Type1"),
                    n("/BaseFont"): n("/" + base),
                    n("/Encoding"): n("/WinAnsiEncoding"),
                    n("/Name"): n(name),
                }
            )
            for name, base in drawing.fonts
        }
    )
    states = g.DictionaryObject(
        {
            n(name): g.DictionaryObject({n(k): g.FloatObject(v) for k, v in entries})
            for name, entries in drawing.ext_gstates
        }
    )
    inner = g.StreamObject(
        {
            n("/Type"): n("/XObject"),
            n("/Subtype"): n("/Form"),
            n("/BBox"): g.ArrayObject(g.FloatObject(v) for v in (0, 0, 70.86614, 70.86614)),
            n("/Resources"): g.DictionaryObject({n("/Font"): fonts, n("/ExtGState"): states}),
            **(inner_extra or {}),
        },
        stream_data=content,
    )
    name = "/Import" + "0" * 32
    outer = g.StreamObject(
        {
            n("/Type"): n("/XObject"),
            n("/Subtype"): n("/Form"),
            n("/BBox"): g.ArrayObject(g.FloatObject(v) for v in (0, 70, 70, 0)),
            n("/Resources"): g.DictionaryObject(
                {
                    n("/ExtGState"): g.DictionaryObject(
                        {
                            n("/BackgroundGS"): g.DictionaryObject(
                                {n("/CA"): g.NumberObject(1), n("/ca"): g.NumberObject(1)}
                            )
                        }
                    ),
                    n("/XObject"): g.DictionaryObject({n(name): inner}),
                }
            ),
        },
        stream_data=b"q q /BackgroundGS gs 1 0 0 1 0 0 cm " + name.encode() + b" Do Q Q",
    )
    return g.DictionaryObject(
        {
            n("/AP"): g.DictionaryObject({n("/N"): outer}),
            n("/Rect"): g.ArrayObject(g.FloatObject(v) for v in RECT),
        }
    )


def _check(content: bytes) -> picture_check.PictureVerdict:
    return picture_check.check_picture(
        _widget(content), "T1X0000000000000000001", "ab" * 32, 10000, "Test Issuer", True, 0
    )


def test_the_in_memory_widget_of_the_genuine_drawing_passes():
    genuine = attacks.genuine_drawing("T1X0000000000000000001", "ab" * 32).content
    assert _check(genuine).genuine


_PIECES = st.sampled_from(
    [
        b"(",
        b")",
        b"\\",
        b"<",
        b">",
        b"[",
        b"]",
        b" Tj",
        b" TJ",
        b" re",
        b" f",
        b" W n",
        b" 3 Tr",
        b" 0 Tf",
        b" q",
        b" Q",
        b" BT",
        b" ET",
        b" /N0 Do",
        b" 1.5",
        b"\n",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(_PIECES, min_size=1, max_size=40),
    repeat=st.integers(min_value=1, max_value=4000),
    keep=st.integers(min_value=0, max_value=12_000),
)
def test_generated_pathological_appearances_are_mismatches_with_bounded_work(pieces, repeat, keep):
    genuine = attacks.genuine_drawing("T1X0000000000000000001", "ab" * 32).content
    content = genuine[:keep] + b"".join(pieces) * repeat
    if content == genuine:
        return
    verdict = _check(content)
    assert not verdict.genuine and verdict.mismatches
    assert verdict.forms_visited <= picture_check.MAX_FORMS
    assert verdict.bytes_decoded <= 6 * len(genuine)
    assert verdict.generated <= 6
