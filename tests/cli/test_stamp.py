"""`emeterai stamp` on the command line (README): output names (default, ``-o``,
``--out-dir``), ``--force``, ``--dry-run`` with ``--preview``, a batch with a bad file, and the
usage checks made before anything is spent.
"""

from __future__ import annotations

import pytest
from PIL import Image

from emeterai import serial as serials
from emeterai.cli import app
from tests.support import pdfmakers
from tests.support.stamping import (
    _error_lines,
    _sha256,
    _states,
    _temp_files,
    magenta_mask,
)

# == outputs, --force, --dry-run and batches ===================================================


def test_output_names_default_o_and_out_dir(kit):
    folder = kit.folder("naming")
    source = pdfmakers.plain_pdf(folder / "x.pdf", placeholder_page=1)
    digest = _sha256(source)

    result, records = kit.stamp(source)
    assert result.exit_code == 0, result.stderr
    assert records[0]["output"] == str(folder / "x.emeterai.pdf")
    assert (folder / "x.emeterai.pdf").is_file()

    custom = folder / "hasil" / "surat-bermeterai.pdf"
    custom.parent.mkdir()
    result, records = kit.stamp(source, "-o", custom)
    assert result.exit_code == 0, result.stderr
    assert records[0]["output"] == str(custom) and custom.is_file()

    out_dir = folder / "keluar" / "baru"  # created on demand
    result, records = kit.stamp(source, "--out-dir", out_dir)
    assert result.exit_code == 0, result.stderr
    assert records[0]["output"] == str(out_dir / "x.emeterai.pdf")
    assert (out_dir / "x.emeterai.pdf").is_file()

    assert _sha256(source) == digest, "the input was modified"
    assert sorted(p.name for p in folder.iterdir()) == [
        "hasil",
        "keluar",
        "x.emeterai.pdf",
        "x.pdf",
    ]
    verdicts = [
        kit.verifier().verify(p.read_bytes(), str(p))
        for p in (folder / "x.emeterai.pdf", custom, out_dir / "x.emeterai.pdf")
    ]
    assert all(v.valid for v in verdicts)
    assert len({v.stamps[0].serial for v in verdicts}) == 3


def test_existing_output_is_not_overwritten_without_force(kit):
    folder = kit.folder("exists")
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    existing = folder / "x.emeterai.pdf"
    existing.write_bytes(b"an earlier result\n")
    available = sum(s == "available" for s in _states(kit.wallet).values())

    result, records = kit.stamp(source)
    assert result.exit_code == 1
    (error,) = _error_lines(result.stderr)
    assert error.endswith(f"{existing}: already exists (use --force to overwrite)")
    assert str(source) in error
    assert existing.read_bytes() == b"an earlier result\n"
    assert sum(s == "available" for s in _states(kit.wallet).values()) == available
    assert _temp_files(folder) == []

    result, records = kit.stamp(source, "--force")
    assert result.exit_code == 0, result.stderr
    assert existing.read_bytes().startswith(source.read_bytes())
    assert kit.verifier().verify(existing.read_bytes(), str(existing)).valid
    assert sum(s == "available" for s in _states(kit.wallet).values()) == available - 1


def test_dry_run_with_preview_writes_a_png_and_spends_nothing(kit):
    folder = kit.folder("dry")
    source = pdfmakers.plain_pdf(folder / "x.pdf", placeholder_page=1)
    preview = folder / "p.png"
    states = _states(kit.wallet)

    result, records = kit.stamp(source, "--dry-run", "--preview", preview)
    assert result.exit_code == 0, result.stderr
    assert preview.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(preview).convert("RGB")
    assert image.width > 500 and image.height > 700
    assert magenta_mask(image).getbbox() is not None, "the preview does not show the stamp"
    assert _states(kit.wallet) == states
    assert not (folder / "x.emeterai.pdf").exists()
    assert records[0]["output"] is None and records[0]["placement"] == "placeholder"
    assert "nothing spent" in result.stderr


def test_batch_with_one_bad_file_stamps_the_good_ones(kit):
    folder = kit.folder("batch")
    good = [pdfmakers.plain_pdf(folder / "a.pdf"), pdfmakers.plain_pdf(folder / "c.pdf")]
    bad = pdfmakers.not_a_pdf(folder / "b.pdf")
    available = sum(s == "available" for s in _states(kit.wallet).values())

    result, records = kit.stamp(good[0], bad, good[1])
    assert result.exit_code == 1
    errors = _error_lines(result.stderr)
    assert len(errors) == 1 and errors[0].startswith(f"emeterai: error: {bad}: ")
    assert "2 stamped, 1 failed" in result.stderr
    for path in good:
        out = path.with_name(f"{path.stem}.emeterai.pdf")
        assert kit.verifier().verify(out.read_bytes(), str(out)).valid
    assert not (folder / "b.emeterai.pdf").exists()
    assert sum(s == "available" for s in _states(kit.wallet).values()) == available - 2
    assert [r.get("serial") for r in records if r["file"] == str(bad)] == [None]
    assert len({r["serial"] for r in records if r["file"] != str(bad)}) == 2


def test_a_text_file_is_reported_as_not_a_pdf(home, runner, wallet_with_stamps, tmp_path):
    wallet = wallet_with_stamps(1)
    bad = pdfmakers.not_a_pdf(tmp_path / "surat.pdf")
    result = runner.invoke(app, ["stamp", str(bad)])
    assert result.exit_code == 1
    assert _error_lines(result.stderr) == [f"emeterai: error: {bad}: not a PDF (no %PDF- header)"]
    assert list(_states(wallet).values()) == ["available"]


# -- usage checks before anything is spent ---------------------------------------------------


@pytest.mark.parametrize("size", ["5", "500"])
def test_size_out_of_range_is_a_usage_error_before_the_wallet_is_opened(kit, size):
    folder = kit.folder(f"size-{size}")
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    states = _states(kit.wallet)
    result, records = kit.stamp(source, "--size", size)
    assert result.exit_code == 2, result.stderr
    assert _error_lines(result.stderr) == [
        "emeterai: error: the stamp size must be between 18 and 60 mm (--size)"
    ]
    assert records == [] and _states(kit.wallet) == states
    assert not (folder / "x.emeterai.pdf").exists()


def test_two_inputs_with_one_output_name_are_refused_before_anything_is_spent(kit):
    folder = kit.folder("same-name")
    (folder / "a").mkdir()
    (folder / "b").mkdir()
    first = pdfmakers.plain_pdf(folder / "a" / "x.pdf")
    second = pdfmakers.plain_pdf(folder / "b" / "x.pdf")
    out = folder / "out"
    states = _states(kit.wallet)
    result, _ = kit.stamp(first, second, "--out-dir", out, "--force")
    assert result.exit_code == 2, result.stderr
    (error,) = _error_lines(result.stderr)
    assert str(first) in error and str(second) in error and "x.emeterai.pdf" in error
    assert _states(kit.wallet) == states
    assert not out.exists() or not any(out.iterdir())


def test_serial_option_spends_that_stamp_and_refuses_it_once_used(kit):
    folder = kit.folder("by-serial")
    first = pdfmakers.plain_pdf(folder / "first.pdf")
    second = pdfmakers.plain_pdf(folder / "second.pdf")
    chosen = sorted(s for s, state in _states(kit.wallet).items() if state == "available")[-1]
    result, (record,) = kit.stamp(first, "--serial", serials.grouped(chosen).lower())
    assert result.exit_code == 0, result.stderr
    assert record["serial"] == chosen and _states(kit.wallet)[chosen] == "used"
    states = _states(kit.wallet)

    result, _ = kit.stamp(second, "--serial", chosen)
    assert result.exit_code == 1
    (error,) = _error_lines(result.stderr)
    assert chosen in error and str(first.absolute()) in error, error
    assert _states(kit.wallet) == states
    assert not (folder / "second.emeterai.pdf").exists()


def test_one_file_named_twice_is_refused_however_it_is_spelt(kit):
    folder = kit.folder("spelt-twice")
    (folder / "sub").mkdir()
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    states = _states(kit.wallet)
    result, _ = kit.stamp(source, folder / "sub" / ".." / "x.pdf", "--force")
    assert result.exit_code == 2, result.stderr
    assert "would both be written to" in result.stderr
    assert _states(kit.wallet) == states
    assert not (folder / "x.emeterai.pdf").exists()


def test_with_force_an_output_that_is_also_an_input_is_refused(kit):
    folder = kit.folder("output-is-input")
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    result, _ = kit.stamp(source)
    assert result.exit_code == 0, result.stderr
    earlier = folder / "x.emeterai.pdf"
    before = earlier.read_bytes()
    states = _states(kit.wallet)
    result, _ = kit.stamp(source, earlier, "--force")  # `stamp --force *.pdf` run again
    assert result.exit_code == 2, result.stderr
    assert f"{source}: its output {earlier} is also an input" in result.stderr
    assert earlier.read_bytes() == before and _states(kit.wallet) == states


def test_a_page_out_of_range_names_the_file_and_the_flag(
    home, runner, wallet_with_stamps, tmp_path
):
    """The placement error keeps its hint when stamping adds the file's name."""
    from emeterai.cli import app
    from tests.support import pdfmakers

    wallet_with_stamps(1)
    source = pdfmakers.plain_pdf(tmp_path / "x.pdf")
    result = runner.invoke(app, ["stamp", str(source), "--page", "5"])
    assert result.exit_code == 2, result.stderr  # no document can take that --page: usage
    assert result.stderr.splitlines()[-1] == (
        f"emeterai: error: {source}: page 5 is out of range: the document has 1 page(s) (--page)"
    )
    assert not (tmp_path / "x.emeterai.pdf").exists()
