"""Repair helpers (emeterai/_repair.py) that the robustness tests reach only through stamping."""

from __future__ import annotations

import io

from emeterai._repair import JoinedBytes, unparseable_object
from tests.support import producers


def test_joined_bytes_reads_and_seeks_like_one_file():
    parts = (b"0123456789", b"", b"abcdef", b"XYZ")
    whole = b"".join(parts)
    joined = io.BufferedReader(JoinedBytes(parts), buffer_size=4)
    assert joined.read() == whole
    for offset in (0, 3, 9, 10, 15, 16, 18, 19, 40):
        joined.seek(offset)
        assert joined.read(5) == whole[offset : offset + 5], offset
    joined.seek(-4, io.SEEK_END)
    assert joined.read() == whole[-4:]
    joined.seek(2)
    joined.seek(7, io.SEEK_CUR)
    assert joined.tell() == 9 and joined.read(3) == b"9ab"


def test_unparseable_object_reads_a_document_given_in_parts():
    letter = producers.letter_pdf(1)
    assert unparseable_object(letter) is None
    assert unparseable_object((letter[:100], letter[100:])) is None
    broken = producers.one_page_pdf(extra=b" /X#4y true")  # one hex digit: not a name
    assert unparseable_object(broken) is not None
    assert unparseable_object((broken[:50], broken[50:])) is not None


def test_a_rebuilt_table_for_one_far_object_number_is_refused_not_allocated():
    """One row per object number up to the highest: a 70-byte file naming object 5000000 once
    came back as a 100 MB table (and 9999999999 would need 200 GB). The verifier rebuilds the
    table of any file it is given, so this is a denial of service unless refused."""
    import pytest

    from emeterai._repair import MAX_REBUILT_ENTRIES, append_rebuilt_xref, repair
    from emeterai.errors import PdfError

    far = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n5000000 0 obj\n<< >>\nendobj\n"
    assert MAX_REBUILT_ENTRIES < 5000000 and len(far) // 4 < 5000000
    with pytest.raises(PdfError, match="too sparse"):
        append_rebuilt_xref(far)
    with pytest.raises(PdfError) as info:
        repair(far + b"startxref\n999\n%%EOF\n", "far.pdf")
    assert info.value.path == "far.pdf"
    near = far.replace(b"5000000 0 obj", b"3 0 obj")
    rebuilt = append_rebuilt_xref(near)
    assert rebuilt.startswith(near) and b"xref\n0 4\n" in rebuilt


def test_what_a_repair_found_reads_indonesian_and_stays_english_for_json(indonesian):
    """structure_problem's own sentences keep their template: the stamp record's repair (and
    the error that quotes it) read in a person's language, JSON keeps the English."""
    from emeterai._repair import APPENDED, repair, structure_problem

    sloppy = producers.sloppy_xref(producers.letter_pdf(1))
    problem = structure_problem(sloppy)
    assert problem == "1 cross-reference entry points at the wrong place"
    assert problem.translated() == "1 entri referensi silang menunjuk ke tempat yang salah"  # type: ignore[union-attr]
    repaired = repair(sloppy, "sloppy.pdf")
    assert repaired is not None and repaired.method == APPENDED
    assert repaired.reason.translated() == problem.translated()  # type: ignore[attr-defined]
    letter = producers.letter_pdf(1)
    cut = repair(letter[: letter.rfind(b"%%EOF")], "cut.pdf")  # no %%EOF at all
    assert cut is not None and cut.reason == "the file is cut short: no %%EOF marker at its end"
    assert cut.reason.translated() == "berkas terpotong: tidak ada penanda %%EOF di akhirnya"  # type: ignore[attr-defined]
    tail = repair(letter + b"\n" + b"x" * 3000, "tail.pdf")
    extra = len(letter) - letter.rfind(b"%%EOF") - 5 + 3001
    assert tail is not None
    assert tail.reason == f"{extra} bytes of something else follow its last %%EOF marker"
    assert tail.reason.translated() == (  # type: ignore[attr-defined]
        f"ada {extra} byte data lain setelah penanda %%EOF terakhirnya"
    )
