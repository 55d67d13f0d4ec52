"""`emeterai stamp` and `verify` in a real terminal (a pty, as in tmux): the progress bar stays
a bar when result lines are printed above it, and Ctrl-C in a batch reports every document that
was finished, prints the summary and exits 130.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import termios
from pathlib import Path

import pexpect
import pytest

from tests.support import pdfmakers
from tests.support.common import PASSPHRASE

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def _spawn(home: Path, *args: str, cwd: Path) -> pexpect.spawn:
    env = dict(os.environ, EMETERAI_HOME=str(home), EMETERAI_PASSPHRASE=PASSPHRASE, TERM="xterm")
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "emeterai", *args],
        env=env,
        cwd=str(cwd),
        dimensions=(40, 160),
        timeout=120,
    )
    child.logfile_read = io.BytesIO()  # the whole screen, not only what follows a match
    return child


def _ctrl_c(child: pexpect.spawn) -> None:
    """Ctrl-C as typed. The terminal is told not to drop the output still queued for the
    screen when it sees the interrupt (NOFLSH): the test reads every line the program wrote."""
    attrs = termios.tcgetattr(child.child_fd)
    attrs[3] |= termios.NOFLSH
    termios.tcsetattr(child.child_fd, termios.TCSANOW, attrs)
    child.sendintr()


def _screen(child: pexpect.spawn) -> str:
    return _screen_text(child.logfile_read.getvalue())


def _letters(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        pdfmakers.plain_pdf(folder / f"surat-{i:02d}.pdf", placeholder_page=1)
    return folder


def _screen_text(raw: bytes) -> str:
    return re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", raw).decode("utf-8", "replace")


def test_the_progress_bar_shows_no_markup_between_result_lines(home, wallet_with_stamps, tmp_path):
    wallet_with_stamps(6)
    inputs = _letters(tmp_path / "in", 6)
    child = _spawn(home, "stamp", "--out-dir", str(tmp_path / "out"), str(inputs), cwd=tmp_path)
    child.expect(pexpect.EOF)
    child.close()
    text = _screen(child)
    assert child.exitstatus == 0, text
    assert text.count("stamped ") >= 6
    assert "stamping" in text  # the bar was drawn, under its own label
    assert "[progress" not in text and "[/" not in text, text

    child = _spawn(home, "verify", str(tmp_path / "out"), cwd=tmp_path)
    child.expect(pexpect.EOF)
    child.close()
    text = _screen(child)
    assert child.exitstatus == 0, text
    assert text.count("VALID") >= 6
    assert "[progress" not in text, text


def test_ctrl_c_in_a_batch_reports_every_finished_document(home, wallet_with_stamps, tmp_path):
    wallet = wallet_with_stamps(30)
    inputs = _letters(tmp_path / "in", 30)
    out = tmp_path / "out"
    child = _spawn(home, "stamp", "--jobs", "2", "--json", "--out-dir", str(out), str(inputs),
                   cwd=tmp_path)  # fmt: skip
    for _ in range(3):
        child.expect("stamped ")
    _ctrl_c(child)
    child.expect(pexpect.EOF)
    child.close()
    text = _screen(child)
    assert child.exitstatus == 130, text
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
    child = _spawn(home, "stamp", str(inputs / "surat-00.pdf"), cwd=tmp_path)
    child.expect(pexpect.EOF)
    child.close()
    stamped = (inputs / "surat-00.emeterai.pdf").read_bytes()
    many = tmp_path / "many"
    many.mkdir()
    for i in range(400):
        (many / f"f{i:03d}.pdf").write_bytes(stamped)
    report = tmp_path / "laporan.csv"
    child = _spawn(home, "verify", "--jobs", "2", "--json", "--report", str(report), str(many),
                   cwd=tmp_path)  # fmt: skip
    for _ in range(5):
        child.expect('"valid": true')
    _ctrl_c(child)
    child.expect(pexpect.EOF, timeout=60)
    child.close()
    text = _screen(child)
    assert child.exitstatus == 130, text
    verified = text.count('"valid": true')
    assert 5 <= verified < 400
    assert f"interrupted: {400 - verified} of 400 file(s) not verified" in text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    with report.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == verified  # the report holds every file verified, one stamp each
