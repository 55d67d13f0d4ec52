"""`emeterai verify` on the command line (README): JSON Lines, exit codes, one verdict per
file, trust, CRL, a ledger that cannot be opened, batches, the progress bar."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import attacks
from tests.support.cli import json_lines, problem_codes, run, stamp_cli
from tests.support.common import PASSPHRASE, PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "samples" / "lamaran.pdf"
TOP_KEYS = {
    "file",
    "later_signatures",
    "valid",
    "serial",
    "value",
    "issuer",
    "specimen",
    "stamped_at",
    "document_sha256",
    "page",
    "problems",
    "stamps",
}
STAMP_KEYS = {
    "serial",
    "value",
    "issuer",
    "specimen",
    "stamped_at",
    "document_sha256",
    "page",
    "problems",
    "level",
    "signing_time_source",
    "proven_by",
}


def no_traceback(result) -> None:
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


@pytest.fixture
def stamped(runner, home, wallet_with_stamps, tmp_path) -> tuple[Path, str]:
    """The sample letter stamped with the CLI; (output path, serial)."""
    wallet_with_stamps(3)
    src = tmp_path / "lamaran.pdf"
    shutil.copyfile(SAMPLE, src)
    out = tmp_path / "lamaran.emeterai.pdf"
    obj = stamp_cli(runner, src, out)
    return out, obj["serial"]


# -- valid ------------------------------------------------------------------------------------------


def test_verify_json_of_the_stamped_sample_is_valid_with_the_spec_fields(runner, stamped):
    path, serial = stamped
    result = run(runner, "verify", path, "--json")
    assert result.exit_code == 0, result.stderr
    no_traceback(result)
    (obj,) = json_lines(result)
    assert set(obj) == TOP_KEYS
    assert obj["file"] == str(path)
    assert obj["valid"] is True
    assert obj["problems"] == []
    assert obj["serial"] == serial
    assert obj["value"] == 10000
    assert obj["issuer"] == "Test Issuer"
    assert obj["specimen"] is True
    assert obj["page"] == 1
    assert len(obj["document_sha256"]) == 64
    import datetime as dt

    assert dt.datetime.fromisoformat(obj["stamped_at"]).tzinfo is not None
    (stamp,) = obj["stamps"]
    assert set(stamp) == STAMP_KEYS
    shared = STAMP_KEYS & TOP_KEYS
    assert {k: stamp[k] for k in shared} == {k: obj[k] for k in shared}
    assert (stamp["level"], stamp["signing_time_source"], stamp["proven_by"]) == (
        "B-B",
        "claimed",
        None,
    )
    assert f"VALID    {path}: {serial}" in result.stderr
    assert "1 file(s): 1 valid, 0 invalid" in result.stderr


def test_verify_without_json_prints_nothing_on_stdout(runner, stamped):
    path, serial = stamped
    result = run(runner, "verify", path)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert serial in result.stderr


def test_document_with_two_stamps_lists_both(runner, stamped, tmp_path):
    path, serial = stamped
    twice = tmp_path / "twice.pdf"
    second = stamp_cli(runner, path, twice, None, "--add-stamp")["serial"]
    result = run(runner, "verify", twice, "--json")
    assert result.exit_code == 0, result.stderr
    (obj,) = json_lines(result)
    assert obj["valid"] is True
    assert [s["serial"] for s in obj["stamps"]] == [serial, second]
    assert all(s["problems"] == [] and s["value"] == 10000 for s in obj["stamps"])
    assert obj["serial"] == serial


# -- invalid -----------------------------------------------------------------------------------------


def test_tampered_and_modified_files_exit_1_with_their_codes(runner, stamped, tmp_path):
    path, _ = stamped
    data = path.read_bytes()
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(attacks.change_page_content_byte(data, SAMPLE.read_bytes()))
    modified = tmp_path / "modified.pdf"
    modified.write_bytes(attacks.append_page_text(data))
    result = run(runner, "verify", path, tampered, modified, "--json")
    assert result.exit_code == 1
    no_traceback(result)
    good, bad, changed = json_lines(result)
    assert good["valid"] is True
    assert bad["valid"] is False and "signature-invalid" in problem_codes(bad)
    assert changed["valid"] is False and problem_codes(changed) == {"modified-after-stamp"}
    assert f"INVALID  {modified}: modified-after-stamp: " in result.stderr
    assert "3 file(s): 1 valid, 2 invalid" in result.stderr


def test_empty_trust_store_makes_the_stamp_untrusted_until_trust_is_given(
    runner, stamped, tmp_path
):
    path, _ = stamped
    root = tmp_path / "root.pem"
    assert run(runner, "issuer", "root", "-o", root).exit_code == 0
    stranger_home = tmp_path / "verifier-home"
    stranger_home.mkdir()
    env = {"EMETERAI_HOME": str(stranger_home)}
    result = run(runner, "verify", path, "--json", env=env)
    assert result.exit_code == 1
    (obj,) = json_lines(result)
    assert problem_codes(obj) == {"untrusted-issuer"}
    assert "no trusted issuer roots" in result.stderr
    trusted = run(runner, "verify", path, "--json", "--trust", root, env=env)
    assert trusted.exit_code == 0, trusted.stderr
    assert json_lines(trusted)[0]["valid"] is True


def test_stamp_from_another_issuer_with_the_same_serial_is_untrusted(runner, stamped, tmp_path):
    from emeterai.issuer import Issuer

    path, serial = stamped
    forger = Issuer.create(tmp_path / "forger", PASSPHRASE, name="Test Issuer", specimen=True)
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(
        attacks.stamp_with_key(
            SAMPLE.read_bytes(), attacks.stamp_key_from_issuer(forger, PASSPHRASE, serial)
        )
    )
    result = run(runner, "verify", forged, "--json")
    assert result.exit_code == 1
    (obj,) = json_lines(result)
    assert obj["serial"] == serial
    assert problem_codes(obj) == {"untrusted-issuer"}


def test_not_a_pdf_empty_truncated_and_missing_files_are_unreadable_and_the_batch_goes_on(
    runner, stamped, tmp_path
):
    path, _ = stamped
    text = tmp_path / "surat.pdf"
    text.write_text("Dengan hormat, ini bukan PDF.\n")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    half = tmp_path / "half.pdf"
    data = path.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    missing = tmp_path / "missing.pdf"
    result = run(runner, "verify", text, empty, half, missing, path, "--json", "--jobs", "2")
    assert result.exit_code == 1
    no_traceback(result)
    objs = json_lines(result)
    assert [o["file"] for o in objs] == [str(p) for p in (text, empty, half, missing, path)]
    for obj in objs[:4]:
        assert obj["valid"] is False
        assert problem_codes(obj) == {"unreadable"}, obj
        assert obj["stamps"] == [] and obj["serial"] is None
    assert objs[4]["valid"] is True
    assert "not a PDF" in objs[0]["problems"][0]["detail"]
    assert "empty" in objs[1]["problems"][0]["detail"]
    assert "5 file(s): 1 valid, 4 invalid" in result.stderr


def test_pasted_picture_is_no_stamp(runner, stamped, tmp_path):
    import hashlib

    path, serial = stamped
    pasted = tmp_path / "pasted.pdf"
    digest = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    pasted.write_bytes(
        attacks.paste_picture(
            attacks.make_letter(tmp_path / "x.pdf").read_bytes(), attacks.picture(serial, digest)
        )
    )
    result = run(runner, "verify", pasted, "--json")
    assert result.exit_code == 1
    assert problem_codes(json_lines(result)[0]) == {"no-stamp"}


# -- CRL ------------------------------------------------------------------------------------------


def test_serial_revoked_through_the_crl_is_revoked(runner, stamped, tmp_path):
    path, serial = stamped
    crl = tmp_path / "issuer.crl"
    assert run(runner, "issuer", "crl", "-o", crl).exit_code == 0
    before = run(runner, "verify", path, "--crl", crl, "--json")
    assert before.exit_code == 0, before.stderr
    revoked = run(runner, "issuer", "revoke", serial)
    assert revoked.exit_code == 0, revoked.stderr
    assert run(runner, "issuer", "crl", "-o", crl).exit_code == 0
    result = run(runner, "verify", path, "--crl", crl, "--json")
    assert result.exit_code == 1
    (obj,) = json_lines(result)
    assert problem_codes(obj) == {"revoked"}
    assert serial in obj["problems"][0]["detail"]


def test_crl_from_an_untrusted_issuer_is_one_clear_error(runner, stamped, tmp_path):
    from emeterai.issuer import Issuer

    path, _ = stamped
    stranger = Issuer.create(tmp_path / "stranger", PASSPHRASE, name="Stranger")
    crl = tmp_path / "stranger.crl"
    crl.write_bytes(stranger.crl(PASSPHRASE))
    result = run(runner, "verify", path, "--crl", crl, "--json")
    assert result.exit_code == 2
    no_traceback(result)
    assert result.stdout == ""  # no verdict on anything
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("emeterai: error: ")]
    assert errors == [f"emeterai: error: {crl}: the CRL is not signed by a trusted issuer root"]


# -- a ledger that cannot be opened (the shared ledger itself: test_ledger.py) ------------------


@pytest.mark.parametrize(
    "where",
    [
        "not-a-database",
        "folder",
        "in-a-missing-folder",
        "postgresql://nobody@host.invalid/ledger",
        "postgresql://nobody@localhost:notaport/ledger",
    ],
)
def test_ledger_that_cannot_be_opened_is_a_usage_error_before_any_file(
    runner, stamped, tmp_path, where
):
    """A folder, an unwritable location, a bad URL: exit 2, one line naming it, no verdict."""
    path, _ = stamped
    if where == "not-a-database":
        location = str(tmp_path / "seen.db")
        Path(location).write_bytes(b"not a database\n" * 300)
    elif where == "folder":
        location = str(tmp_path)
    elif where == "in-a-missing-folder":
        location = str(tmp_path / "no such folder" / "seen.db")
    else:
        location = where
    result = run(runner, "verify", path, "--ledger", location, "--json")
    assert result.exit_code == 2, result.stderr
    no_traceback(result)
    assert result.stdout == ""
    assert "VALID" not in result.stderr and "file(s)" not in result.stderr
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("emeterai: error: ")]
    assert len(errors) == 1 and f"ledger {location}: " in errors[0], result.stderr


# -- a batch of 1,000 ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_one_thousand_stamped_files_verify_in_one_call_with_two_jobs(
    runner, stamped, home, tmp_path
):
    path, serial = stamped
    folder = tmp_path / "applications"
    folder.mkdir()
    for i in range(1000):
        shutil.copyfile(path, folder / f"lamaran-{i:04d}.pdf")
    ledger = tmp_path / "seen.db"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("EMETERAI_", "COV_", "PYTEST_"))
    }
    env["EMETERAI_HOME"] = str(home)
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "emeterai",
            "verify",
            str(folder),
            "--jobs",
            "2",
            "--json",
            "--ledger",
            str(ledger),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1000
    objs = [json.loads(line) for line in lines]
    assert [o["file"] for o in objs] == [str(folder / f"lamaran-{i:04d}.pdf") for i in range(1000)]
    assert all(o["valid"] and o["serial"] == serial and o["problems"] == [] for o in objs)
    assert "1000 file(s): 1000 valid, 0 invalid" in proc.stderr
    # the same serial on the same document, 1,000 times, is one sighting and no reuse
    stats = run(runner, "ledger", "stats", "--ledger", ledger, "--json")
    assert json_lines(stats) == [{"serials": 1, "documents": 1, "reused_serials": 0}]
    assert elapsed < 120, f"1,000 files took {elapsed:.0f} s"


# -- a terminal on stderr: the progress bar -------------------------------------------------------


def test_progress_bar_on_a_terminal_keeps_json_on_stdout_and_lines_whole(home, tmp_path):
    """stderr a terminal, stdout a pipe (``verify --json *.pdf > out.jsonl`` typed in a shell):
    the bar is drawn on stderr, each verdict is a whole line above it, stdout is pure JSON."""
    import pty
    import re

    files = []
    for name in ("a", "b", "c", "d"):
        path = tmp_path / f"{name}.pdf"
        path.write_text("bukan PDF")
        files.append(str(path))
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "emeterai", "verify", "--json", "--jobs", "1", *files],
            stdout=subprocess.PIPE,
            stderr=follower,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "EMETERAI_HOME": str(home), "COLUMNS": "100"},
            timeout=120,
        )
    finally:
        os.close(follower)
    err = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    os.close(leader)
    assert proc.returncode == 1
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [r["file"] for r in records] == files
    text = err.decode("utf-8", "replace")
    assert "\x1b[" in text and "verifying" in text, "no progress bar was drawn"
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "\n")
    lines = [ln.strip() for ln in plain.splitlines()]
    for path in files:
        assert f"INVALID  {path}: unreadable: not a PDF (no %PDF- header)" in lines, plain
    assert "4 file(s): 0 valid, 4 invalid — 4 unreadable" in lines


# -- verdicts at scale: invalid first, --quiet, counts per main reason, colours ------------------


@pytest.fixture
def office_batch(stamped, tmp_path) -> tuple[list[Path], Path, Path]:
    """valid, modified after the stamp, valid, hidden on a modified file: (files, modified,
    hidden); verify lists the hidden stamp's problems as stamp-not-shown, then
    modified-after-stamp."""
    path, _ = stamped
    data = path.read_bytes()
    modified = tmp_path / "modified.pdf"
    modified.write_bytes(attacks.append_page_text(data))
    hidden = tmp_path / "hidden.pdf"
    hidden.write_bytes(attacks.set_widget_flags(data, 2))
    second = tmp_path / "copy.pdf"
    shutil.copyfile(path, second)
    return [path, modified, second, hidden], modified, hidden


def verdict_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith(("VALID", "INVALID", " "))]


def test_invalid_files_are_printed_before_valid_ones_and_json_keeps_input_order(
    runner, office_batch
):
    files, modified, hidden = office_batch
    result = run(runner, "verify", *files, "--json", "--jobs", "1")
    assert result.exit_code == 1
    assert [o["file"] for o in json_lines(result)] == [str(f) for f in files]
    words = [ln.split()[0] for ln in verdict_lines(result.stderr) if not ln.startswith(" ")]
    assert words == ["INVALID", "INVALID", "VALID", "VALID"]
    firsts = [ln.split()[1].rstrip(":") for ln in verdict_lines(result.stderr) if ln[0] != " "]
    assert firsts == [str(modified), str(hidden), str(files[0]), str(files[2])]


def test_main_reason_first_and_the_others_indented_below_it(runner, issuer, stamped, tmp_path):
    """An expired stamp on a file changed after it: verify lists stamp-expired first, but the
    change is the main reason (the ranks of emeterai/problems.py)."""
    import datetime as dt

    _, serial = stamped
    now = dt.datetime.now(dt.UTC)
    key = attacks.stamp_key_from_issuer(
        issuer, PASSPHRASE, serial, now - dt.timedelta(days=60), now - dt.timedelta(days=30)
    )
    both = tmp_path / "expired-and-changed.pdf"
    both.write_bytes(attacks.append_page_text(attacks.stamp_with_key(SAMPLE.read_bytes(), key)))
    listed = json_lines(run(runner, "verify", both, "--json"))[0]["problems"]
    assert [p["code"] for p in listed] == ["stamp-expired", "modified-after-stamp"]
    result = run(runner, "verify", both)
    assert verdict_lines(result.stderr) == [
        f"INVALID  {both}: modified-after-stamp: {listed[1]['detail']}",
        f"         also stamp-expired: {listed[0]['detail']}",
    ]
    assert (
        result.stderr.splitlines()[-1] == "1 file(s): 0 valid, 1 invalid — 1 modified-after-stamp"
    )


def test_summary_counts_invalid_files_by_their_main_reason(runner, office_batch, tmp_path):
    files, _, _ = office_batch
    text = tmp_path / "surat.pdf"
    text.write_text("bukan PDF")
    result = run(runner, "verify", *files, text)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "5 file(s): 2 valid, 3 invalid — 2 modified-after-stamp, 1 unreadable"
    )


def test_quiet_prints_only_invalid_files_and_the_summary(runner, office_batch):
    files, modified, hidden = office_batch
    result = run(runner, "verify", *files, "--quiet", "--json")
    assert result.exit_code == 1
    assert len(json_lines(result)) == 4  # --quiet quiets the human lines, not the records
    lines = result.stderr.splitlines()
    assert not any(ln.startswith("VALID") for ln in lines)
    assert [ln.split()[1].rstrip(":") for ln in lines if ln.startswith("INVALID")] == [
        str(modified),
        str(hidden),
    ]
    assert lines[-1].startswith("4 file(s): 2 valid, 2 invalid")
    quiet_ok = run(runner, "verify", files[0], "-q")
    assert quiet_ok.exit_code == 0
    assert quiet_ok.stderr.splitlines() == ["1 file(s): 1 valid, 0 invalid"]


RED_INVALID = re.compile(r"\x1b\[31m(\x1b\[1m)?INVALID")
GREEN_VALID = re.compile(r"\x1b\[32m(\x1b\[1m)?VALID")


def _verify_on_a_terminal(home: Path, files: list[Path], extra_env: dict[str, str]) -> str:
    """verify with stdout and stderr on a pseudo-terminal; everything it wrote."""
    import pexpect

    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update({"EMETERAI_HOME": str(home), "COLUMNS": "200", **extra_env})
    child = pexpect.spawn(
        sys.executable,
        ["-m", "emeterai", "verify", "--jobs", "1", *map(str, files)],
        env=env,
        cwd=str(PROJECT_ROOT),
        timeout=120,
        encoding="utf-8",
        dimensions=(50, 200),
    )
    out = child.read()
    child.close()
    assert child.exitstatus == 1, out
    return out


def test_colours_on_a_terminal(home, office_batch):
    files, modified, _ = office_batch
    out = _verify_on_a_terminal(home, files, {})
    assert RED_INVALID.search(out), repr(out[-2000:])
    assert GREEN_VALID.search(out), repr(out[-2000:])
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    assert f"INVALID  {modified}: modified-after-stamp" in plain


def test_no_colour_on_a_terminal_with_no_color_set(home, office_batch):
    files, modified, _ = office_batch
    out = _verify_on_a_terminal(home, files, {"NO_COLOR": "1"})
    assert not RED_INVALID.search(out) and not GREEN_VALID.search(out), repr(out[-2000:])
    assert f"INVALID  {modified}: modified-after-stamp" in out


def test_no_colour_through_a_pipe(home, office_batch):
    files, _, _ = office_batch
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.run(
        [sys.executable, "-m", "emeterai", "verify", "--jobs", "1", *map(str, files)],
        capture_output=True,
        text=True,
        env={**env, "EMETERAI_HOME": str(home)},
        cwd=str(PROJECT_ROOT),
        timeout=120,
    )
    assert proc.returncode == 1
    assert "\x1b[" not in proc.stderr
    assert [ln.split()[0] for ln in verdict_lines(proc.stderr) if ln[0] != " "] == [
        "INVALID",
        "INVALID",
        "VALID",
        "VALID",
    ]


# -- names that are not UTF-8 (a zip made on Windows, unpacked on Linux) -------------------------


@pytest.fixture
def windows_names(stamped, tmp_path) -> tuple[Path, Path, Path]:
    """A folder with the stamped letter and a text file, both named with bytes that are no
    UTF-8 (CP1252 "é" and "ÿ"): (folder, the valid one, the invalid one)."""
    path, _ = stamped
    folder = tmp_path / "dari windows"
    folder.mkdir()
    valid = folder / os.fsdecode(b"surat-\xe9.pdf")
    shutil.copyfile(path, valid)
    invalid = folder / os.fsdecode(b"bukan-\xff.pdf")
    invalid.write_text("bukan PDF")
    return folder, valid, invalid


def escaped(path: Path) -> str:
    """The name as every output shows it: the bad bytes as backslash escapes."""
    return str(path).replace("\udce9", "\\xe9").replace("\udcff", "\\xff")


@pytest.mark.parametrize(
    "io_env",
    [{}, {"PYTHONIOENCODING": "utf-8"}],
    ids=["stdout-surrogateescape", "stdout-strict"],
)
def test_names_that_are_not_utf8_are_shown_escaped_in_json_and_verdicts(
    home, windows_names, io_env
):
    """Python writes lone surrogates to stdout as raw bytes (C.UTF-8) or not at all (strict
    UTF-8, an internal error): either way no valid JSON. Both are shown as ``\\xNN``."""
    folder, valid, invalid = windows_names
    proc = subprocess.run(
        [sys.executable, "-m", "emeterai", "verify", "--json", "--jobs", "1", str(folder)],
        capture_output=True,
        env={**os.environ, "EMETERAI_HOME": str(home), **io_env},
        cwd=str(PROJECT_ROOT),
        timeout=120,
    )
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 1, err
    assert "internal error" not in err and "Traceback" not in err
    records = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert sorted(r["file"] for r in records) == sorted([escaped(valid), escaped(invalid)])
    lines = err.splitlines()
    assert any(ln.startswith(f"VALID    {escaped(valid)}: ") for ln in lines), err
    assert f"INVALID  {escaped(invalid)}: unreadable: not a PDF (no %PDF- header)" in lines
    assert "\\udc" not in err  # one rule: not Python's own escape of the surrogate


def test_names_that_are_not_utf8_above_the_progress_bar(home, windows_names):
    """On a terminal the verdicts are printed through the progress bar's console."""
    folder, valid, invalid = windows_names
    out = _verify_on_a_terminal(home, [folder], {})  # decodes strictly as UTF-8
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    assert f"INVALID  {escaped(invalid)}: unreadable" in plain, plain
    assert f"VALID    {escaped(valid)}: " in plain, plain
