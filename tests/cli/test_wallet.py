"""`emeterai wallet` on the command line (README): importing stamp files, trusted or not, under
the sellers' passphrases, on a terminal too."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emeterai.errors import PassphraseError, StampAlreadyUsed
from emeterai.i18n import moment
from emeterai.trust import TrustStore
from emeterai.wallet import Wallet
from tests.support.cli import _assert_clean_failure, _run, run
from tests.support.common import PASSPHRASE
from tests.support.terminal import Terminal, terminal_env


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


def test_wallet_import_on_a_terminal_asks_for_the_sellers_passphrase(home, issuer, tmp_path):
    TrustStore(home / "trust").add(issuer.root_pem(), "root")
    env = {**os.environ, "EMETERAI_HOME": str(home), "EMETERAI_STAMP_PASSPHRASE": "rahasia-penjual"}
    assert _run_env(env, "issuer", "issue", "-n", "2", "--out", tmp_path / "pack").returncode == 0
    term = Terminal(["wallet", "import", tmp_path / "pack"], terminal_env(home))
    term.answer("Passphrase for the new wallet (it also opens the stamp files):", "dompet-saya")
    term.answer("Repeat for confirmation:", "dompet-saya")
    term.answer("Passphrase for the 2 stamp files from the seller:", "rahasia-penjual")
    assert term.finish() == 0, term.screen
    assert "2 imported, 0 already present, 0 refused" in term.screen
    assert "dompet-saya" not in term.screen and "rahasia-penjual" not in term.screen
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


# -- wallet list --------------------------------------------------------------------------------


def _spend(wallet: Wallet, output: Path, document: str) -> str:
    """Spend one stamp as stamping records it; its serial."""
    r = wallet.reserve()
    wallet.mark_written(r, document, "ab" * 32, str(output), str(output) + ".tmp", "cd" * 32)
    wallet.commit(r)
    return r.serial


@pytest.fixture
def mixed_wallet(home, issuer, wallet_with_stamps, tmp_path, monkeypatch) -> dict[str, str]:
    """A wallet with one stamp used, one expired a week ago and two available (the expired
    one issued and imported while it was valid, by a clock set back ten days)."""
    from emeterai import issuer as issuer_module

    wallet = wallet_with_stamps(3)
    used = _spend(wallet, tmp_path / "lamaran.emeterai.pdf", "lamaran.pdf")
    back = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=10)
    with monkeypatch.context() as clock:
        clock.setattr(issuer_module, "_now", lambda: back)
        (old,) = issuer.issue(1, PASSPHRASE, valid_days=3)
    roots = TrustStore(home / "trust").certificates()
    (outcome,) = wallet.import_stamps(
        [("old.p12", old.p12)], PASSPHRASE, roots, now=back + dt.timedelta(days=1)
    )
    assert outcome.status == "imported", outcome.detail
    return {"used": used, "expired": old.serial}


def test_wallet_list_shows_each_stamp_its_state_and_where_it_was_used(
    runner, home, mixed_wallet, tmp_path
):
    result = _run(runner, "wallet", "list")
    assert result.exit_code == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert len(lines) == 4
    today = dt.datetime.now().astimezone().date().isoformat()
    used = lines[mixed_wallet["used"]]
    assert re.search(r"  Rp10,000  expires \d{4}-\d\d-\d\d  used  ", used), used
    assert f"  used  {today}  {tmp_path / 'lamaran.emeterai.pdf'}" in used
    assert lines[mixed_wallet["expired"]].endswith("  expired")
    available = [line for line in lines.values() if line.endswith("  available")]
    assert len(available) == 2
    assert result.stderr == "4 stamps: 2 usable, 1 used, 1 expired\n"


@pytest.mark.parametrize(
    ("filters", "wanted"),
    [
        (["--state", "expired"], {"expired"}),
        (["--state", "used", "--state", "EXPIRED"], {"used", "expired"}),
        (["--state", "available"], {"available"}),
    ],
)
def test_wallet_list_filters_by_state_in_words_and_json(
    runner, home, mixed_wallet, filters, wanted
):
    words = _run(runner, "wallet", "list", *filters)
    assert words.exit_code == 0, words.stderr
    shown = {line.split()[4] for line in words.stdout.splitlines()}
    assert shown == wanted
    count = len(words.stdout.splitlines())
    assert words.stderr == f"4 stamps: 2 usable, 1 used, 1 expired ({count} shown)\n"
    as_json = _run(runner, "wallet", "list", "--json", *filters)
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert {r["state"] for r in records} == wanted and len(records) == count
    if "expired" in wanted:
        (expired,) = [r for r in records if r["state"] == "expired"]
        assert expired["serial"] == mixed_wallet["expired"]


def test_wallet_list_totals_do_not_count_a_stamp_not_valid_yet_as_usable(
    runner, home, issuer, mixed_wallet, monkeypatch
):
    from emeterai import issuer as issuer_module

    ahead = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2)
    with monkeypatch.context() as clock:
        clock.setattr(issuer_module, "_now", lambda: ahead)
        (later,) = issuer.issue(1, PASSPHRASE, valid_days=30)
    roots = TrustStore(home / "trust").certificates()
    wallet = Wallet(home / "wallet" / "wallet.db")
    (outcome,) = wallet.import_stamps([("later.p12", later.p12)], PASSPHRASE, roots, now=ahead)
    assert outcome.status == "imported", outcome.detail
    result = _run(runner, "wallet", "list")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "5 stamps: 2 usable, 1 used, 1 expired, 1 not valid yet\n"
    assert wallet.require_usable() == 2


def test_wallet_list_refuses_an_unknown_state(runner, home):
    line = _assert_clean_failure(_run(runner, "wallet", "list", "--state", "spent"), 2)
    assert "--state: expected one of available, reserved, used, unsure, expired" in line


# -- backup, restore, passphrase change ---------------------------------------------------------


def test_export_and_restore_on_a_new_machine_keep_every_serials_state(
    runner, home, issuer, mixed_wallet, tmp_path, monkeypatch
):
    backup = tmp_path / "dompet.backup"
    result = _run(runner, "wallet", "export", "-o", backup)
    assert result.exit_code == 0, result.stderr
    assert backup.stat().st_mode & 0o077 == 0
    assert ": 4 stamps; it opens with today's passphrase" in result.stderr
    line = _assert_clean_failure(_run(runner, "wallet", "export", "-o", backup), 1)
    assert "already exists (use --force to overwrite)" in line
    before = _run(runner, "wallet", "list", "--json").stdout

    monkeypatch.setenv("EMETERAI_HOME", str(tmp_path / "new-laptop"))
    TrustStore(tmp_path / "new-laptop" / "trust").add(issuer.root_pem(), "root")
    result = _run(runner, "wallet", "restore", backup, "--json")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["added"]) == 4
    assert "4 added, 0 marked used or possibly used, 0 unchanged" in result.stderr
    assert _run(runner, "wallet", "list", "--json").stdout == before
    again = _run(runner, "wallet", "restore", backup)
    assert "0 added, 0 marked used or possibly used, 4 unchanged" in again.stderr
    restored = Wallet(tmp_path / "new-laptop" / "wallet" / "wallet.db")
    with pytest.raises(StampAlreadyUsed):
        restored.reserve(mixed_wallet["used"])


def test_restore_checks_the_issuer_as_import_does(runner, home, wallet_with_stamps, tmp_path):
    """On a machine that does not trust the stamps' issuer yet, restore refuses them as import
    would, saying how to trust it; --allow-untrusted restores them anyway."""
    wallet_with_stamps(2)
    backup = tmp_path / "dompet.backup"
    assert _run(runner, "wallet", "export", "-o", backup).exit_code == 0
    new_home = tmp_path / "new-laptop"
    env = {"EMETERAI_HOME": str(new_home)}
    line = _assert_clean_failure(run(runner, "wallet", "restore", backup, env=env))
    assert f"{backup}: stamp " in line and "does not chain to a trusted issuer root" in line
    assert "'emeterai trust add', or --allow-untrusted" in line
    assert Wallet(new_home / "wallet" / "wallet.db").entries() == []
    result = run(runner, "wallet", "restore", backup, "--allow-untrusted", env=env)
    assert result.exit_code == 0, result.stderr
    assert "2 added" in result.stderr


def test_restore_warns_that_stamps_used_after_the_backup_show_as_available(
    runner, home, issuer, wallet_with_stamps, tmp_path
):
    """Export, stamp a letter, restore the older backup elsewhere: the stamp just spent shows
    as available there, and restore says so on stderr with the backup's date (JSON too)."""
    from emeterai.demo import sample_letter

    wallet_with_stamps(2)
    backup = tmp_path / "dompet.backup"
    assert _run(runner, "wallet", "export", "-o", backup).exit_code == 0
    letter = tmp_path / "lamaran.pdf"
    letter.write_bytes(sample_letter())
    stamped = _run(runner, "stamp", letter, "-o", tmp_path / "lamaran.emeterai.pdf", "--json")
    assert stamped.exit_code == 0, stamped.stderr
    serial = json.loads(stamped.stdout.splitlines()[0])["serial"]

    new_home = tmp_path / "new-laptop"
    TrustStore(new_home / "trust").add(issuer.root_pem(), "root")
    result = run(
        runner, "wallet", "restore", backup, "--json", env={"EMETERAI_HOME": str(new_home)}
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    made = dt.datetime.fromisoformat(report["exported_at"])
    assert dt.datetime.now(dt.UTC) - made < dt.timedelta(minutes=5)
    assert serial in report["available_per_backup"]
    warning = f"emeterai: warning: this backup was made on {moment(made)}: "
    assert warning + "stamps used on the old machine after that show as available here" in (
        result.stderr
    )
    assert "stop using the old wallet, or one serial may be spent on two documents" in (
        result.stderr
    )
    restored = {e.serial: e.state for e in Wallet(new_home / "wallet" / "wallet.db").entries()}
    assert restored[serial] == "available"


def test_restore_of_a_file_that_is_not_a_backup_is_one_line(runner, home, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"nothing here" * 100)
    line = _assert_clean_failure(_run(runner, "wallet", "restore", junk), 1)
    assert f"{junk}: not an emeterai wallet backup" in line


def test_wallet_passphrase_from_files_changes_it(runner, home, wallet_with_stamps, tmp_path):
    wallet = wallet_with_stamps(2)
    new = tmp_path / "new.txt"
    new.write_text("kata-sandi-baru\n")
    result = _run(runner, "wallet", "passphrase", "--new-passphrase-file", new)
    assert result.exit_code == 0, result.stderr
    with pytest.raises(PassphraseError):
        wallet.unlock(PASSPHRASE)
    key = wallet.unlock("kata-sandi-baru")
    assert all(wallet.stamp_key(e.serial, key) for e in wallet.entries())
    # the old one, now wrong, is final without a terminal: no retry
    line = _assert_clean_failure(_run(runner, "wallet", "passphrase", "--new-passphrase-file", new))
    assert line == "emeterai: error: wrong passphrase for the wallet"


def test_wallet_passphrase_of_an_empty_wallet_says_to_import(runner, home):
    line = _assert_clean_failure(_run(runner, "wallet", "passphrase"), 1)
    assert "the wallet is empty: import stamps with 'emeterai wallet import'" in line
