"""`emeterai shrink` on the command line: the size line and --json, --max-size met or missed
(written anyway, exit 1), --force, output == input, bad inputs, signed inputs, and a shrunk
copy that is then stamped and verifies valid.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.cli import _assert_clean_failure
from tests.support.producers import letter_pdf, scan_pdf, signed_pdf
from tests.support.readers import assert_same_to_a_reader
from tests.support.stamping import _sha256, _temp_files


def _scan(kit, name: str):
    folder = kit.folder(name)
    source = folder / "lamaran.pdf"
    source.write_bytes(scan_pdf(300))
    return folder, source


def test_the_size_line_names_sizes_what_was_done_and_the_output(kit):
    folder, source = _scan(kit, "line")
    out = folder / "kecil.pdf"
    result = kit.cli("shrink", source, "-o", out)
    assert result.exit_code == 0, result.stderr
    before, after = source.stat().st_size, out.stat().st_size
    line = result.stdout.strip()
    assert line == (
        f"{source}: {before / 1e6:.1f} MB -> {after / 1e3:.0f} KB "
        f"(1 image downsampled to 200 dpi, JPEG quality 85): {out}"
    )


def test_json_record_matches_the_files_on_disk(kit):
    folder, source = _scan(kit, "json")
    out = folder / "kecil.pdf"
    result = kit.cli("shrink", source, "-o", out, "--max-size", "300K", "--json")
    assert result.exit_code == 0, result.stderr
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["size_before"] == source.stat().st_size
    assert record["size_after"] == out.stat().st_size <= 300_000
    assert (record["max_size"], record["fits"], record["over_by"]) == (300_000, True, 0)
    assert (record["output"], record["dpi"], record["outcome"]) == (str(out), 150, "shrunk")


def test_a_cap_that_cannot_be_met_writes_the_best_copy_and_exits_1(kit):
    folder, source = _scan(kit, "miss")
    out = folder / "kecil.pdf"
    result = kit.cli("shrink", source, "-o", out, "--max-size", "20K")
    line = _assert_clean_failure(result, 1)
    size = out.stat().st_size
    assert f"{out}: " in line and "over --max-size 20 KB" in line and "written anyway" in line
    assert f"still {(size - 20_000) / 1e3:.0f} KB over" in line
    assert "JPEG quality 60" in result.stdout


def test_a_bad_max_size_is_a_usage_error(kit):
    folder, source = _scan(kit, "badcap")
    result = kit.cli("shrink", source, "-o", folder / "x.pdf", "--max-size", "banyak")
    assert "is not a size" in _assert_clean_failure(result, 2)
    assert not (folder / "x.pdf").exists()


def test_an_existing_output_needs_force_and_the_input_is_never_the_output(kit):
    folder, source = _scan(kit, "force")
    digest = _sha256(source)
    out = folder / "kecil.pdf"
    out.write_bytes(b"lama")
    line = _assert_clean_failure(kit.cli("shrink", source, "-o", out), 1)
    assert line == f"emeterai: error: {out}: already exists (use --force to overwrite)"
    assert out.read_bytes() == b"lama"
    assert kit.cli("shrink", source, "-o", out, "--force").exit_code == 0
    assert out.read_bytes()[:5] == b"%PDF-"
    line = _assert_clean_failure(kit.cli("shrink", source, "-o", source, "--force"), 1)
    assert "is the input" in line
    assert _sha256(source) == digest
    assert _temp_files(folder) == []


def test_bad_inputs_are_one_line_naming_the_file(kit):
    folder = kit.folder("bad")
    cases = {
        "teks.pdf": b"Ini bukan PDF.\n" * 5,
        "potong.pdf": (lambda d: d[: len(d) // 2])(letter_pdf(2)),
    }
    for name, data in cases.items():
        (folder / name).write_bytes(data)
        result = kit.cli("shrink", folder / name, "-o", folder / f"out-{name}")
        assert _assert_clean_failure(result, 1).startswith(f"emeterai: error: {folder / name}: ")
        assert not (folder / f"out-{name}").exists()
    result = kit.cli("shrink", folder / "tidak-ada.pdf", "-o", folder / "x.pdf")
    assert f"{folder / 'tidak-ada.pdf'}: cannot read" in _assert_clean_failure(result, 1)


def test_a_signed_or_stamped_file_is_refused(kit):
    folder = kit.folder("signed")
    source = folder / "ditandatangani.pdf"
    source.write_bytes(signed_pdf(letter_pdf(1)))
    result = kit.cli("shrink", source, "-o", folder / "x.pdf")
    line = _assert_clean_failure(result, 1)
    assert "shrink the original before stamping it" in line
    stamped = folder / "surat.emeterai.pdf"
    (folder / "surat.pdf").write_bytes(letter_pdf(1))
    assert kit.stamp(folder / "surat.pdf", "-o", stamped)[0].exit_code == 0
    line = _assert_clean_failure(kit.cli("shrink", stamped, "-o", folder / "y.pdf"), 1)
    assert "'eMeterai" in line and "already signed or stamped" in line


def test_a_shrunk_copy_is_stamped_and_verifies_valid(kit, tmp_path):
    folder, source = _scan(kit, "then-stamp")
    small = folder / "kecil.pdf"
    assert kit.cli("shrink", source, "-o", small, "--max-size", "800K").exit_code == 0
    assert_same_to_a_reader(source.read_bytes(), small.read_bytes(), tmp_path)
    stamped = folder / "kecil.emeterai.pdf"
    result, records = kit.stamp(small, "-o", stamped)
    assert result.exit_code == 0, result.stderr
    verdict = kit.verifier().verify(stamped.read_bytes(), str(stamped))
    assert verdict.valid, verdict.problems
    assert stamped.stat().st_size <= 800_000 + records[0]["bytes_added"]


def test_help_does_not_import_pikepdf_or_pillow(tmp_path):
    probe = (
        "import sys\nfrom emeterai.cli import main\nsys.argv = ['emeterai', 'shrink', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('pikepdf', 'PIL') if m in sys.modules))"
    )
    env = {**os.environ, "EMETERAI_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "--max-size" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
