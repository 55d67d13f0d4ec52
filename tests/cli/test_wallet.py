"""`emeterai wallet` on the command line (README): importing stamp files, trusted or not, under
the sellers' passphrases, on a terminal too."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from emeterai.errors import PassphraseError
from emeterai.trust import TrustStore
from emeterai.wallet import Wallet
from tests.support.cli import _assert_clean_failure, _run
from tests.support.common import PASSPHRASE


def test_untrusted_import_fails_with_a_clear_message(runner, home, stamp_secret, tmp_path):
    assert _run(runner, "issuer", "init", "--name", "Unknown Issuer").exit_code == 0
    assert _run(runner, "issuer", "issue", "-n", "1", "--out", tmp_path / "s").exit_code == 0
    result = _run(runner, "wallet", "import", tmp_path / "s")
    line = _assert_clean_failure(result, 1)
    assert "does not chain to a trusted issuer root" in line
    assert "'Unknown Issuer'" in line
    assert "0 imported, 0 already present, 1 refused" in result.stderr
    assert "imported" not in result.stdout
    assert Wallet(home / "wallet" / "wallet.db").entries() == []

    result = _run(runner, "wallet", "import", "--allow-untrusted", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    assert len(Wallet(home / "wallet" / "wallet.db").entries()) == 1


def test_import_of_a_missing_path_is_a_usage_error(runner, home, tmp_path):
    line = _assert_clean_failure(_run(runner, "wallet", "import", tmp_path / "nowhere"), 2)
    assert f"{tmp_path / 'nowhere'}: no such file or folder" in line


def test_packs_under_different_stamp_passphrases_share_one_wallet(
    runner, home, issuer, tmp_path, monkeypatch
):
    TrustStore(home / "trust").add(issuer.root_pem(), "root")
    for n, secret in enumerate(("first seller secret", "second seller secret")):
        monkeypatch.setenv("EMETERAI_STAMP_PASSPHRASE", secret)
        assert (
            _run(runner, "issuer", "issue", "-n", "2", "--out", tmp_path / f"p{n}").exit_code == 0
        )
        result = _run(runner, "wallet", "import", tmp_path / f"p{n}")
        assert result.exit_code == 0, result.stderr
        assert "2 imported" in result.stderr
    wallet = Wallet(home / "wallet" / "wallet.db")
    assert len(wallet.entries()) == 4
    with pytest.raises(PassphraseError):
        wallet.unlock("first seller secret")  # the wallet stays under EMETERAI_PASSPHRASE
    assert wallet.unlock(PASSPHRASE)
    monkeypatch.setenv("EMETERAI_STAMP_PASSPHRASE", "not the seller's")
    assert _run(runner, "issuer", "issue", "-n", "1", "--out", tmp_path / "p3").exit_code == 0
    monkeypatch.setenv("EMETERAI_STAMP_PASSPHRASE", "wrong guess")
    result = _run(runner, "wallet", "import", tmp_path / "p3")
    assert result.exit_code == 1
    assert "wrong passphrase, or not a PKCS#12 stamp file" in result.stderr
    assert len(wallet.entries()) == 4


# -- on a terminal ------------------------------------------------------------------------------


def _converse(args: list[str], env: dict[str, str], answers: list[tuple[str, str]]) -> str:
    """Run the CLI on a terminal, typing each answer when its prompt shows; returns the screen."""
    import pty
    import select
    import time

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "emeterai", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    screen, pending = "", list(answers)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                screen += chunk.decode("utf-8", "replace")
            if pending and pending[0][0] in screen:
                prompt, answer = pending.pop(0)
                screen = screen.replace(prompt, f"<{prompt}>", 1)
                time.sleep(0.5)  # getpass flushes input typed before it turns echo off
                os.write(leader, answer.encode() + b"\n")
            if proc.poll() is not None and not ready:
                break
    finally:
        os.close(leader)
        proc.wait(timeout=30)
    assert not pending, f"prompts never shown: {pending}\n{screen}"
    return screen


def test_wallet_import_on_a_terminal_asks_for_the_sellers_passphrase(home, issuer, tmp_path):
    TrustStore(home / "trust").add(issuer.root_pem(), "root")
    env = {**os.environ, "EMETERAI_HOME": str(home), "EMETERAI_STAMP_PASSPHRASE": "rahasia-penjual"}
    assert _run_env(env, "issuer", "issue", "-n", "2", "--out", tmp_path / "pack").returncode == 0
    env = {k: v for k, v in env.items() if not k.startswith("EMETERAI_") or k == "EMETERAI_HOME"}
    screen = _converse(
        ["wallet", "import", str(tmp_path / "pack")],
        env,
        [
            ("Passphrase for the stamp files and wallet:", "dompet-saya"),
            ("Passphrase for the 2 stamp file(s) from the seller:", "rahasia-penjual"),
        ],
    )
    assert "2 imported, 0 already present, 0 refused" in screen, screen
    assert "dompet-saya" not in screen and "rahasia-penjual" not in screen  # never echoed
    wallet = Wallet(home / "wallet" / "wallet.db")
    assert len(wallet.entries()) == 2
    assert wallet.unlock("dompet-saya")


def _run_env(env: dict[str, str], *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emeterai", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
