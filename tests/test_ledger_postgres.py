"""The shared PostgreSQL ledger (README, Ledgers): many verifier processes, one record of first sightings.

Runs against a real server (tests/pgserver.py); the backend-neutral ledger tests are in
test_ledger.py, parametrised over SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from reportlab.pdfgen.canvas import Canvas

from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.wallet import Wallet
from tests.support.common import PASSPHRASE, _missing
from tests.support.pgserver import fresh_database


def make_letter(path: Path, number: int) -> Path:
    """A small one-page letter, different for every ``number``, with a Meterai placeholder."""
    c = Canvas(str(path), invariant=1)
    c.drawString(72, 760, f"Surat lamaran nomor {number}")
    c.drawString(400, 200, "Meterai 10.000")
    c.save()
    return path


def _verify_cmd(home: Path, files: list[Path], ledger: str) -> list[str]:
    return [
        sys.executable,
        "-u",
        "-m",
        "emeterai",
        "verify",
        *map(str, files),
        "--ledger",
        ledger,
        "--json",
        "--jobs",
        "1",
    ]


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "EMETERAI_HOME": str(home), "EMETERAI_PASSPHRASE": PASSPHRASE}


@pytest.fixture
def stamped_set(home, issuer, wallet_with_stamps, stamp_files, tmp_path):
    """20 stamped letters copied to 200 files, plus one more letter stamped with a copy of the
    first letter's stamp file outside the wallet (the reuse fraud), copied 5 times."""
    wallet = wallet_with_stamps(20)
    key = wallet.unlock(PASSPHRASE)
    docs = tmp_path / "docs"
    docs.mkdir()
    stamped = []
    for i in range(20):
        src = make_letter(docs / f"letter{i}.pdf", i)
        out = docs / f"letter{i}.emeterai.pdf"
        stamped.append((stamp_file(src, out, wallet, key, StampOptions()), out))
    files = []
    for n in range(200):
        result, out = stamped[n % 20]
        copy = tmp_path / "set" / f"a{n:03d}.pdf"
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(out, copy)
        files.append(copy)

    # The fraud: the p12 of a used serial, imported into another wallet, stamps another letter.
    reused_serial = stamped[0][0].serial
    p12 = next(p for p in (tmp_path).rglob(f"{reused_serial}.p12"))
    other = Wallet(tmp_path / "other-wallet.db")
    other.import_stamps(
        [(str(p12), p12.read_bytes())], PASSPHRASE, TrustStore(home / "trust").certificates()
    )
    fraud_src = make_letter(docs / "fraud.pdf", 999)
    fraud_out = docs / "fraud.emeterai.pdf"
    result = stamp_file(fraud_src, fraud_out, other, other.unlock(PASSPHRASE), StampOptions())
    assert result.serial == reused_serial
    fraud = []
    for n in range(5):
        copy = tmp_path / "set" / f"b{n}.pdf"
        shutil.copyfile(fraud_out, copy)
        fraud.append(copy)
    return files, fraud, reused_serial, stamped[0][0].document_sha256, result.document_sha256


def test_four_verifiers_on_one_postgres_ledger_agree_on_the_reused_serial(
    home, postgres_server, stamped_set, tmp_path
):
    files, fraud, reused_serial, first_digest, fraud_digest = stamped_set
    url = fresh_database(postgres_server)
    everything = files + fraud
    # Four overlapping sets of 200 (of 205 files), every file in at least three of them.
    sets = [everything[k * 50 :] + everything[: k * 50] for k in range(4)]
    sets = [s[:200] for s in sets]
    procs = [
        subprocess.Popen(
            _verify_cmd(home, s, url),
            env=_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in sets
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    lines = [json.loads(line) for out, _ in outputs for line in out.splitlines()]
    assert len(lines) == 800
    reused = [r for r in lines if any(p["code"] == "serial-reused" for p in r["problems"])]
    by_digest: dict[str, list[dict]] = {}
    for r in lines:
        if r["serial"] == reused_serial:
            by_digest.setdefault(r["document_sha256"], []).append(r)
    assert set(by_digest) == {first_digest, fraud_digest}
    # Exactly one of the two documents owns the serial: every verification of the other one,
    # and only those, is serial-reused, whatever the order the four processes ran in.
    flagged = {d for d, rs in by_digest.items() if any(r in reused for r in rs)}
    assert len(flagged) == 1
    (extra,) = flagged
    assert all(r in reused for r in by_digest[extra])
    assert len(reused) == len(by_digest[extra])
    assert all(r["valid"] for r in lines if r not in reused)
    owner_file = next(r["file"] for r in by_digest[({first_digest, fraud_digest} - {extra}).pop()])
    assert all("first seen on" in p["detail"] for r in reused for p in r["problems"])
    assert {Path(owner_file).name[0]} <= {"a", "b"}

    listed = subprocess.run(
        [sys.executable, "-m", "emeterai", "ledger", "reused", "--ledger", url, "--json"],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    groups = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [g["serial"] for g in groups] == [reused_serial]
    assert {d["document_sha256"] for d in groups[0]["documents"]} == {first_digest, fraud_digest}
    assert all(d["file"] and d["first_seen"] for d in groups[0]["documents"])


def test_stopping_the_server_mid_batch_never_reports_unrecorded_files_as_valid(
    home, stamped_set, tmp_path
):
    from tests.support.pgserver import pg_bin, start_server

    if pg_bin() is None:
        _missing("PostgreSQL server is not installed")
    files, _, _, _, _ = stamped_set
    server = start_server()
    try:
        proc = subprocess.Popen(
            _verify_cmd(home, files, server.url),
            env=_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        # one JSON line per file as it is verified (the human lines of valid files come last)
        first = [proc.stdout.readline() for _ in range(20)]
        server.stop()
        out, err = proc.communicate(timeout=300)
    finally:
        server.destroy()
    results = [json.loads(line) for line in [*first, *out.splitlines()] if line.strip()]
    assert len(results) == 200
    assert proc.returncode == 1
    first_failure = next(i for i, r in enumerate(results) if not r["valid"])
    assert first_failure >= 20
    for r in results[first_failure:]:
        assert r["valid"] is False
        assert [p["code"] for p in r["problems"]] == ["ledger-unavailable"]
        assert "ledger postgresql://" in r["problems"][0]["detail"]
    assert all(r["valid"] for r in results[:first_failure])
    assert "Traceback" not in err


def test_an_unreachable_or_missing_database_is_a_clear_error(
    home, runner, postgres_server, tmp_path
):
    from emeterai.cli import app

    letter = make_letter(tmp_path / "x.pdf", 1)
    missing = postgres_server.rsplit("/", 1)[0] + "/no_such_database"
    result = runner.invoke(app, ["verify", str(letter), "--ledger", missing])
    assert result.exit_code == 2  # the ledger given cannot be opened: a usage error
    assert 'database "no_such_database" does not exist' in result.stderr
    assert "Traceback" not in result.stderr
    with psycopg.connect(postgres_server) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    refused = "postgresql://postgres:hunter2@127.0.0.1:1/postgres"
    start = time.monotonic()
    result = runner.invoke(app, ["ledger", "stats", "--ledger", refused])
    assert result.exit_code == 2
    assert "cannot connect" in result.stderr
    assert "hunter2" not in result.stderr
    assert time.monotonic() - start < 30


def _as_role(url: str, role: str) -> str:
    """``url`` with its user replaced by ``role`` (the test server trusts local connections)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{role}@{rest.split('@', 1)[1]}"


def test_a_verifier_role_with_select_and_insert_rights_only_records_first_sightings(
    postgres_server,
):
    """The deployment gives verifiers no DDL and no UPDATE: recording must still work."""
    import secrets

    from emeterai.ledger import open_ledger

    url = fresh_database(postgres_server)
    open_ledger(url).close()  # the administrator creates the tables once
    role = f"verifier_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT SELECT, INSERT ON emeterai_serials, emeterai_sightings TO {role}")
        conn.execute(f"GRANT USAGE ON SEQUENCE emeterai_sightings_seq_seq TO {role}")
        conn.execute(f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {role}")
    verifier_url = _as_role(url, role)
    with (
        psycopg.connect(verifier_url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("UPDATE emeterai_serials SET file = file")  # the role really cannot

    ledger = open_ledger(verifier_url)
    serial = "ABC0123456789DEFGHJKM0"
    first = ledger.record(serial, "a" * 64, "ani.pdf")
    assert (first.file, first.document_sha256) == ("ani.pdf", "a" * 64)
    other = ledger.record(serial, "b" * 64, "budi.pdf")
    assert (other.file, other.document_sha256) == ("ani.pdf", "a" * 64)
    again = ledger.record(serial, "a" * 64, "ani-lagi.pdf")
    assert again.file == "ani.pdf"
    stats = ledger.stats()
    assert (stats.serials, stats.documents, stats.reused_serials) == (1, 2, 1)
    (group,) = ledger.reused()
    assert [s.file for s in group] == ["ani.pdf", "budi.pdf"]
    ledger.close()


def test_reading_a_database_without_a_ledger_creates_nothing(postgres_server, runner, home):
    from emeterai.cli import app

    url = fresh_database(postgres_server)
    for command in ("reused", "stats"):
        result = runner.invoke(app, ["ledger", command, "--ledger", url])
        assert result.exit_code == 2, result.stdout  # as a SQLite ledger file that is not there
        assert "no emeterai tables (nothing recorded yet)" in result.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('emeterai_serials')").fetchone() == (None,)
