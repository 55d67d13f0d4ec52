"""Verification's problems and errors read in Indonesian for a person while their English
detail (what JSON carries) stays the same in every language."""

from __future__ import annotations

import pytest

from emeterai._pdfobjects import field_tree_problem
from emeterai._picture_check import check_picture
from emeterai.errors import ConfigError
from emeterai.verify import UNREADABLE, Verifier, _problem


def test_unreadable_problem_reads_indonesian_and_json_stays_english(indonesian: None) -> None:
    result = Verifier([]).verify(b"", "kosong.pdf")
    problem = result.problems[0]
    assert problem.translated() == "berkas ini kosong"
    assert problem.detail == "the file is empty"
    assert problem.to_json() == {"code": UNREADABLE, "detail": "the file is empty"}


def test_problem_with_data_keeps_the_data_untranslated(indonesian: None) -> None:
    result = Verifier([]).verify(b"%PDF-1.7\n{oops}", "rusak.pdf")
    problem = result.problems[0]
    assert problem.detail.startswith("cannot read the PDF (")
    assert problem.translated().startswith("PDF tidak dapat dibaca (")
    reason = problem.detail.removeprefix("cannot read the PDF (")
    assert problem.translated().endswith(reason)


def test_config_error_reads_indonesian(indonesian: None) -> None:
    with pytest.raises(ConfigError) as caught:
        Verifier([], crl=b"not a crl")
    assert caught.value.message == "not an X.509 CRL (PEM or DER)"
    assert caught.value.translated() == "bukan CRL X.509 (PEM atau DER)"


def test_picture_and_form_checks_read_indonesian(indonesian: None) -> None:
    (why,) = check_picture({}, "X", None, 10000, "Penerbit", False).mismatches
    picture = _problem(UNREADABLE, why)
    assert picture.detail == (
        "the stamp records no document digest, so its QR code cannot be checked"
    )
    assert picture.translated() == (
        "meterai tidak mencatat sidik dokumen, jadi kode QR-nya tidak dapat diperiksa"
    )
    shared: dict[str, object] = {}
    cyclic = field_tree_problem([shared, shared])
    assert cyclic is not None
    form = _problem(UNREADABLE, cyclic)
    assert form.detail.startswith("the form's field tree reaches one field twice")
    assert form.translated().startswith("susunan kolom formulir mencapai satu kolom dua kali")
