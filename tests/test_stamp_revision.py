"""The stamp's own revision adds the stamp and nothing else (docs/security.md, 6;
emeterai._stamp_revision).

Each attack is made with a genuine stamp key through the product's own signer, its edit written
into the same incremental update as the stamp; the bound document is untouched, so the stamp's
binding, QR code and the ledger describe it. poppler, MuPDF and PDFium must really show the
edit, and verify must call the stamp ``signature-invalid`` and not genuine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_revisions import shown_by_readers

from emeterai import _pyhanko as pyhanko_hooks
from emeterai import serial as serials
from emeterai.issuer import Issuer
from emeterai.verify import SIGNATURE_INVALID, VerifyResult
from emeterai.wallet import StampKey
from tests.support import attacks
from tests.support.common import PASSPHRASE, require_tool


def own_revision_details(result: VerifyResult) -> list[str]:
    return [
        p.detail
        for p in result.problems
        if p.code == SIGNATURE_INVALID and p.detail.startswith("the stamp's revision")
    ]


@pytest.fixture
def key(issuer: Issuer) -> StampKey:
    return attacks.stamp_key_from_issuer(issuer, PASSPHRASE, serials.generate(issuer.info.prefix))


@pytest.fixture
def letter(tmp_path: Path) -> bytes:
    """A letter whose page has a /Helv font, as an attacker prepares it before stamping."""
    made = attacks.make_letter(tmp_path / "letter.pdf").read_bytes()
    return attacks.page_font_resource(made)


EDITS: list[tuple[Callable[[Any], None], str, set[str]]] = [
    (attacks.rewrite_content_in_place, "changes object", {"poppler", "mupdf", "pdfium"}),
    (
        attacks.append_content_stream,
        "changes /Contents in the stamp's page",
        {"poppler", "mupdf", "pdfium"},
    ),
    (attacks.replace_page_tree, "changes /Pages in the catalog", {"poppler", "mupdf", "pdfium"}),
    (attacks.add_free_text, "changes the page's annotation list", {"mupdf"}),
]


@pytest.mark.parametrize(
    ("edit", "expected", "readers"), EDITS, ids=[edit.__name__ for edit, _, _ in EDITS]
)
def test_an_edit_in_the_stamps_own_revision_is_signature_invalid(
    letter, key, verifier, tmp_path, edit, expected, readers
):
    attacked = attacks.stamp_with_own_edit(letter, key, edit)
    assert readers <= shown_by_readers(attacked, tmp_path)
    assert shown_by_readers(letter, tmp_path) == set()
    result = verifier.verify(attacked, "edited.pdf")
    details = own_revision_details(result)
    assert any(expected in d for d in details), [p.to_json() for p in result.problems]
    stamp = result.stamps[0]
    assert not stamp.genuine and not result.valid
    # the binding alone still describes the untouched letter: only this check catches it
    assert stamp.bound_sha256 == hashlib.sha256(letter).hexdigest()


def test_a_stamp_that_defines_an_object_the_document_names_is_signature_invalid(
    key, verifier, tmp_path
):
    """The letter's page lists a content stream that no object defines (null to every reader);
    the stamp's revision defines it: the rewrite appears only once the stamp is added."""
    original = attacks.dangling_reference_letter()
    assert shown_by_readers(original, tmp_path) == set()
    attacked = attacks.stamp_with_own_edit(original, key, attacks.define_dangling_object)
    assert shown_by_readers(attacked, tmp_path) == {"poppler", "mupdf", "pdfium"}
    details = own_revision_details(verifier.verify(attacked, "dangling.pdf"))
    assert any("defines object 6, which object 3 of the document refers to" in d for d in details)


def test_xmp_that_is_also_page_content_cannot_be_rewritten_by_the_stamp(key, verifier, tmp_path):
    """The letter's XMP stream is also its page's second content stream; the stamp's revision
    rewrites the 'metadata', which pyHanko's writer is allowed to update."""
    original = attacks.metadata_as_content_letter()
    assert shown_by_readers(original, tmp_path) == set()
    attacked = attacks.stamp_with_own_edit(original, key, attacks.rewrite_metadata_as_content)
    assert shown_by_readers(attacked, tmp_path) == {"poppler", "mupdf", "pdfium"}
    details = own_revision_details(verifier.verify(attacked, "xmp.pdf"))
    assert any("changes object 6, which object 3 of the document also uses" in d for d in details)


def test_genuine_stamps_on_the_crafted_letters(key, verifier):
    """Controls, so that the attacks above fail because of their edit only. A genuine stamp
    on the XMP letter is valid: the signer writes updated XMP as a new object. On the letter
    that names an undefined object, pyHanko's first new object takes that number, so even a
    genuine stamp would change the page: verify refuses it, and ``stamp`` refuses to spend a
    stamp on it (its self-check)."""
    result = verifier.verify(
        attacks.stamp_with_key(attacks.metadata_as_content_letter(), key), "xmp.pdf"
    )
    assert result.valid, [p.to_json() for p in result.problems]
    result = verifier.verify(
        attacks.stamp_with_key(attacks.dangling_reference_letter(), key), "dangling.pdf"
    )
    assert any("defines object 6" in d for d in own_revision_details(result))


def test_a_second_stamp_keeps_both_stamps_valid(letter, key, issuer, verifier):
    once = attacks.stamp_with_key(letter, key)
    other = attacks.stamp_key_from_issuer(issuer, PASSPHRASE, serials.generate(issuer.info.prefix))
    twice = attacks.stamp_with_key(once, other, rect=(100, 100, 171, 171))
    result = verifier.verify(twice, "twice.pdf")
    assert result.valid and len(result.stamps) == 2, [p.to_json() for p in result.problems]


def test_live_objects_follows_pyhankos_resolution(letter, key):
    """Contract with pyHanko's internals (``emeterai._pyhanko``): every object pyHanko
    resolves in a revision is listed, at the offset pyHanko reads it from, and a later
    revision's redefinition replaces the earlier one."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.reader import PdfFileReader

    stamped = attacks.stamp_with_key(letter, key)
    reader = PdfFileReader(io.BytesIO(stamped), strict=False)
    last = reader.xrefs.total_revisions - 1
    live = pyhanko_hooks.live_objects(reader, last)
    every = set()
    for revision in range(last + 1):
        every |= {(r.idnum, r.generation) for r in reader.xrefs.explicit_refs_in_revision(revision)}
    assert set(live) == every - {(0, 65535)}
    for (num, gen), loc in live.items():
        assert isinstance(loc, int)
        assert reader.xrefs.get_historical_ref(generic.Reference(num, gen), last) == loc
        assert stamped[loc:].startswith(b"%d %d obj" % (num, gen))
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    redefined = (page.container_ref.idnum, page.container_ref.generation)
    first = pyhanko_hooks.live_objects(reader, 0)[redefined]
    assert first != live[redefined]  # the stamp rewrote the page (its /Annots)


def test_live_objects_reads_object_streams(tmp_path):
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    require_tool("qpdf")
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(attacks.dangling_reference_letter().replace(b"6 0 R]", b"]"))
    packed = tmp_path / "packed.pdf"
    import subprocess

    done = subprocess.run(["qpdf", "--object-streams=generate", str(plain), str(packed)])
    assert done.returncode in (0, 3)  # 3: written, with warnings
    reader = PdfFileReader(io.BytesIO(packed.read_bytes()), strict=False)
    live = pyhanko_hooks.live_objects(reader, reader.xrefs.total_revisions - 1)
    assert any(isinstance(loc, pyhanko_hooks.InStream) for loc in live.values())


# -- bounded cost (class 8) -------------------------------------------------------------------


def many_objects_letter(count: int) -> bytes:
    """A one-page letter with ``count`` extra objects, each holding a string (so that each is
    read by the tokenizer, not by the byte search)."""
    from tests.support.producers import raw_pdf

    content = b"BT /F1 12 Tf 72 720 Td (Surat lamaran) Tj ET"
    objects = [
        (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        (
            3,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
            b" /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont"
            b" /Helvetica >> >> >> >>",
        ),
        (4, b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"),
    ]
    objects += [(n, b"<< /T (x%d) /P 3 0 R >>" % n) for n in range(5, 5 + count)]
    return raw_pdf(objects)


def test_a_letter_of_many_small_objects_is_checked_within_the_bound(key, verifier):
    import time

    original = many_objects_letter(14_000)
    assert len(original) < 1_000_000
    stamped = attacks.stamp_with_key(original, key)
    started = time.perf_counter()
    result = verifier.verify(stamped, "many.pdf")
    elapsed = time.perf_counter() - started
    assert result.valid, [p.to_json() for p in result.problems]
    assert elapsed < 2.0, elapsed  # the bound for any input under 1 MB


def test_objects_that_are_not_where_pyhanko_says_stop_the_referrer_search_at_its_limit():
    """pyHanko's reader corrects misplaced xref entries of a letter itself, so the limit on
    objects read through pyHanko is exercised with the object table handed over one byte early:
    every object then takes the slow path, and the search stops past the limit."""
    import io
    import time

    from pyhanko.pdf_utils.reader import PdfFileReader

    from emeterai import _stamp_revision as stamp_revision

    data = many_objects_letter(3 * stamp_revision.MAX_SLOW_READS)
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    live = pyhanko_hooks.live_objects(reader, 0)
    before = reader.get_historical_resolver(0)
    assert stamp_revision._referrers(data, before, live, {3}).get(3)  # the objects name page 3
    shifted = {key: loc - 1 for key, loc in live.items() if isinstance(loc, int)}
    started = time.perf_counter()
    with pytest.raises(stamp_revision.Uncomparable, match="more than 1000 objects"):
        stamp_revision._referrers(data, before, shifted, {3})
    assert time.perf_counter() - started < 2.0


def test_the_byte_search_is_linear_on_long_runs_of_digits():
    """A signature's /Contents is a hex string padded with zeros; an ambiguous pattern took
    minutes on a corpus file with one (pades-lta-dss-indirect-arrs-test.pdf)."""
    import time

    from emeterai import _stamp_revision as stamp_revision

    value = b"<< /Contents <" + b"0" * 400_000 + b"> /V 0012 0 R >>\nendobj\n"
    started = time.perf_counter()
    assert stamp_revision.watched_numbers({12}).search(value)
    assert not stamp_revision.watched_numbers({13}).search(value)
    assert not stamp_revision.watched_numbers({12}).search(b"[112 0 R 12.5 120 0 R]")
    assert stamp_revision.watched_numbers({12}).search(b"[-012 0 R]")
    assert time.perf_counter() - started < 2.0


# -- found by review: what the referrer search must not read past or take for nothing ---------


def _define_object_7(writer: Any) -> None:
    from pyhanko.pdf_utils import generic

    made = writer.add_object(generic.StreamObject(stream_data=attacks._content_with_text()))
    assert made.idnum == 7


ENTRIES = [
    (b"7 0 R", "defines object 7, which object 5", {"poppler", "mupdf", "pdfium"}),
    (b"007 0 R", "defines object 7, which object 5", {"poppler", "mupdf", "pdfium"}),
    (b"7 +0 R", "object 5 of the document cannot be read exactly", {"poppler", "mupdf", "pdfium"}),
    (b"7 0R", "object 5 of the document cannot be read exactly", {"poppler"}),
    (b"endobj 7 0 R", "object 5 of the document cannot be read exactly", {"mupdf"}),
    (b"< endobj> 7 0 R", "defines object 7, which object 5", {"mupdf", "pdfium"}),
    (b"() 7 0 R foo", "object 5 of the document cannot be read exactly", {"mupdf", "pdfium"}),
]


@pytest.mark.parametrize(
    ("entry", "expected", "readers"), ENTRIES, ids=[e.decode() for e, _, _ in ENTRIES]
)
def test_a_reference_in_any_syntax_a_reader_takes_is_found_or_refused(
    key, verifier, tmp_path, entry, expected, readers
):
    """The letter's page lists an array that names object 7 in a syntax some reader takes for
    a reference (or behind a stray token); the stamp's revision defines object 7."""
    original = attacks.array_contents_letter(entry)
    assert shown_by_readers(original, tmp_path) == set()
    attacked = attacks.stamp_with_own_edit(original, key, _define_object_7)
    assert readers <= shown_by_readers(attacked, tmp_path)
    result = verifier.verify(attacked, "syntax.pdf")
    assert any(expected in d for d in own_revision_details(result)), [
        p.to_json() for p in result.problems
    ]
    assert not result.stamps[0].genuine


@pytest.mark.parametrize(
    ("members", "length_delta", "expected", "readers"),
    [
        ([b"[4 0 R 9 0 R]", b"[4 0 R]"], 0, "lists an object twice", {"mupdf"}),
        ([b"[4 0 R 9 0 R]"], -5, "/Length does not end at its endstream", {"mupdf", "pdfium"}),
    ],
    ids=["object-listed-twice", "short-length"],
)
def test_an_object_stream_read_differently_by_readers_is_refused(
    key, verifier, tmp_path, members, length_delta, expected, readers
):
    """The letter's page content list (object 6) sits in an object stream; the stamp's revision
    defines object 9 (its first new object: /Size is 8), which one reading of it names."""
    original = attacks.object_stream_letter(members, length_delta)
    attacked = attacks.stamp_with_own_edit(original, key, attacks.define_dangling_object)
    assert readers <= shown_by_readers(attacked, tmp_path)
    result = verifier.verify(attacked, "objstm.pdf")
    assert any(expected in d for d in own_revision_details(result)), [
        p.to_json() for p in result.problems
    ]


def test_a_control_object_stream_letter_stamps_valid(key, verifier):
    result = verifier.verify(
        attacks.stamp_with_key(attacks.object_stream_letter([b"[4 0 R]"]), key), "ok.pdf"
    )
    assert result.valid, [p.to_json() for p in result.problems]


def test_a_duplicate_key_in_the_stamps_revision_is_signature_invalid(
    letter, key, verifier, tmp_path
):
    """pyHanko keeps the first of two /Contents keys, readers the other: the page looks
    changed only in /Annots to pyHanko."""
    attacked = attacks.stamp_with_duplicate_page_key(letter, key)
    assert shown_by_readers(attacked, tmp_path) == {"poppler", "mupdf", "pdfium"}
    result = verifier.verify(attacked, "duplicate.pdf")
    assert any(
        "names /Contents twice" in p.detail for p in result.problems if p.code == SIGNATURE_INVALID
    ), [p.to_json() for p in result.problems]
    assert not result.stamps[0].genuine


def test_objects_that_each_open_a_string_are_read_in_linear_time(key, verifier):
    import time

    original = attacks.unterminated_strings_letter(20_000)
    assert len(original) < 1_000_000
    stamped = attacks.stamp_with_key(original, key)
    started = time.perf_counter()
    result = verifier.verify(stamped, "strings.pdf")
    assert time.perf_counter() - started < 2.0  # was 431 s: each object read to the file's end
    assert result.stamps and result.stamps[0].serial == key.serial


@pytest.mark.parametrize(
    ("edit", "english", "indonesian_words"),
    [
        (
            attacks.replace_page_tree,
            "changes /Pages in the catalog,",
            "Revisi meterai mengubah /Pages di katalog dokumen,",
        ),
        (attacks.add_free_text, "changes the page's annotation list", "daftar anotasi halaman"),
        (attacks.rewrite_content_in_place, "of the document (a stream)", "(sebuah stream)"),
    ],
    ids=["catalog", "annotations", "kind"],
)
def test_what_the_stamps_revision_changes_reads_indonesian_with_its_nouns(
    letter, key, verifier, indonesian, edit, english, indonesian_words
):
    """The sentence and the nouns inside it (the catalog, the annotation list, the kind of
    object) are translated for a person; the detail JSON carries stays English."""
    result = verifier.verify(attacks.stamp_with_own_edit(letter, key, edit), "edited.pdf")
    (problem,) = [p for p in result.problems if english in p.detail]
    assert indonesian_words in problem.translated()
    for word in ("catalog", "annotation list", "a stream", "beyond adding"):
        assert word not in problem.translated()
