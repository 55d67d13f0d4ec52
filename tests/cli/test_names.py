"""`emeterai stamp` with names that are not UTF-8 (a zip made on Windows, unpacked on Linux):
its lines and its JSON show the bad bytes as backslash escapes (emeterai/names.py), the JSON
stays valid UTF-8. verify's output and reports: tests/cli/test_verify.py, tests/cli/test_report.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.common import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "samples" / "lamaran.pdf"


@pytest.fixture
def letter(home, wallet_with_stamps, tmp_path) -> Path:
    """The sample letter named ``surat-\\xe9.pdf`` (CP1252 "é"), in a home with a stamp."""
    wallet_with_stamps(1)
    path = tmp_path / os.fsdecode(b"surat-\xe9.pdf")
    shutil.copyfile(SAMPLE, path)
    return path


def stamp(home: Path, *args: str | Path) -> tuple[int, list[dict[str, object]], str]:
    """``emeterai stamp ARGS --json`` as a user runs it: (exit code, JSON lines, stderr),
    both streams decoded strictly as UTF-8."""
    proc = subprocess.run(
        [sys.executable, "-m", "emeterai", "stamp", *map(str, args), "--json"],
        capture_output=True,
        env={**os.environ, "EMETERAI_HOME": str(home)},
        cwd=str(PROJECT_ROOT),
        timeout=120,
    )
    err = proc.stderr.decode("utf-8")
    assert "internal error" not in err and "Traceback" not in err
    assert "\\udc" not in err  # not Python's own escape of the surrogate
    lines = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    return proc.returncode, lines, err


def test_dry_run_shows_the_name_escaped(home, letter):
    code, (record,), err = stamp(home, letter, "--dry-run")
    assert code == 0, err
    name = str(letter.parent / "surat-\\xe9.pdf")
    assert record["file"] == name
    assert f"{name}: would stamp" in err


def test_a_skipped_file_and_its_output_are_shown_escaped(home, letter):
    output = letter.parent / os.fsdecode(b"surat-\xe9.emeterai.pdf")
    shutil.copyfile(letter, output)
    code, (record,), err = stamp(home, letter, "--skip-existing")
    assert code == 0, err
    name = str(letter.parent / "surat-\\xe9.pdf")
    out = str(letter.parent / "surat-\\xe9.emeterai.pdf")
    assert record["file"] == name and record["output"] == out and record["skipped"] is True
    assert f"skipped {name}: {out} is already there" in err.splitlines()


def test_an_error_about_such_a_file_is_one_escaped_line_and_valid_json(home, letter):
    letter.write_text("bukan PDF")
    code, (record,), err = stamp(home, letter)
    assert code == 1, err
    name = str(letter.parent / "surat-\\xe9.pdf")
    assert record["file"] == name and name in str(record["error"])
    errors = [ln for ln in err.splitlines() if ln.startswith("emeterai: error: ")]
    assert len(errors) == 1 and name in errors[0], err


def test_an_error_line_about_such_a_name_shows_it_escaped(home, tmp_path):
    """The one error line of a failed command (cli/__init__.py) follows the same rule; before,
    it showed Python's own escape, '\\udce9'."""
    missing = tmp_path / os.fsdecode(b"akar-\xe9.pem")
    proc = subprocess.run(
        [sys.executable, "-m", "emeterai", "trust", "add", str(missing)],
        capture_output=True,
        env={**os.environ, "EMETERAI_HOME": str(home)},
        timeout=60,
    )
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 2, err
    assert "akar-\\xe9.pem" in err and "\\udc" not in err


def test_such_a_file_is_stamped_and_the_wallet_keeps_its_exact_name(home, letter):
    """Before: the wallet handed the name to SQLite as text, which takes only UTF-8: every such
    file failed with 'surrogates not allowed' (nothing spent). The wallet keeps the exact bytes,
    so that recovery after a crash finds the output again."""
    from emeterai.wallet import Wallet

    code, (record,), err = stamp(home, letter)
    assert code == 0, err
    output = letter.parent / os.fsdecode(b"surat-\xe9.emeterai.pdf")
    assert output.is_file()
    (used,) = [e for e in Wallet(home / "wallet" / "wallet.db").entries() if e.state == "used"]
    assert used.used_file == str(letter.absolute())
    assert used.output_path == str(output.absolute())
    assert record["serial"] == used.serial
    listed = subprocess.run(
        [sys.executable, "-m", "emeterai", "wallet", "list", "--json"],
        capture_output=True,
        env={**os.environ, "EMETERAI_HOME": str(home)},
        timeout=60,
    )
    (entry,) = [json.loads(ln) for ln in listed.stdout.decode("utf-8").splitlines()]
    assert entry["output"].endswith("surat-\\xe9.emeterai.pdf")


def test_shrink_shows_names_that_are_not_utf8_escaped_in_indonesian(home, tmp_path):
    """shrink's size line goes through the shared echo helper: stdout stays valid UTF-8 with
    the bad byte as ``\\xe9`` (sizes with a decimal comma: tests/test_sizes.py)."""
    source = tmp_path / os.fsdecode(b"besar-\xe9.pdf")
    shutil.copyfile(SAMPLE, source)
    output = tmp_path / os.fsdecode(b"kecil-\xe9.pdf")
    env = {k: v for k, v in os.environ.items() if k not in ("EMETERAI_LANG", "LC_ALL")}
    proc = subprocess.run(
        [sys.executable, "-m", "emeterai", "shrink", str(source), "-o", str(output)],
        capture_output=True,
        env={**env, "EMETERAI_HOME": str(home), "LANG": "id_ID.UTF-8"},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")
    assert "besar-\\xe9.pdf" in out and "kecil-\\xe9.pdf" in out and "\\udc" not in out
    assert out.startswith(str(source).replace(os.fsdecode(b"\xe9"), "\\xe9") + ": "), out
