"""`emeterai issuer` on the command line (README), run in-process: init, root, issue, revoke,
crl, from an issuer to a buyer's wallet; the stamp files' passphrase, never the issuer key's."""

from __future__ import annotations

import json

import pytest

from emeterai import serial as serials
from emeterai.issuer import Issuer
from tests.support.cli import _assert_clean_failure, _run
from tests.support.common import PASSPHRASE

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
    assert f"issued 3 stamps of Rp6,000 into {out}" in result.stderr

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
    assert result.stderr == "3 stamps: 3 usable\n"
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


# -- the stamp files' passphrase ----------------------------------------------------------------


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
