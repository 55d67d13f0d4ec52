"""The passphrase of the issuer key and the wallet on the command line (README):
``--passphrase-file``, then EMETERAI_PASSPHRASE; a missing, empty or wrong one is one clear line.
"""

from __future__ import annotations

import os

import pytest

from emeterai.issuer import Issuer
from emeterai.trust import TrustStore
from emeterai.wallet import Wallet
from tests.support.cli import _assert_clean_failure, _run
from tests.support.common import PASSPHRASE


def test_passphrase_file_is_used(runner, home, tmp_path, monkeypatch):
    monkeypatch.delenv("EMETERAI_PASSPHRASE")
    secret = tmp_path / "secret.txt"
    secret.write_text("file secret\nsecond line is ignored\n")
    assert _run(runner, "issuer", "init", "--passphrase-file", secret).exit_code == 0
    issuer = Issuer.open(home / "issuer")
    issuer.crl("file secret")  # the key opens with the file's first line

    for_buyer = tmp_path / "stamp-secret.txt"
    for_buyer.write_text("buyer secret\n")
    result = _run(
        runner,
        "issuer",
        "issue",
        "-n",
        "1",
        "--out",
        tmp_path / "s",
        "--passphrase-file",
        secret,
        "--stamp-passphrase-file",
        for_buyer,
    )
    assert result.exit_code == 0, result.stderr
    TrustStore(home / "trust").add(issuer.root_pem(), "root")
    result = _run(
        runner,
        "wallet",
        "import",
        tmp_path / "s",
        "--passphrase-file",
        secret,
        "--stamp-passphrase-file",
        for_buyer,
    )
    assert result.exit_code == 0, result.stderr
    assert Wallet(home / "wallet" / "wallet.db").unlock("file secret")


def test_passphrase_file_wins_over_the_environment(runner, home, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("file secret\n")
    assert os.environ["EMETERAI_PASSPHRASE"] == PASSPHRASE
    assert _run(runner, "issuer", "init", "--passphrase-file", secret).exit_code == 0
    line = _assert_clean_failure(_run(runner, "issuer", "crl", "-o", tmp_path / "c.pem"))
    assert "wrong passphrase for the issuer key" in line


def test_empty_passphrase_file_is_refused(runner, home, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    line = _assert_clean_failure(_run(runner, "issuer", "init", "--passphrase-file", empty))
    assert f"{empty}: the passphrase file is empty" in line
    assert not (home / "issuer" / "issuer.json").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["issuer", "init"],
        ["issuer", "issue", "-n", "1", "--out", "OUT"],
        ["wallet", "import", "STAMPS"],
    ],
    ids=["issuer-init", "issuer-issue", "wallet-import"],
)
def test_without_a_passphrase_the_command_fails_naming_the_variable(
    runner, home, tmp_path, monkeypatch, issuer, stamp_files, command
):
    stamps = stamp_files(1)[0].parent
    monkeypatch.delenv("EMETERAI_PASSPHRASE")
    if command[:2] == ["issuer", "init"]:
        monkeypatch.setenv("EMETERAI_HOME", str(tmp_path / "fresh-home"))
    args = [
        str(tmp_path / "out") if a == "OUT" else str(stamps) if a == "STAMPS" else a
        for a in command
    ]
    line = _assert_clean_failure(_run(runner, *args), 1)
    assert "set EMETERAI_PASSPHRASE or use --passphrase-file" in line
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "fresh-home" / "issuer" / "issuer.json").exists()


def test_wrong_passphrase_is_one_line_without_traceback(
    runner, home, issuer, stamp_secret, tmp_path, monkeypatch
):
    monkeypatch.setenv("EMETERAI_PASSPHRASE", "not the passphrase")
    line = _assert_clean_failure(
        _run(runner, "issuer", "issue", "-n", "1", "--out", tmp_path / "s")
    )
    assert line == "emeterai: error: wrong passphrase for the issuer key"
    assert "not the passphrase" not in line
