"""`emeterai ledger` on the command line (README), and `verify --ledger` with one stamp file
used on two documents: the shared ledger names the reused serial and its first document."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import attacks
from tests.support.cli import json_lines, problem_codes, run, stamp_cli

# -- ledger: one stamp file used on two documents --------------------------------------------------


@pytest.fixture
def reused(runner, home, issuer, stamp_secret, tmp_path) -> tuple[Path, Path, str]:
    """One stamp file bought once, imported into two applicants' wallets (two homes), each
    stamping a different letter: (first output, second output, serial)."""
    stamps = tmp_path / "bought"
    issued = run(runner, "issuer", "issue", "--count", "1", "--out", stamps)
    assert issued.exit_code == 0, issued.stderr
    serial = issued.stdout.split()[0]
    root = tmp_path / "root.pem"
    assert run(runner, "issuer", "root", "-o", root).exit_code == 0
    outputs = []
    for name in ("ani", "budi"):
        env = {"EMETERAI_HOME": str(tmp_path / name)}
        assert run(runner, "trust", "add", root, env=env).exit_code == 0
        imported = run(runner, "wallet", "import", stamps, env=env)
        assert imported.exit_code == 0, imported.stderr
        letter = attacks.make_letter(tmp_path / f"lamaran-{name}.pdf", [f"Lamaran {name}"])
        out = tmp_path / f"lamaran-{name}.emeterai.pdf"
        assert stamp_cli(runner, letter, out, env=env)["serial"] == serial
        outputs.append(out)
    return outputs[0], outputs[1], serial


def test_stamp_file_used_on_two_documents_is_serial_reused_with_a_shared_ledger(
    runner, reused, tmp_path
):
    first, second, serial = reused
    ledger = tmp_path / "seen.db"
    r1 = run(runner, "verify", first, "--ledger", ledger, "--json")
    assert r1.exit_code == 0, r1.stderr
    r2 = run(runner, "verify", second, "--ledger", ledger, "--json")
    assert r2.exit_code == 1
    (obj,) = json_lines(r2)
    assert problem_codes(obj) == {"serial-reused"}
    detail = obj["problems"][0]["detail"]
    assert serial in detail and str(first) in detail
    assert obj["stamps"][0]["problems"] == obj["problems"]
    # the first document keeps its serial; the same document verified again is fine
    again = run(runner, "verify", first, "--ledger", ledger, "--json")
    assert again.exit_code == 0, again.stderr
    copy = tmp_path / "copy-of-first.pdf"
    shutil.copyfile(first, copy)
    assert run(runner, "verify", copy, "--ledger", ledger).exit_code == 0
    # without the ledger neither document can tell
    assert run(runner, "verify", second).exit_code == 0


def test_ledger_reused_and_stats_report_the_reused_serial(runner, reused, tmp_path):
    first, second, serial = reused
    ledger = tmp_path / "seen.db"
    both = run(runner, "verify", first, second, "--ledger", ledger, "--json", "--jobs", "1")
    assert both.exit_code == 1
    assert [o["valid"] for o in json_lines(both)] == [True, False]

    listed = run(runner, "ledger", "reused", "--ledger", ledger, "--json")
    assert listed.exit_code == 0, listed.stderr
    (group,) = json_lines(listed)
    assert group["serial"] == serial
    assert [d["file"] for d in group["documents"]] == [str(first), str(second)]
    assert all(len(d["document_sha256"]) == 64 for d in group["documents"])

    human = run(runner, "ledger", "reused", "--ledger", ledger)
    assert f"{serial} on 2 documents:" in human.stdout
    assert str(second) in human.stdout

    stats = run(runner, "ledger", "stats", "--ledger", ledger, "--json")
    assert stats.exit_code == 0
    assert json_lines(stats) == [{"serials": 1, "documents": 2, "reused_serials": 1}]
