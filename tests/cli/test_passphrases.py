"""The passphrase of the issuer key and the wallet on the command line (README):
``--passphrase-file``, then EMETERAI_PASSPHRASE; a missing, empty or wrong one is one clear line.
"""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from emeterai import serial as serials
from emeterai.errors import PassphraseError
from emeterai.issuer import Issuer
from emeterai.trust import TrustStore
from emeterai.wallet import Wallet
from tests.support.cli import _assert_clean_failure, _run
from tests.support.common import PASSPHRASE
from tests.support.terminal import Terminal, terminal_env


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


# -- at a terminal: a new secret typed twice, a wrong one typed again ---------------------------


def test_a_new_wallet_asks_for_its_passphrase_twice_and_again_after_a_typo(
    home, issuer, stamp_files
):
    pack = stamp_files(1)[0].parent
    term = Terminal(
        ["wallet", "import", pack], terminal_env(home, EMETERAI_STAMP_PASSPHRASE=PASSPHRASE)
    )
    term.answer("Passphrase for the new wallet:", "dompet-saya")
    term.answer("Repeat for confirmation:", "dompet-sayaa")
    term.expect("the two entries differ; type them again")
    term.answer("Passphrase for the new wallet:", "dompet-saya")
    term.answer("Repeat for confirmation:", "dompet-saya")
    assert term.finish() == 0, term.screen
    assert "1 imported" in term.screen
    wallet = Wallet(home / "wallet" / "wallet.db")
    assert wallet.unlock("dompet-saya")
    with pytest.raises(PassphraseError):
        wallet.unlock("dompet-sayaa")


def test_importing_into_an_existing_wallet_asks_once_and_allows_three_tries(
    home, wallet_with_stamps, stamp_files
):
    wallet = wallet_with_stamps(1)
    pack = stamp_files(1)[0].parent
    term = Terminal(
        ["wallet", "import", pack], terminal_env(home, EMETERAI_STAMP_PASSPHRASE=PASSPHRASE)
    )
    term.answer("Passphrase for the wallet:", "salah satu")
    term.expect("emeterai: wrong passphrase for the wallet; 2 tries left")
    term.answer("Passphrase for the wallet:", "salah dua")
    term.expect("emeterai: wrong passphrase for the wallet; 1 try left")
    term.answer("Passphrase for the wallet:", "salah tiga")
    assert term.finish() == 1
    assert term.screen.rstrip().endswith("emeterai: error: wrong passphrase for the wallet")
    assert "Repeat for confirmation" not in term.screen
    assert len(wallet.entries()) == 1

    term = Terminal(
        ["wallet", "import", pack], terminal_env(home, EMETERAI_STAMP_PASSPHRASE=PASSPHRASE)
    )
    term.answer("Passphrase for the wallet:", "salah")
    term.answer("Passphrase for the wallet:", PASSPHRASE)
    assert term.finish() == 0, term.screen
    assert "1 imported" in term.screen and "1 try left" not in term.screen
    assert len(wallet.entries()) == 2


def test_wallet_passphrase_at_a_terminal_retries_the_old_and_confirms_the_new(
    home, wallet_with_stamps
):
    wallet = wallet_with_stamps(2)
    term = Terminal(["wallet", "passphrase"], terminal_env(home))
    term.answer("Passphrase for the wallet (current):", "lupa")
    term.expect("2 tries left")
    term.answer("Passphrase for the wallet (current):", PASSPHRASE)
    term.answer("Passphrase for the wallet (new):", "kata-sandi-baru")
    term.answer("Repeat for confirmation:", "kata-sandi-baru")
    assert term.finish() == 0, term.screen
    assert "the wallet's passphrase is changed" in term.screen
    assert PASSPHRASE not in term.screen and "kata-sandi-baru" not in term.screen
    key = wallet.unlock("kata-sandi-baru")
    assert all(wallet.stamp_key(e.serial, key) for e in wallet.entries())


def test_a_wrong_passphrase_from_the_environment_is_final_even_at_a_terminal(
    home, issuer, tmp_path
):
    term = Terminal(
        ["issuer", "crl", "-o", tmp_path / "c.pem"], terminal_env(home, EMETERAI_PASSPHRASE="salah")
    )
    assert term.finish() == 1
    assert "emeterai: error: wrong passphrase for the issuer key" in term.screen
    assert "tries left" not in term.screen and "Passphrase for" not in term.screen
    assert not (tmp_path / "c.pem").exists()


def test_issuer_issue_refuses_the_issuer_passphrase_before_asking_it_twice(home, issuer, tmp_path):
    out = tmp_path / "stamps"
    term = Terminal(
        ["issuer", "issue", "-n", "1", "--out", out],
        terminal_env(home, EMETERAI_PASSPHRASE=PASSPHRASE),
    )
    term.answer("Passphrase for the new stamp files:", PASSPHRASE)
    assert term.finish() == 2
    assert "the stamp files' passphrase must differ from the issuer key's" in term.screen
    assert "Repeat for confirmation" not in term.screen
    assert not out.exists()

    term = Terminal(["issuer", "issue", "-n", "1", "--out", out], terminal_env(home))
    term.answer("Passphrase for the issuer key:", "bukan")
    term.expect("wrong passphrase for the issuer key; 2 tries left")
    term.answer("Passphrase for the issuer key:", PASSPHRASE)
    term.answer("Passphrase for the new stamp files:", "untuk-pembeli")
    term.answer("Repeat for confirmation:", "untuk-pembeli")
    assert term.finish() == 0, term.screen
    assert "issued 1 stamp of Rp10,000" in term.screen
    (p12,) = out.iterdir()
    pkcs12.load_pkcs12(p12.read_bytes(), b"untuk-pembeli")


def test_issuer_revoke_asks_for_the_issuer_passphrase_at_a_terminal(home, issuer):
    (stamp,) = issuer.issue(1, PASSPHRASE)
    term = Terminal(["issuer", "revoke", stamp.serial], terminal_env(home))
    term.answer("Passphrase for the issuer key:", "bukan")
    term.expect("2 tries left")
    term.answer("Passphrase for the issuer key:", PASSPHRASE)
    assert term.finish() == 0, term.screen
    assert f"revoked {stamp.serial}" in term.screen
    assert _revoked(issuer) == 1


def _revoked(issuer: Issuer) -> int:
    from cryptography import x509

    return len(list(x509.load_pem_x509_crl(issuer.crl(PASSPHRASE))))


def test_issuer_revoke_needs_the_issuer_passphrase(runner, home, issuer, tmp_path, monkeypatch):
    (stamp,) = issuer.issue(1, PASSPHRASE)
    monkeypatch.delenv("EMETERAI_PASSPHRASE")
    line = _assert_clean_failure(_run(runner, "issuer", "revoke", stamp.serial), 1)
    assert "a passphrase is needed for the issuer key: set EMETERAI_PASSPHRASE" in line
    line = _assert_clean_failure(_run(runner, "issuer", "revoke", "NOT-A-SERIAL"), 1)
    assert "NOT-A-SERIAL" in line  # a mistyped serial is refused before any secret is asked
    unknown = serials.generate(issuer.info.prefix)
    line = _assert_clean_failure(_run(runner, "issuer", "revoke", unknown), 1)
    assert f"serial {unknown} was not issued by this issuer" in line  # so is one never issued
    monkeypatch.setenv("EMETERAI_PASSPHRASE", "salah")
    line = _assert_clean_failure(_run(runner, "issuer", "revoke", stamp.serial), 1)
    assert line == "emeterai: error: wrong passphrase for the issuer key"
    assert _revoked(issuer) == 0
    secret = tmp_path / "issuer-secret.txt"
    secret.write_text(PASSPHRASE + "\n")
    result = _run(runner, "issuer", "revoke", stamp.serial, "--passphrase-file", secret)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"revoked {stamp.serial}\n"
    assert _revoked(issuer) == 1
