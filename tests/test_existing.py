"""``emeterai._existing``: the stamps an input already carries, found as the verifier finds
them, and hostile form trees that must not make the search (or pyHanko's) run for hours."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pypdf
import pytest
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from emeterai.errors import AlreadyStamped, PdfError
from emeterai.stamp import StampOptions, analyse
from tests.support import attacks, pdfmakers
from tests.support.common import PASSPHRASE


def _shared_kids_form(path: Path, depth: int) -> Path:
    """A one-page PDF whose form fields are a chain of ``depth`` nodes, each listing the next
    one twice in its /Kids: 2**depth paths to the leaf for a walk that does not remember."""
    source = pdfmakers.plain_pdf(path.with_name("plain-" + path.name), placeholder_page=1)
    writer = pypdf.PdfWriter(clone_from=str(source))
    leaf = writer._add_object(DictionaryObject({NameObject("/T"): TextStringObject("leaf")}))
    node = leaf
    for i in range(depth):
        node = writer._add_object(
            DictionaryObject(
                {
                    NameObject("/T"): TextStringObject(f"f{i}"),
                    NameObject("/Kids"): ArrayObject([node, node]),
                }
            )
        )
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([node])}
    )
    with path.open("wb") as f:
        writer.write(f)
    return path


@pytest.mark.parametrize("command", ["stamp", "verify"])
def test_a_form_tree_with_shared_kids_is_refused_at_once(tmp_path, command):
    """Before: 34 levels of /Kids [n n] made pyHanko's field enumeration (and the stamped-input
    search) visit 2**34 nodes: `stamp --dry-run` and `verify` ran for hours."""
    hostile = _shared_kids_form(tmp_path / "garpu.pdf", 34)
    args = ["stamp", "--dry-run", str(hostile)] if command == "stamp" else ["verify", str(hostile)]
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "emeterai", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"EMETERAI_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
    )
    assert time.monotonic() - start < 60
    assert proc.returncode == 1, proc.stderr
    assert "reaches one field twice" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_form_tree_a_little_deep_is_still_stamped(tmp_path):
    """Depth alone is no reason to refuse: a field chain without sharing is read normally."""
    source = pdfmakers.plain_pdf(tmp_path / "x.pdf", placeholder_page=1)
    writer = pypdf.PdfWriter(clone_from=str(source))
    node = writer._add_object(DictionaryObject({NameObject("/T"): TextStringObject("leaf")}))
    for i in range(20):
        node = writer._add_object(
            DictionaryObject(
                {
                    NameObject("/T"): TextStringObject(f"f{i}"),
                    NameObject("/Kids"): ArrayObject([node]),
                }
            )
        )
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([node])}
    )
    out = io.BytesIO()
    writer.write(out)
    analysis = analyse(out.getvalue(), "deep.pdf", StampOptions())
    assert analysis.placement.method == "placeholder"


def test_a_stamp_whose_field_type_is_inherited_is_still_found(wallet_with_stamps, tmp_path):
    """pyHanko (the verifier) inherits a field's /FT from its parent; the stamped-input search
    must too, or a second stamp would be spent on a stamped document."""
    from emeterai.stamp import stamp_file

    wallet = wallet_with_stamps(1)
    source = pdfmakers.plain_pdf(tmp_path / "x.pdf", placeholder_page=1)
    out = tmp_path / "x.emeterai.pdf"
    result = stamp_file(source, out, wallet, wallet.unlock(PASSPHRASE), StampOptions())

    def move_type_to_a_parent(writer):
        form = writer._root_object["/AcroForm"].get_object()
        (stamp_ref,) = [f for f in form["/Fields"] if f.get_object().get("/FT") == "/Sig"]
        stamp_field = stamp_ref.get_object()
        del stamp_field[NameObject("/FT")]
        parent = writer._add_object(
            DictionaryObject(
                {
                    NameObject("/FT"): NameObject("/Sig"),
                    NameObject("/T"): TextStringObject("meterai"),
                    NameObject("/Kids"): ArrayObject([stamp_ref]),
                }
            )
        )
        stamp_field[NameObject("/Parent")] = parent
        form[NameObject("/Fields")] = ArrayObject(
            [f for f in form["/Fields"] if f != stamp_ref] + [parent]
        )

    moved = attacks._incremental(out.read_bytes(), move_type_to_a_parent)
    with pytest.raises(AlreadyStamped) as info:
        analyse(moved, "moved.pdf", StampOptions())
    assert result.serial in info.value.message


def test_a_field_tree_problem_is_a_pdf_error_naming_the_file(tmp_path):
    hostile = _shared_kids_form(tmp_path / "garpu.pdf", 3)
    with pytest.raises(PdfError) as info:
        analyse(hostile.read_bytes(), str(hostile), StampOptions())
    assert info.value.path == str(hostile)
    assert "reaches one field twice" in info.value.message
