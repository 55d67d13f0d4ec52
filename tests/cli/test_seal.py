"""``emeterai seal`` and the timestamp authorities' trust (``trust add --tsa``, ``--tsa-trust``)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.support.cli import json_lines, run, stamp_cli
from tests.support.common import PASSPHRASE, PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "samples" / "lamaran.pdf"


@pytest.fixture
def stamped(runner, home, wallet_with_stamps, tmp_path) -> Path:
    wallet_with_stamps(2)
    src = tmp_path / "lamaran.pdf"
    shutil.copyfile(SAMPLE, src)
    out = tmp_path / "lamaran.emeterai.pdf"
    stamp_cli(runner, src, out)
    return out


def test_seal_writes_beside_the_input_and_leaves_it_unchanged(
    runner, stamped, tsa, pki, issuer, tmp_path
):
    before = hashlib.sha256(stamped.read_bytes()).hexdigest()
    crl = tmp_path / "issuer.crl"
    crl.write_bytes(issuer.crl(PASSPHRASE))
    result = run(runner, "seal", stamped, "--tsa", tsa, "--crl", crl, "--json")
    assert result.exit_code == 0, result.stderr
    (record,) = json_lines(result)
    sealed = stamped.with_name("lamaran.emeterai.sealed.pdf")
    assert record["output"] == str(sealed) and sealed.is_file()
    assert hashlib.sha256(stamped.read_bytes()).hexdigest() == before
    assert "sealed" in result.stderr
    again = run(runner, "seal", stamped, "--tsa", tsa)
    assert again.exit_code == 1 and "already exists" in again.stderr  # never overwritten silently

    untrusted = json_lines(run(runner, "verify", sealed, "--json"))[0]
    assert [p["code"] for p in untrusted["problems"]] == ["untrusted-timestamp"]
    once = json_lines(run(runner, "verify", sealed, "--json", "--tsa-trust", pki.root_pem))[0]
    assert once["valid"] and once["stamps"][0]["level"] == "B-LTA"
    added = run(runner, "trust", "add", "--tsa", pki.root_pem)
    assert added.exit_code == 0, added.stderr
    (listed,) = json_lines(run(runner, "trust", "list", "--tsa", "--json"))
    issuers = json_lines(run(runner, "trust", "list", "--json"))
    assert listed["fingerprint"] not in {r["fingerprint"] for r in issuers}
    trusted = run(runner, "verify", sealed, "--json")
    assert trusted.exit_code == 0
    (obj,) = json_lines(trusted)
    assert obj["stamps"][0]["proven_by"] is not None
    assert "proven by a timestamp" in trusted.stderr


def test_seal_of_an_unstamped_file_or_an_unreachable_tsa_writes_nothing(
    runner, home, tmp_path, stamped
):
    plain = tmp_path / "plain.pdf"
    shutil.copyfile(SAMPLE, plain)
    result = run(runner, "seal", plain, "--tsa", "http://127.0.0.1:9/")
    assert result.exit_code == 1 and "nothing to seal" in result.stderr
    unreachable = run(runner, "seal", stamped, "--tsa", "http://127.0.0.1:9/")
    assert unreachable.exit_code == 1 and "cannot get a timestamp" in unreachable.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if "sealed" in p.name) == []


def test_a_tsa_root_must_be_a_ca_or_a_self_signed_timestamping_certificate(
    runner, home, issuer, tmp_path, pki
):
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(pki.tsa_cert_pem.read_bytes())  # issued by the CA: not a root
    result = run(runner, "trust", "add", "--tsa", leaf)
    assert result.exit_code != 0 and "TSA root is needed" in result.stderr
