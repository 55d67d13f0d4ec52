"""The verifiers' ledger (README): serial -> first document, reuse detection, concurrency."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from emeterai.errors import LedgerError
from emeterai.issuer import Issuer
from emeterai.ledger import Ledger, SqliteLedger, _redact, apply, open_ledger
from emeterai.stamp import StampOptions, stamp_file
from emeterai.trust import TrustStore
from emeterai.verify import SERIAL_REUSED, UNTRUSTED_ISSUER, Verifier
from tests.support import attacks
from tests.support.common import PASSPHRASE, PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "samples" / "lamaran.pdf"
S1 = "XX2J13WJAVP7BWQ44BX373"
S2 = "XX2N8MF9489SRTEXB06ABT"
DOC_A = "a" * 64
DOC_B = "b" * 64
DOC_C = "c" * 64


@pytest.fixture
def ledger(ledger_location: str) -> Ledger:
    """A fresh ledger on each backend (SQLite file, PostgreSQL database): the same tests run on both."""
    return open_ledger(ledger_location)


# -- record ---------------------------------------------------------------------------------------


def test_first_document_recorded_for_a_serial_owns_it(ledger):
    first = ledger.record(S1, DOC_A, "a.pdf")
    assert (first.serial, first.document_sha256, first.file) == (S1, DOC_A, "a.pdf")
    again = ledger.record(S1, DOC_B, "b.pdf")
    assert (again.document_sha256, again.file) == (DOC_A, "a.pdf")
    assert again.first_seen == first.first_seen
    third = ledger.record(S1, DOC_C, "c.pdf")
    assert third.document_sha256 == DOC_A


def test_same_document_recorded_twice_is_one_sighting_and_stays_first(ledger):
    ledger.record(S1, DOC_A, "a.pdf")
    again = ledger.record(S1, DOC_A, "copy-of-a.pdf")
    assert (again.document_sha256, again.file) == (DOC_A, "a.pdf")
    assert ledger.stats().documents == 1
    assert ledger.reused() == []


def test_serials_are_independent(ledger):
    ledger.record(S1, DOC_A, "a.pdf")
    first = ledger.record(S2, DOC_B, "b.pdf")
    assert first.document_sha256 == DOC_B
    assert ledger.reused() == []


def test_reused_lists_each_reused_serial_with_all_its_documents_first_first(ledger):
    ledger.record(S1, DOC_A, "a.pdf")
    ledger.record(S2, DOC_C, "c.pdf")
    ledger.record(S1, DOC_B, "b.pdf")
    ledger.record(S1, DOC_C, "c.pdf")
    ledger.record(S1, DOC_A, "a-again.pdf")
    (group,) = ledger.reused()
    assert [(s.serial, s.document_sha256, s.file) for s in group] == [
        (S1, DOC_A, "a.pdf"),
        (S1, DOC_B, "b.pdf"),
        (S1, DOC_C, "c.pdf"),
    ]


def test_stats_count_serials_documents_and_reused_serials(ledger):
    assert (ledger.stats().serials, ledger.stats().documents, ledger.stats().reused_serials) == (
        0,
        0,
        0,
    )
    ledger.record(S1, DOC_A, "a.pdf")
    ledger.record(S1, DOC_B, "b.pdf")
    ledger.record(S2, DOC_C, "c.pdf")
    ledger.record(S2, DOC_C, "c-copy.pdf")
    stats = ledger.stats()
    assert (stats.serials, stats.documents, stats.reused_serials) == (2, 3, 1)


def test_ledger_persists_across_openings(tmp_path):
    SqliteLedger(tmp_path / "l.db").record(S1, DOC_A, "a.pdf")
    assert open_ledger(str(tmp_path / "l.db")).record(S1, DOC_B, "b.pdf").file == "a.pdf"


def test_ledger_on_a_folder_is_a_clear_error(tmp_path):
    with pytest.raises(LedgerError, match="is a folder"):
        open_ledger(str(tmp_path))


def test_ledger_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "seen.db"
    bad.write_bytes(b"this is not a SQLite database, just some text\n" * 200)
    with pytest.raises(LedgerError, match=r"seen\.db"):
        SqliteLedger(bad)


def test_postgres_urls_are_shown_without_their_password():
    shown = _redact("postgresql://verifier:s3cret@db.example:5432/emeterai")
    assert "s3cret" not in shown
    assert shown.startswith("postgresql://verifier:")
    assert shown.endswith("@db.example:5432/emeterai")


# -- concurrency ------------------------------------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import json, random, sys, time
    from pathlib import Path
    from emeterai.ledger import open_ledger

    path, me, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    serials = [f"SERIAL{i:02d}" for i in range(20)]
    pairs = [(s, f"{me:064x}", f"proc{me}-{s}.pdf") for s in serials]
    pairs += [(s, "f" * 64, f"common-proc{me}.pdf") for s in serials[::2]]
    random.Random(me).shuffle(pairs)
    ledger = open_ledger(path)
    while not go.exists():
        time.sleep(0.005)
    out = []
    for serial, digest, file in pairs:
        first = ledger.record(serial, digest, file)
        out.append([serial, digest, first.document_sha256, first.file])
    print(json.dumps(out))
    """
)


def test_concurrent_processes_agree_on_exactly_one_first_document_per_serial(
    tmp_path, ledger_location
):
    path = ledger_location
    open_ledger(path)  # schema exists before the race
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), str(me), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for me in range(4)
    ]
    time.sleep(0.5)  # let every worker import and open the ledger
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.extend(json.loads(out))
    assert len(results) == 4 * 30

    firsts: dict[str, set[tuple[str, str]]] = {}
    for serial, _digest, first_digest, first_file in results:
        firsts.setdefault(serial, set()).add((first_digest, first_file))
    assert len(firsts) == 20
    # every process was told the same first document for each serial
    assert all(len(f) == 1 for f in firsts.values()), firsts

    ledger = open_ledger(path)
    groups = {g[0].serial: g for g in ledger.reused()}
    assert set(groups) == set(firsts)
    for serial, group in groups.items():
        (only,) = firsts[serial]
        assert (group[0].document_sha256, group[0].file) == only  # the first in the ledger
        digests = [s.document_sha256 for s in group]
        assert len(digests) == len(set(digests))  # each (serial, document) once
    stats = ledger.stats()
    assert (stats.serials, stats.documents, stats.reused_serials) == (20, 20 * 4 + 10, 20)


# -- apply: what verify records --------------------------------------------------------------------


def test_only_genuine_stamps_are_recorded_so_a_forgery_cannot_claim_a_serial(
    ledger_location, home, issuer, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(1)
    src = tmp_path / "lamaran.pdf"
    shutil.copyfile(SAMPLE, src)
    out = tmp_path / "lamaran.emeterai.pdf"
    serial = stamp_file(src, out, wallet, wallet.unlock(PASSPHRASE), StampOptions()).serial
    forger = Issuer.create(tmp_path / "forger", PASSPHRASE, name="Test Issuer")
    forged = attacks.stamp_with_key(
        attacks.make_letter(tmp_path / "other.pdf").read_bytes(),
        attacks.stamp_key_from_issuer(forger, PASSPHRASE, serial),
    )
    verifier = Verifier(TrustStore(home / "trust").certificates())
    ledger = open_ledger(ledger_location)

    forged_result = apply(verifier.verify(forged, "forged.pdf"), ledger)
    assert {p.code for p in forged_result.problems} == {UNTRUSTED_ISSUER}
    assert ledger.stats().documents == 0  # the forgery was not recorded

    genuine = apply(verifier.verify(out.read_bytes(), str(out)), ledger)
    assert genuine.valid, [p.to_json() for p in genuine.problems]
    assert ledger.stats().documents == 1


def test_apply_marks_the_second_document_as_serial_reused_naming_the_first(
    ledger_location, home, issuer, stamp_files, tmp_path
):
    """One stamp file imported into two wallets (two applicants' machines)."""

    (p12,) = stamp_files(1)
    roots = TrustStore(home / "trust").certificates()
    outputs = attacks.one_stamp_on_two_letters(p12, roots, tmp_path)
    verifier = Verifier(roots)
    ledger = open_ledger(ledger_location)
    first = apply(verifier.verify(outputs[0].read_bytes(), str(outputs[0])), ledger)
    assert first.valid
    second = apply(verifier.verify(outputs[1].read_bytes(), str(outputs[1])), ledger)
    assert {p.code for p in second.problems} == {SERIAL_REUSED}
    (detail,) = [p.detail for p in second.problems]
    assert str(outputs[0]) in detail and p12.stem in detail
    assert apply(verifier.verify(outputs[0].read_bytes(), str(outputs[0])), ledger).valid


def test_second_document_claiming_the_first_documents_digest_is_still_caught(
    ledger_location, home, issuer, wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(1)
    src = tmp_path / "lamaran.pdf"
    shutil.copyfile(SAMPLE, src)
    first = tmp_path / "lamaran.emeterai.pdf"
    serial = stamp_file(src, first, wallet, wallet.unlock(PASSPHRASE), StampOptions()).serial
    verifier = Verifier(TrustStore(home / "trust").certificates())
    ledger = open_ledger(ledger_location)
    first_result = apply(verifier.verify(first.read_bytes(), str(first)), ledger)
    assert first_result.valid
    # the copied stamp file signs another letter but records the first letter's digest
    key = wallet.stamp_key(serial, wallet.unlock(PASSPHRASE))
    other = attacks.make_letter(tmp_path / "other.pdf", ["Lamaran orang lain"]).read_bytes()
    second = attacks.stamp_with_key(
        other, key, claimed_sha256=first_result.stamps[0].document_sha256
    )
    result = apply(verifier.verify(second, "other.emeterai.pdf"), ledger)
    assert not result.valid
