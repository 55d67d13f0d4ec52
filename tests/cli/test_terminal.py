"""`emeterai stamp` and `verify` in a real terminal (a pty, as in tmux): the progress bar stays
a bar when result lines are printed above it, and Ctrl-C in a batch reports every document that
was finished, prints the summary and exits 130.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from tests.support import pdfmakers
from tests.support.common import PASSPHRASE
from tests.support.terminal import Terminal, terminal_env


def _run(home: Path, *args: str | Path, cwd: Path) -> Terminal:
    env = terminal_env(home, EMETERAI_PASSPHRASE=PASSPHRASE, TERM="xterm")
    env.pop("NO_COLOR", None)
    return Terminal(list(args), env, timeout=120, cwd=cwd)


def _letters(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        pdfmakers.plain_pdf(folder / f"surat-{i:02d}.pdf", placeholder_page=1)
    return folder


def test_the_progress_bar_shows_no_markup_between_result_lines(home, wallet_with_stamps, tmp_path):
    wallet_with_stamps(6)
    inputs = _letters(tmp_path / "in", 6)
    term = _run(home, "stamp", "--out-dir", tmp_path / "out", inputs, cwd=tmp_path)
    assert term.finish() == 0, term.text
    assert term.text.count("stamped ") == 6
    assert "stamping" in term.text  # the bar was drawn, under its own label
    # Before: "[progress.description]stamping ━━╺━━━ 3/6" once result lines appeared above it
    assert "[progress" not in term.text and "[/" not in term.text, term.text

    term = _run(home, "verify", tmp_path / "out", cwd=tmp_path)
    assert term.finish() == 0, term.text
    assert term.text.count("VALID") == 6 and "verifying" in term.text
    assert "[progress" not in term.text, term.text


@pytest.mark.parametrize(
    ("jobs", "presses"), [(2, 1), (2, 2), (1, 2)], ids=["jobs2", "jobs2-twice", "jobs1-twice"]
)
def test_ctrl_c_in_a_batch_reports_every_finished_document(
    home, wallet_with_stamps, tmp_path, jobs, presses
):
    wallet = wallet_with_stamps(30)
    inputs = _letters(tmp_path / "in", 30)
    out = tmp_path / "out"
    term = _run(
        home, "stamp", "--jobs", str(jobs), "--json", "--out-dir", out, inputs, cwd=tmp_path
    )
    for _ in range(3):
        term.expect("stamped ")
    for _ in range(presses):
        term.ctrl_c()
        time.sleep(0.05)
    assert term.finish() == 130, term.text
    text = term.text
    assert "stopping" in text

    written = sorted(p.name for p in out.iterdir())
    used = [e for e in wallet.entries() if e.state == "used"]
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    reported = sorted(Path(r["output"]).name for r in records if r["serial"])
    assert 3 <= len(written) < 30
    assert reported == written, "a document was written but not reported"
    assert len(used) == len(written), "a stamp was spent on a document not reported"
    assert not [e for e in wallet.entries() if e.state in ("reserved", "unsure")]
    not_started = 30 - len(written)
    assert f"{len(written)} stamped, 0 failed, {not_started} not started (interrupted)" in text


def test_ctrl_c_while_verifying_reports_what_was_verified(home, wallet_with_stamps, tmp_path):
    wallet_with_stamps(1)
    inputs = _letters(tmp_path / "in", 1)
    assert _run(home, "stamp", inputs / "surat-00.pdf", cwd=tmp_path).finish() == 0
    stamped = (inputs / "surat-00.emeterai.pdf").read_bytes()
    many = tmp_path / "many"
    many.mkdir()
    for i in range(400):
        (many / f"f{i:03d}.pdf").write_bytes(stamped)
    report = tmp_path / "laporan.csv"
    term = _run(home, "verify", "--jobs", "2", "--json", "--report", report, many, cwd=tmp_path)
    for _ in range(5):
        term.expect('"valid": true')
    term.ctrl_c()
    assert term.finish() == 130, term.text
    text = term.text
    verified = text.count('"valid": true')
    assert 5 <= verified < 400
    assert f"interrupted: {400 - verified} of 400 files not verified" in text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    with report.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == verified  # the report holds every file verified, one stamp each
