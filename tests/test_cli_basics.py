"""The command line for serials, issuer, wallet and trust (SPEC §3), run in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import PASSPHRASE

from emeterai import __version__
from emeterai import serial as serials
from emeterai.cli import app
from emeterai.errors import PassphraseError
from emeterai.issuer import Issuer
from emeterai.trust import TrustStore
from emeterai.wallet import Wallet


def _run(runner, *args: str):
    return runner.invoke(app, [str(a) for a in args])


def _assert_clean_failure(result, code: int = 1) -> str:
    """Exit ``code``, one 'emeterai: error:' line on stderr, no traceback; returns that line."""
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("emeterai: error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# -- serial check -------------------------------------------------------------------------------


def test_serial_check_accepts_a_well_formed_serial(runner):
    s = serials.generate("ABC")
    result = _run(runner, "serial", "check", serials.grouped(s).lower())
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{s}: well formed"
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("make_bad", "reason"),
    [
        (lambda s: s[:-1] + ("0" if s[-1] != "0" else "1"), "wrong check character"),
        (lambda s: s[:-1], "has 21 characters, expected 22"),
        (lambda s: "O" + s[1:], "not in the base32 alphabet"),
    ],
)
def test_serial_check_rejects_with_one_line_on_stderr(runner, make_bad, reason):
    bad = make_bad(serials.generate("ABC"))
    result = _run(runner, "serial", "check", bad)
    line = _assert_clean_failure(result, 1)
    assert reason in line
    assert bad in line
    assert result.stderr.strip() == line
    assert result.stdout == ""


# -- issuer, trust and wallet end to end --------------------------------------------------------


def test_issue_trust_import_and_list_end_to_end(runner, home, stamp_secret, tmp_path):
    result = _run(runner, "issuer", "init", "--name", "CLI Issuer", "--specimen")
    assert result.exit_code == 0, result.stderr
    assert "created issuer 'CLI Issuer' (specimen)" in result.stdout
    issuer = Issuer.open(home / "issuer")
    assert issuer.info.prefix in result.stdout and issuer.info.fingerprint in result.stdout

    root_pem = tmp_path / "issuer-root.pem"
    result = _run(runner, "issuer", "root", "-o", root_pem)
    assert result.exit_code == 0, result.stderr
    assert root_pem.read_bytes() == issuer.root_pem()

    out = tmp_path / "bought"
    result = _run(runner, "issuer", "issue", "--count", "3", "--out", out, "--value", "6000")
    assert result.exit_code == 0, result.stderr
    issued = result.stdout.split()
    assert len(issued) == 3 and all(serials.is_valid(s) for s in issued)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{s}.p12" for s in issued)
    assert all((out / f"{s}.p12").stat().st_mode & 0o077 == 0 for s in issued)
    assert "issued 3 stamp(s) of Rp6000" in result.stderr

    result = _run(runner, "trust", "add", root_pem)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("trusted: CLI Issuer (specimen)")
    result = _run(runner, "trust", "add", root_pem)
    assert result.stdout.startswith("already trusted: CLI Issuer")
    result = _run(runner, "trust", "list", "--json")
    (trusted,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert trusted["fingerprint"] == issuer.info.fingerprint and trusted["specimen"] is True

    result = _run(runner, "wallet", "import", out)
    assert result.exit_code == 0, result.stderr
    assert sorted(result.stdout.split()) == sorted(["imported"] * 3 + issued)
    assert "3 imported, 0 already present, 0 refused" in result.stderr

    result = _run(runner, "wallet", "import", out)
    assert result.exit_code == 0, result.stderr
    assert "0 imported, 3 already present, 0 refused" in result.stderr

    result = _run(runner, "wallet", "list", "--json")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["serial"] for r in rows) == sorted(issued)
    for row in rows:
        assert row["state"] == "available"
        assert row["value"] == 6000
        assert row["issuer"] == "CLI Issuer"
        assert row["specimen"] is True
        assert row["file"] is None
    assert result.stderr == ""

    result = _run(runner, "wallet", "list")
    assert result.exit_code == 0
    assert "3 stamp(s), 3 available" in result.stderr
    assert all(s in result.stdout for s in issued)


def test_issuer_init_twice_refuses(runner, home):
    assert _run(runner, "issuer", "init").exit_code == 0
    fingerprint = Issuer.open(home / "issuer").info.fingerprint
    line = _assert_clean_failure(_run(runner, "issuer", "init", "--name", "Again"))
    assert "already exists" in line
    assert Issuer.open(home / "issuer").info.fingerprint == fingerprint


def test_issue_without_an_issuer_says_to_init(runner, home, tmp_path):
    line = _assert_clean_failure(
        _run(runner, "issuer", "issue", "-n", "1", "--out", tmp_path / "x")
    )
    assert "emeterai issuer init" in line
    assert not (tmp_path / "x").exists()


def test_revoke_and_crl(runner, home, stamp_secret, tmp_path):
    from cryptography import x509

    assert _run(runner, "issuer", "init").exit_code == 0
    result = _run(runner, "issuer", "issue", "-n", "2", "--out", tmp_path / "s")
    first, second = result.stdout.split()
    result = _run(runner, "issuer", "revoke", serials.grouped(first))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"revoked {first}"
    crl_path = tmp_path / "issuer.crl"
    result = _run(runner, "issuer", "crl", "-o", crl_path)
    assert result.exit_code == 0, result.stderr
    crl = x509.load_pem_x509_crl(crl_path.read_bytes())
    assert len(list(crl)) == 1
    assert crl.is_signature_valid(Issuer.open(home / "issuer").root.public_key())

    unknown = serials.generate(Issuer.open(home / "issuer").info.prefix)
    line = _assert_clean_failure(_run(runner, "issuer", "revoke", unknown))
    assert f"serial {unknown} was not issued by this issuer" in line


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


def test_trust_add_of_a_non_ca_names_the_file(runner, home, tmp_path):
    bad = tmp_path / "not-a-root.pem"
    bad.write_text("hello")
    line = _assert_clean_failure(_run(runner, "trust", "add", bad))
    assert f"{bad}: not a PEM or DER certificate" in line
    assert TrustStore(home / "trust").roots() == []


# -- passphrases --------------------------------------------------------------------------------


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


def test_issue_needs_a_stamp_passphrase_of_its_own(runner, home, issuer, tmp_path):
    """Buyers get the stamp files' passphrase: it must never be the issuer key's."""
    out = tmp_path / "s"
    line = _assert_clean_failure(_run(runner, "issuer", "issue", "-n", "1", "--out", out), 1)
    assert "set EMETERAI_STAMP_PASSPHRASE or use --stamp-passphrase-file" in line
    assert not out.exists()


def test_issue_refuses_the_issuer_passphrase_for_the_stamp_files(
    runner, home, issuer, tmp_path, monkeypatch
):
    monkeypatch.setenv("EMETERAI_STAMP_PASSPHRASE", PASSPHRASE)
    out = tmp_path / "s"
    line = _assert_clean_failure(_run(runner, "issuer", "issue", "-n", "1", "--out", out), 2)
    assert "must differ from the issuer key's" in line
    assert not out.exists()


def test_issued_stamp_files_open_with_the_stamp_passphrase_only(
    runner, home, issuer, stamp_secret, tmp_path
):
    from cryptography.hazmat.primitives.serialization import pkcs12

    out = tmp_path / "s"
    result = _run(runner, "issuer", "issue", "-n", "1", "--out", out)
    assert result.exit_code == 0, result.stderr
    (p12,) = out.iterdir()
    assert pkcs12.load_pkcs12(p12.read_bytes(), stamp_secret.encode()).key is not None
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(p12.read_bytes(), PASSPHRASE.encode())


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


# -- program-level ------------------------------------------------------------------------------


def test_version(runner):
    result = _run(runner, "--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"emeterai {__version__}"


def test_unknown_option_is_a_usage_error(runner):
    result = _run(runner, "serial", "check", "--no-such-option")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


_HELP_IMPORTS = textwrap.dedent(
    """
    import json, sys
    from emeterai.cli import main
    sys.argv = ["emeterai", "--help"]
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    heavy = sorted(m for m in ("pyhanko", "pypdf", "reportlab") if m in sys.modules)
    print(json.dumps({"code": code, "heavy": heavy}))
    """
)


def test_help_runs_as_a_module_without_heavy_imports(tmp_path):
    env = {**os.environ, "EMETERAI_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "emeterai", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout
    for group in ("issuer", "wallet", "trust", "serial"):
        assert group in done.stdout

    probe = subprocess.run(
        [sys.executable, "-c", _HELP_IMPORTS], capture_output=True, text=True, env=env, timeout=60
    )
    assert probe.returncode == 0, probe.stderr
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    assert report["code"] in (0, None)
    assert report["heavy"] == []


# -- --verbose --------------------------------------------------------------------------------


def _cli(home, *args: str, secret: str = PASSPHRASE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EMETERAI_HOME": str(home), "EMETERAI_PASSPHRASE": secret}
    env.pop("EMETERAI_STAMP_PASSPHRASE", None)
    return subprocess.run(
        [sys.executable, "-m", "emeterai", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def test_verbose_adds_the_traceback_but_never_the_passphrase(home, issuer, tmp_path):
    wrong = "salah-sekali-rahasia"
    quiet = _cli(home, "issuer", "crl", "-o", tmp_path / "x.crl", secret=wrong)
    assert quiet.returncode == 1
    assert quiet.stderr == "emeterai: error: wrong passphrase for the issuer key\n"
    loud = _cli(home, "--verbose", "issuer", "crl", "-o", tmp_path / "x.crl", secret=wrong)
    assert loud.returncode == 1
    assert "Traceback (most recent call last)" in loud.stderr
    assert "PassphraseError: wrong passphrase for the issuer key" in loud.stderr
    assert loud.stderr.rstrip().endswith("emeterai: error: wrong passphrase for the issuer key")
    assert wrong not in loud.stderr + loud.stdout
    assert not (tmp_path / "x.crl").exists()


def test_verbose_shows_why_a_file_in_a_batch_was_not_stamped(home, wallet_with_stamps, tmp_path):
    wallet_with_stamps(1)
    bad = tmp_path / "bukan.pdf"
    bad.write_text("bukan PDF")
    quiet = _cli(home, "stamp", bad)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    assert f"emeterai: error: {bad}: not a PDF (no %PDF- header)" in quiet.stderr.splitlines()
    loud = _cli(home, "--verbose", "stamp", bad)
    assert loud.returncode == 1
    assert "Traceback (most recent call last)" in loud.stderr
    assert "PdfError" in loud.stderr and f"{bad}: not stamped" in loud.stderr
    assert PASSPHRASE not in loud.stderr

    others = [tmp_path / f"bukan-{n}.pdf" for n in range(4)]
    for path in others:
        path.write_text("bukan PDF")
    pooled = _cli(home, "--verbose", "stamp", "--jobs", "2", *others)  # worker processes
    assert pooled.returncode == 1
    assert pooled.stderr.count("Traceback (most recent call last)") == len(others), pooled.stderr
    assert all(f"{path}: not stamped" in pooled.stderr for path in others)
    quiet_pool = _cli(home, "stamp", "--jobs", "2", *others)
    assert quiet_pool.returncode == 1 and "Traceback" not in quiet_pool.stderr


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
