"""Exact incremental updates after a stamp (docs/security.md, 1, 6, 7, 8; emeterai._revisions).

Attack documents are written byte by byte the way a fraudster would, after a genuine stamp;
where the attack is about what readers show, poppler, MuPDF and PDFium read the attacked file
and must really show the hidden text, while verify must name the exact problem.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emeterai import _revisions as revisions
from emeterai import serial as serials
from emeterai.issuer import Issuer
from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.verify import (
    MODIFIED_AFTER_STAMP,
    SERIAL_REUSED,
    SIGNATURE_INVALID,
    SIGNING_TIME_INVALID,
    UNREADABLE,
    Problem,
    Verifier,
    VerifyResult,
)
from emeterai.wallet import Wallet
from tests.support import attacks
from tests.support.common import PASSPHRASE, require_tool


def codes(result: VerifyResult) -> set[str]:
    return {p.code for p in result.problems}


def only(result: VerifyResult, code: str) -> str:
    """The detail of the one kind of problem ``code``; fails if other codes are reported."""
    assert codes(result) == {code}, [p.to_json() for p in result.problems]
    return "; ".join(p.detail for p in result.problems)


@pytest.fixture
def wallet(wallet_with_stamps) -> Wallet:
    return wallet_with_stamps(3)


@pytest.fixture
def stamped(wallet: Wallet, tmp_path: Path) -> bytes:
    """A letter whose page has a /Helv font (added before stamping), stamped by the product."""
    letter = attacks.make_letter(tmp_path / "letter.pdf")
    src = tmp_path / "lamaran.pdf"
    src.write_bytes(attacks.page_font_resource(letter.read_bytes()))
    out = tmp_path / "lamaran.emeterai.pdf"
    stamp_file(src, out, wallet, wallet.unlock(PASSPHRASE), StampOptions())
    return out.read_bytes()


def shown_by_readers(data: bytes, tmp_path: Path, text: str = attacks.HIDDEN_TEXT) -> set[str]:
    for tool in ("pdftotext", "mutool"):
        require_tool(tool)
    path = tmp_path / f"attack-{hashlib.sha256(data).hexdigest()[:8]}.pdf"
    path.write_bytes(data)
    return {reader for reader, seen in attacks.reader_texts(path).items() if text in seen}


# -- class 1: readers that disagree ---------------------------------------------------------


def test_the_hand_written_metadata_update_is_valid_and_shows_nothing_new(
    stamped, verifier, tmp_path
):
    """Control: the builder's exact update (an /Info change) is allowed and hides nothing."""
    attacked = attacks.hand_update(stamped, hidden_content=False)
    result = verifier.verify(attacked, "meta.pdf")
    assert result.valid, [p.to_json() for p in result.problems]
    assert shown_by_readers(attacked, tmp_path) == set()


@pytest.mark.parametrize("delta", [-3, -6, 2])
def test_a_startxref_a_few_bytes_off_with_unlisted_content_is_modified_after_stamp(
    stamped, verifier, tmp_path, delta
):
    """The update's xref lists only /Info; its body also redefines the page content. With the
    final startxref a few bytes off, lenient readers rebuild the xref from the objects and
    draw the hidden content, while pyHanko's reader corrects the offset and sees /Info."""
    attacked = attacks.hand_update(stamped, startxref_delta=delta)
    assert shown_by_readers(attacked, tmp_path) == {"poppler", "mupdf", "pdfium"}
    result = verifier.verify(attacked, "obo.pdf")
    detail = only(result, MODIFIED_AFTER_STAMP)
    assert "startxref says" in detail


def test_content_in_an_update_body_that_its_xref_does_not_list_is_modified_after_stamp(
    stamped, verifier
):
    detail = only(verifier.verify(attacks.hand_update(stamped), "x.pdf"), MODIFIED_AFTER_STAMP)
    assert "is not listed in that update's xref" in detail


def test_an_object_defined_twice_in_one_update_is_modified_after_stamp(stamped, verifier):
    attacked = attacks.hand_update(stamped, hidden_content=False, define_twice=True)
    detail = only(verifier.verify(attacked, "twice.pdf"), MODIFIED_AFTER_STAMP)
    assert "defined twice in one update" in detail


@pytest.mark.parametrize(
    "tail",
    [
        b"7 0 obj\n<< /Length 4 >>\nstream\nq Q\n\nendstream\nendobj\n",
        b"% a comment is data too\n",
        b"garbage",
    ],
    ids=["object", "comment", "garbage"],
)
def test_data_after_the_final_eof_is_modified_after_stamp(stamped, verifier, tail):
    attacked = attacks.hand_update(stamped, hidden_content=False, tail=tail)
    assert only(verifier.verify(attacked, "tail.pdf"), MODIFIED_AFTER_STAMP)


def test_data_after_the_eof_with_a_broken_startxref_is_shown_by_readers_and_refused(
    stamped, verifier, tmp_path
):
    """A bare object appended after the %%EOF of an /Info update whose startxref is off:
    readers that rebuild take the appended page content."""
    facts = attacks._tail_facts(stamped)
    stream = attacks._content_with_text()
    tail = b"%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
        facts["content"],
        len(stream),
        stream,
    )
    attacked = attacks.hand_update(stamped, hidden_content=False, startxref_delta=-2, tail=tail)
    assert shown_by_readers(attacked, tmp_path) >= {"poppler", "mupdf"}
    assert only(verifier.verify(attacked, "eof.pdf"), MODIFIED_AFTER_STAMP)


def test_trailing_whitespace_after_the_final_eof_stays_valid(stamped, verifier):
    result = verifier.verify(stamped + b"\r\n\n  \n", "ws.pdf")
    assert result.valid, [p.to_json() for p in result.problems]


def test_pyhanko_updates_after_the_stamp_are_exact(stamped, verifier):
    """A later pyHanko signature (xref table here) and pypdf metadata updates read as exact."""
    cosigned = attacks.change_metadata(attacks.cosign(stamped), "Lamaran (final)")
    result = verifier.verify(cosigned, "later.pdf")
    assert result.valid, [p.to_json() for p in result.problems]
    start = attacks._recorded_base_length(stamped)
    layout = revisions.read_updates(cosigned, start)
    assert layout.exact, layout.problem
    assert len(layout.updates) == 3  # the stamp, the signature, the metadata


def test_xref_stream_updates_are_read_exactly(wallet, verifier, tmp_path):
    """A document with object streams (pypdf writes them) gets an xref-stream stamp revision;
    both that and a later signature on it read as exact updates."""
    import pypdf

    letter = attacks.make_letter(tmp_path / "l.pdf")
    writer = pypdf.PdfWriter(clone_from=str(letter))
    with (tmp_path / "objstm.pdf").open("wb") as fh:
        writer.write(fh)
    src = tmp_path / "objstm.pdf"
    out = tmp_path / "objstm.emeterai.pdf"
    stamp_file(src, out, wallet, wallet.unlock(PASSPHRASE), StampOptions())
    data = attacks.cosign(out.read_bytes())
    result = verifier.verify(data, "objstm.pdf")
    assert result.valid, [p.to_json() for p in result.problems]


# -- class 6: the bound document is what comes before the stamp's revision -------------------


def test_a_stamp_over_a_rewrite_that_records_the_original_is_signature_invalid(
    issuer, verifier, tmp_path
):
    original = attacks.make_letter(tmp_path / "a.pdf").read_bytes()
    key = attacks.stamp_key_from_issuer(issuer, PASSPHRASE, serials.generate(issuer.info.prefix))
    attacked = attacks.sign_over_rewrite(original, key)
    assert shown_by_readers(attacked, tmp_path) == {"poppler", "mupdf", "pdfium"}
    result = verifier.verify(attacked, "rewrite.pdf")
    detail = only(result, SIGNATURE_INVALID)
    assert "does not follow the document it records" in detail
    assert not result.stamps[0].genuine  # the ledger never takes it for the original


def test_the_same_crafting_over_the_true_document_is_valid(issuer, verifier, tmp_path):
    """Control: a stamp made the same way, but recording what it really follows, is valid."""
    original = attacks.make_letter(tmp_path / "a.pdf").read_bytes()
    key = attacks.stamp_key_from_issuer(issuer, PASSPHRASE, serials.generate(issuer.info.prefix))
    result = verifier.verify(attacks.stamp_with_key(original, key), "ok.pdf")
    assert result.valid, [p.to_json() for p in result.problems]
    assert result.stamps[0].bound_sha256 == hashlib.sha256(original).hexdigest()


def test_two_stamps_with_one_serial_in_one_file_are_serial_reused(issuer, verifier, tmp_path):
    original = attacks.make_letter(tmp_path / "a.pdf").read_bytes()
    key = attacks.stamp_key_from_issuer(issuer, PASSPHRASE, serials.generate(issuer.info.prefix))
    once = attacks.stamp_with_key(original, key)
    twice = attacks.stamp_with_key(
        once, key, rect=(100, 100, 171, 171), field_name=f"eMeterai_{key.serial}_2"
    )
    result = verifier.verify(twice, "twice.pdf")
    assert [s.serial for s in result.stamps] == [key.serial, key.serial]
    assert SERIAL_REUSED not in {p.code for p in result.stamps[0].problems}
    assert SERIAL_REUSED in {p.code for p in result.stamps[1].problems}
    assert not result.valid


# -- class 7: time ------------------------------------------------------------------------------


def future_signed(issuer: Issuer, tmp_path: Path) -> tuple[bytes, dt.datetime]:
    """A stamp whose certificate has been valid for a day, and its claimed signing time."""
    now = dt.datetime.now(dt.UTC)
    key = attacks.stamp_key_from_issuer(
        issuer,
        PASSPHRASE,
        serials.generate(issuer.info.prefix),
        not_before=now - dt.timedelta(days=1),
    )
    data = attacks.stamp_with_key(attacks.make_letter(tmp_path / "a.pdf").read_bytes(), key)
    return data, now


@pytest.mark.parametrize("minutes", [6, 60 * 12])
def test_a_signing_time_after_the_verification_time_is_signing_time_invalid(
    issuer, home, tmp_path, minutes
):
    data, signed = future_signed(issuer, tmp_path)
    roots = TrustStore(home / "trust").certificates()
    early = Verifier(roots, now=signed - dt.timedelta(minutes=minutes))
    detail = only(early.verify(data, "future.pdf"), SIGNING_TIME_INVALID)
    assert "after the verification time" in detail


def test_a_clock_skew_under_five_minutes_is_accepted(issuer, home, tmp_path):
    data, signed = future_signed(issuer, tmp_path)
    roots = TrustStore(home / "trust").certificates()
    result = Verifier(roots, now=signed - dt.timedelta(minutes=4)).verify(data, "skew.pdf")
    assert result.valid, [p.to_json() for p in result.problems]


# -- class 8: bounded cost ----------------------------------------------------------------------


def many_metadata_updates(data: bytes, n: int) -> bytes:
    for _ in range(n):
        data = attacks.hand_update(data, hidden_content=False)
    return data


def test_more_updates_than_the_limit_are_unreadable_without_analysing_them(stamped, verifier):
    attacked = many_metadata_updates(stamped, revisions.MAX_UPDATES + 5)
    started = time.perf_counter()
    result = verifier.verify(attacked, "many.pdf")
    elapsed = time.perf_counter() - started
    detail = only(result, UNREADABLE)
    assert f"more than {revisions.MAX_UPDATES} updates" in detail
    assert elapsed < 2.0, elapsed  # generous: the limit stops pyHanko's per-revision analysis


def test_updates_up_to_the_limit_stay_valid(stamped, verifier):
    attacked = many_metadata_updates(stamped, revisions.MAX_UPDATES - 1)
    result = verifier.verify(attacked, "limit.pdf")
    assert result.valid, [p.to_json() for p in result.problems]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.lists(
        st.sampled_from(
            [
                b"(",
                b")",
                b"\\",
                b"<<",
                b">>",
                b"[",
                b"]",
                b"<",
                b">",
                b"%",
                b"\n",
                b"1 0 R ",
                b"stream\n",
                b"endstream",
                b"endobj",
                b"obj",
                b"xref",
                b"/N",
                b" 12 ",
                b"\r",
            ]
        ),
        max_size=4000,
    ),
)
def test_the_update_reader_is_linear_and_never_raises_on_hostile_bytes(body):
    """Generated pathological update bodies (unbalanced strings, nested dictionaries, stray
    keywords) are refused with a reason, each within a bound on the work done."""
    data = b"%PDF-1.7\n1 0 obj\n" + b"".join(body)
    started = time.perf_counter()
    layout = revisions.read_updates(data, 9)
    assert time.perf_counter() - started < 1.0
    assert not layout.exact and layout.problem


def test_a_40_kb_unbalanced_string_is_read_in_linear_time():
    data = b"%PDF-1.7\n1 0 obj\n" + b"(" * 40_000 + b"\nendobj\n"
    started = time.perf_counter()
    layout = revisions.read_updates(data, 9)
    assert time.perf_counter() - started < 0.5
    assert layout.problem == "an update holds a string that never ends"


def test_validation_data_and_a_document_timestamp_after_the_stamp_stay_valid(stamped, verifier):
    """pyHanko's own long-term updates (a DSS with the stamp's certificates, then a document
    timestamp from a real TSA over loopback HTTP) are exact updates and keep the stamp valid."""
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import signers
    from pyhanko.sign.timestamps import HTTPTimeStamper
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    from emeterai.verify import UNTRUSTED_TIMESTAMP, Verifier
    from tests.support.tsaserver import running_tsa, tsa_certificate, tsa_identity

    identity = tsa_identity()
    emb = PdfFileReader(io.BytesIO(stamped)).embedded_signatures[0]
    with_dss = io.BytesIO(stamped)
    DocumentSecurityStore.add_dss(
        with_dss,
        emb.sig_object["/Contents"],
        certs=[c.chosen for c in emb.signed_data["certificates"]],
    )
    dss = with_dss.getvalue()
    assert len(dss) > len(stamped) and dss.startswith(stamped)
    with running_tsa(identity=identity) as (url, _requests):
        out = io.BytesIO()
        signers.PdfTimeStamper(HTTPTimeStamper(url)).timestamp_pdf(
            IncrementalPdfFileWriter(io.BytesIO(dss)), md_algorithm="sha256", output=out
        )
    sealed = out.getvalue()
    assert len(PdfFileReader(io.BytesIO(sealed)).embedded_signatures) == 2
    layout = revisions.read_updates(sealed, attacks._recorded_base_length(stamped))
    assert layout.exact, layout.problem
    assert len(layout.updates) == 3  # the stamp, the DSS, the document timestamp
    trusting = Verifier(verifier.trust_roots, tsa_roots=[tsa_certificate(identity)])
    result = trusting.verify(sealed, "sealed.pdf")
    assert result.valid, [p.to_json() for p in result.problems]
    assert result.stamps[0].proven_by is not None
    # a timestamp authority nobody trusts proves nothing, and says so
    untrusted = verifier.verify(sealed, "sealed.pdf")
    assert [p.code for p in untrusted.problems] == [UNTRUSTED_TIMESTAMP]
    assert untrusted.stamps[0].proven_by is None


# -- found by an attacker's review of the checks above ------------------------------------------


def test_a_stamp_revision_whose_prev_skips_the_documents_last_revision_is_signature_invalid(
    issuer, verifier, tmp_path, monkeypatch
):
    """A stamp-file holder points the stamp's /Prev at an older xref section of the bound
    document: readers then show that older revision, not the one the stamp binds."""
    import re

    first = attacks.make_letter(tmp_path / "a.pdf").read_bytes()
    full = attacks.append_page_text(attacks.page_font_resource(first), "TOTAL Rp 1.000")
    oldest = int(re.search(rb"startxref\s+(\d+)", full).group(1))
    key = attacks.stamp_key_from_issuer(issuer, PASSPHRASE, serials.generate(issuer.info.prefix))

    from emeterai import _pyhanko

    class SkippingWriter(_pyhanko.StampWriter):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.prev.last_startxref = oldest

    monkeypatch.setattr(_pyhanko, "StampWriter", SkippingWriter)
    attacked = attacks.stamp_with_key(full, key)
    monkeypatch.undo()
    assert shown_by_readers(full, tmp_path, "TOTAL Rp 1.000") == {"poppler", "mupdf", "pdfium"}
    assert shown_by_readers(attacked, tmp_path, "TOTAL Rp 1.000") == set()
    detail = only(verifier.verify(attacked, "skip.pdf"), SIGNATURE_INVALID)
    assert "cross-reference chain" in detail


def test_an_update_whose_trailer_has_no_root_is_modified_after_stamp(stamped, verifier):
    """Without /Root, poppler rebuilds the xref by scanning (and finds objects hidden in stream
    data), while pyHanko takes /Root from an older trailer."""
    attacked = attacks.hand_update(stamped, hidden_content=False)
    at = attacked.rindex(b"/Root ")
    end = attacked.index(b" R", at) + 2
    attacked = attacked[:at] + b" " * (end - at) + attacked[end:]
    detail = only(verifier.verify(attacked, "noroot.pdf"), MODIFIED_AFTER_STAMP)
    assert "no /Root" in detail


def test_an_xref_stream_with_zero_widths_and_a_huge_index_is_refused_at_once():
    """A 100-byte xref stream with /W [0 0 0] and a count of a billion must not loop."""
    import zlib

    raw = zlib.compress(b"")
    update = (
        b"5 0 obj\n<< /Type /XRef /Size 1000000001 /Root 1 0 R /W [0 0 0] "
        b"/Index [1 1000000000] /Filter /FlateDecode /Length %d >>\nstream\n"
        % len(raw)
        + raw
        + b"\nendstream\nendobj\nstartxref\n9\n%%EOF\n"
    )
    data = b"%PDF-1.7\n" + update
    started = time.perf_counter()
    layout = revisions.read_updates(data, 9)
    assert time.perf_counter() - started < 0.5
    assert layout.problem == "an xref stream is shorter than its /Index says"


@pytest.mark.parametrize("kind", [0, 1, 2, 3, 4], ids=["none", "sub", "up", "average", "paeth"])
def test_png_predictor_rows_decode_as_pypdf_decodes_them(kind):
    """Each PNG predictor row type of an xref stream is undone exactly as pypdf (an independent
    implementation) undoes it."""
    import random
    import zlib

    from pypdf.filters import FlateDecode
    from pypdf.generic import DictionaryObject, NameObject, NumberObject

    rng = random.Random(kind)
    columns = 5
    rows = b"".join(bytes([kind]) + rng.randbytes(columns) for _ in range(200))
    raw = zlib.compress(rows)
    params = {b"/Predictor": 12, b"/Columns": columns}
    ours = revisions._decode({b"/Filter": b"/FlateDecode", b"/DecodeParms": params}, raw, "x")
    theirs = FlateDecode.decode(
        raw,
        DictionaryObject(
            {
                NameObject("/Predictor"): NumberObject(12),
                NameObject("/Columns"): NumberObject(columns),
            }
        ),
    )
    assert ours == theirs


def test_a_predicted_stream_past_its_limit_is_refused():
    import zlib

    rows = (b"\x02" + b"\x00" * 5) * (revisions.MAX_PREDICTED // 6 + 1)
    params = {b"/Predictor": 12, b"/Columns": 5}
    with pytest.raises(revisions.LayoutError, match="too large for its predictor"):
        revisions._decode(
            {b"/Filter": b"/FlateDecode", b"/DecodeParms": params}, zlib.compress(rows), "x"
        )


def test_a_hybrid_update_whose_xrefstm_names_an_object_stream_is_not_exact():
    """/XRefStm must name the update's own cross-reference stream, not another stream of it
    (here an object stream holding a new /Info)."""
    from tests.support.producers import one_page_pdf

    base = one_page_pdf()
    members = b"5 0\n<< /Title (x) >>"
    out = bytearray(base)
    at = len(out)
    out += b"6 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Length %d >>\nstream\n" % len(members)
    out += members + b"\nendstream\nendobj\n"
    xref = len(out)
    prev = revisions.last_startxref(base, len(base))
    out += b"xref\n0 1\n0000000000 65535 f\r\n6 1\n%010d 00000 n\r\n" % at
    out += b"trailer\n<< /Size 7 /Root 1 0 R /Info 5 0 R /Prev %d /XRefStm %d >>\n" % (prev, at)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    layout = revisions.read_updates(bytes(out), len(base))
    assert layout.problem == "an update's /XRefStm does not point at an xref stream in it"


def test_an_xref_object_without_a_stream_is_a_layout_problem_not_a_crash():
    """An update ending in '/Type /XRef' with no stream data once leaked a KeyError past the
    reader, so verify said only 'cannot check the stamp (5)'."""
    base = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    update = b"5 0 obj\n<< /Type /XRef /Size 6 /Root 1 0 R >>\nendobj\nstartxref\n%d\n%%%%EOF\n"
    data = base + update % len(base)
    layout = revisions.read_updates(data, len(base))
    assert not layout.exact
    assert layout.problem and "no stream" in layout.problem, layout.problem


def test_a_layout_problem_reads_indonesian_inside_its_sentence_and_stays_english(indonesian):
    """The reason is a template with its data: English for JSON, translated for a person, also
    when it names a part in words of its own (an xref stream) or follows an earlier update."""
    from emeterai._pdfobjects import Said
    from emeterai.i18n import N_

    data = b"%PDF-1.7\n1 0 obj\n" + b"(" * 100 + b"\nendobj\n"
    layout = revisions.read_updates(data, 9)
    problem = Problem.of(
        MODIFIED_AFTER_STAMP,
        N_("not an exact incremental update: {reason}"),
        reason=layout.problem,
    )
    assert (
        problem.detail
        == "not an exact incremental update: an update holds a string that never ends"
    )
    assert problem.translated() == (
        "bukan pembaruan bertahap yang tepat: ada pembaruan berisi string yang tidak pernah berakhir"
    )
    with pytest.raises(revisions.LayoutError) as caught:
        revisions._decode({b"/Filter": b"/LZWDecode"}, b"", Said(N_("object stream {num}"), num=7))
    assert str(caught.value) == "object stream 7 uses a filter other than FlateDecode"
    assert caught.value.said.translated() == "stream objek 7 memakai filter selain FlateDecode"
    after = Said(
        N_("{what} (after the %%EOF at offset {offset})"), what=caught.value.said, offset=99
    )
    assert (
        after
        == "object stream 7 uses a filter other than FlateDecode (after the %%EOF at offset 99)"
    )
    assert after.translated() == (
        "stream objek 7 memakai filter selain FlateDecode (setelah %%EOF di posisi 99)"
    )
