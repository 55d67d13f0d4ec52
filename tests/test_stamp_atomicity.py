"""Failures that must not burn a stamp (docs/architecture.md): a wrong passphrase, an output that cannot be
written, a crash before or after the output is published, an encrypted PDF without its
password; and two processes spending from one wallet, never the same stamp twice.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pypdf
import pytest

from emeterai.cli import app
from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.verify import Verifier
from emeterai.wallet import Wallet
from tests.support import pdfmakers
from tests.support.common import PASSPHRASE
from tests.support.stamping import _error_lines, _json_lines, _sha256, _states, _temp_files

# == failures that must not burn a stamp ========================================================


def test_wrong_passphrase_writes_nothing_and_spends_nothing(
    home, runner, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(1)
    source = pdfmakers.plain_pdf(tmp_path / "x.pdf")
    result = runner.invoke(
        app, ["stamp", str(source)], env={"EMETERAI_PASSPHRASE": "not-the-passphrase"}
    )
    assert result.exit_code == 1
    assert _error_lines(result.stderr) == ["emeterai: error: wrong passphrase for the wallet"]
    assert not (tmp_path / "x.emeterai.pdf").exists()
    assert _temp_files(tmp_path) == []
    assert list(_states(wallet).values()) == ["available"]


def test_unwritable_out_dir_writes_nothing_and_spends_nothing(
    home, runner, wallet_with_stamps, tmp_path
):
    """A regular file where a folder should be: fails for root too (chmod would not)."""
    wallet = wallet_with_stamps(1)
    source = pdfmakers.plain_pdf(tmp_path / "x.pdf")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    result = runner.invoke(app, ["stamp", str(source), "--out-dir", str(blocker / "sub")])
    assert result.exit_code == 1
    assert len(_error_lines(result.stderr)) == 1
    assert blocker.read_text() == "a file"
    assert list(tmp_path.rglob("*.emeterai.pdf")) == []
    assert _temp_files(tmp_path) == []
    wallet.recover()
    assert list(_states(wallet).values()) == ["available"]


def test_unwritable_out_dir_error_is_a_clear_line_naming_the_folder(
    home, runner, wallet_with_stamps, tmp_path
):
    wallet_with_stamps(1)
    source = pdfmakers.plain_pdf(tmp_path / "x.pdf")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    result = runner.invoke(app, ["stamp", str(source), "--out-dir", str(blocker / "sub")])
    (line,) = _error_lines(result.stderr)
    assert "internal error" not in line
    assert str(blocker / "sub") in line


def test_unwritable_output_path_writes_nothing_and_spends_nothing(
    home, runner, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(2)
    source = pdfmakers.plain_pdf(tmp_path / "x.pdf")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    result = runner.invoke(app, ["stamp", str(source), "-o", str(blocker / "sub" / "x.pdf")])
    assert result.exit_code == 1
    (line,) = _error_lines(result.stderr)
    assert "cannot write" in line and str(blocker / "sub") in line
    assert "internal error" not in line
    assert blocker.read_text() == "a file"
    assert list(_states(wallet).values()) == ["available", "available"]
    # And the wallet goes on working: the next stamp succeeds.
    result = runner.invoke(app, ["stamp", str(source)])
    assert result.exit_code == 0, result.stderr
    assert sorted(_states(wallet).values()) == ["available", "used"]


_DEAD_RESERVATION_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from emeterai.wallet import Wallet

    db, temp, output = sys.argv[1:4]
    wallet = Wallet(Path(db))
    reservation = wallet.reserve()
    wallet.mark_written(reservation, "x.pdf", "0" * 64, output, temp, "1" * 64)
    os._exit(137)
    """
)


def test_recovery_settles_a_reservation_whose_temp_folder_became_a_file(
    home, runner, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(1)
    blocker = tmp_path / "was-a-folder"
    blocker.write_text("a file now")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _DEAD_RESERVATION_SCRIPT,
            str(wallet.path),
            str(blocker / ".x.emeterai.pdf.0123456789ab.tmp"),
            str(blocker / "x.emeterai.pdf"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert proc.returncode == 137, proc.stderr
    assert list(_states(wallet).values()) == ["reserved"]
    report = wallet.recover()
    assert len(report.released) == 1
    assert list(_states(wallet).values()) == ["available"]
    source = pdfmakers.plain_pdf(tmp_path / "y.pdf")
    result = runner.invoke(app, ["stamp", str(source)])
    assert result.exit_code == 0, result.stderr


_CRASH_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import emeterai.stamp as stamp
    from emeterai.wallet import Wallet

    mode, db, source, output = sys.argv[1:5]
    real_publish = stamp.rename_into_place

    def crash_before_publish(tmp, path, overwrite, before=None):
        os._exit(137)  # the temp file is written and fsynced; nothing renamed, nothing committed

    def crash_after_publish(tmp, path, overwrite, before=None):
        real_publish(tmp, path, overwrite, before)
        os._exit(137)  # the output is in place; the wallet commit never happens

    stamp.rename_into_place = crash_before_publish if mode == "before" else crash_after_publish
    wallet = Wallet(Path(db))
    key = wallet.unlock(os.environ["EMETERAI_PASSPHRASE"])
    stamp.stamp_file(Path(source), Path(output), wallet, key, stamp.StampOptions())
    sys.exit(3)  # not reached: the crash comes first
    """
)


def _crash(
    mode: str, wallet: Wallet, source: Path, output: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CRASH_SCRIPT, mode, str(wallet.path), str(source), str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


def test_crash_before_publish_leaves_no_output_and_the_stamp_available(
    home, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(1)
    folder = tmp_path / "docs"
    folder.mkdir()
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    digest = _sha256(source)
    output = folder / "x.emeterai.pdf"

    proc = _crash("before", wallet, source, output)
    assert proc.returncode == 137, proc.stderr
    (serial,) = _states(wallet)
    assert _states(wallet) == {serial: "reserved"}  # the crash really happened mid-stamp
    assert len(_temp_files(folder)) == 1

    report = wallet.recover()
    assert report.released == (serial,) and report.committed == ()
    assert _states(wallet) == {serial: "available"}
    assert not output.exists()
    assert _temp_files(folder) == []
    assert sorted(p.name for p in folder.iterdir()) == ["x.pdf"]
    assert _sha256(source) == digest


def test_crash_after_publish_is_recovered_as_used_and_the_output_verifies(
    home, issuer, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(1)
    folder = tmp_path / "docs"
    folder.mkdir()
    source = pdfmakers.plain_pdf(folder / "x.pdf")
    output = folder / "x.emeterai.pdf"

    proc = _crash("after", wallet, source, output)
    assert proc.returncode == 137, proc.stderr
    (serial,) = _states(wallet)
    assert _states(wallet) == {serial: "reserved"}
    assert output.is_file()

    report = wallet.recover()
    assert report.committed == (serial,) and report.released == ()
    assert _states(wallet) == {serial: "used"}
    entry = wallet.entries()[0]
    assert entry.used_sha256 == _sha256(source)
    assert entry.output_path == str(output.absolute())
    assert _temp_files(folder) == []
    verdict = Verifier([issuer.root]).verify(output.read_bytes(), str(output))
    assert verdict.valid, verdict.problems
    assert verdict.stamps[0].serial == serial


def test_encrypted_pdf_without_password_fails_before_spending(home, wallet_with_stamps, tmp_path):
    """An encrypted PDF without its password fails before anything is written or spent."""
    wallet = wallet_with_stamps(1)
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdfmakers.letter_pdf(1))))
    writer.encrypt("rahasia", algorithm="AES-128")
    source = tmp_path / "locked.pdf"
    with source.open("wb") as fh:
        writer.write(fh)
    from emeterai.errors import PdfError

    with pytest.raises(PdfError) as info:
        stamp_file(source, tmp_path / "out.pdf", wallet, wallet.unlock(PASSPHRASE), StampOptions())
    assert "needs a password" in info.value.message and str(info.value).startswith(str(source))
    assert not (tmp_path / "out.pdf").exists()
    assert list(_states(wallet).values()) == ["available"]


# == concurrency ================================================================================


def test_two_processes_on_one_wallet_spend_twenty_distinct_serials(
    home, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(22)
    jobs = []
    for name in ("a", "b"):
        folder = tmp_path / f"in-{name}"
        folder.mkdir()
        files = [pdfmakers.plain_pdf(folder / f"{name}{i:02d}.pdf") for i in range(10)]
        out = tmp_path / f"out-{name}"
        jobs.append((files, out))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "emeterai",
                "stamp",
                *map(str, files),
                "--out-dir",
                str(out),
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for files, out in jobs
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (_, stderr) in zip(procs, results, strict=True):
        assert proc.returncode == 0, stderr
    records = [r for stdout, _ in results for r in _json_lines(stdout)]
    assert len(records) == 20
    spent = [r["serial"] for r in records]
    assert len(set(spent)) == 20

    used = {e.serial: e for e in wallet.entries() if e.state == "used"}
    assert set(used) == set(spent)
    assert sum(e.state == "available" for e in wallet.entries()) == 2
    verifier = Verifier(TrustStore(home / "trust").certificates())
    for record in records:
        output = Path(record["output"])
        assert used[record["serial"]].output_path == str(output.absolute())
        verdict = verifier.verify(output.read_bytes(), str(output))
        assert verdict.valid, verdict.problems
        assert [s.serial for s in verdict.stamps] == [record["serial"]]
