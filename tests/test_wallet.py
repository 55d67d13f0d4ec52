"""The applicant's wallet (README, Applicants; docs/architecture.md, Invariants): import checks, key storage, reserve/commit/recover."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from emeterai import serial as serials
from emeterai.errors import (
    NoStampAvailable,
    PassphraseError,
    StampAlreadyUsed,
    WalletError,
)
from emeterai.issuer import Issuer
from emeterai.trust import TrustStore
from emeterai.wallet import State, Wallet
from tests.support.common import PASSPHRASE


@pytest.fixture
def wallet(home) -> Wallet:
    return Wallet(home / "wallet" / "wallet.db")


@pytest.fixture
def roots(home, issuer):
    return TrustStore(home / "trust").certificates()


def _read(paths: list[Path]) -> list[tuple[str, bytes]]:
    return [(str(p), p.read_bytes()) for p in paths]


def _state(wallet: Wallet, serial: str) -> str:
    (entry,) = [e for e in wallet.entries() if e.serial == serial]
    return entry.state


def _db_bytes(wallet: Wallet) -> bytes:
    """Everything SQLite holds on disk for the wallet, WAL included."""
    return b"".join(
        p.read_bytes() for p in wallet.path.parent.iterdir() if p.name.startswith(wallet.path.name)
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- import -------------------------------------------------------------------------------------


def test_import_records_each_stamp_as_available(wallet, roots, stamp_files):
    paths = stamp_files(3, value=3000)
    outcomes = wallet.import_stamps(_read(paths), PASSPHRASE, roots)
    assert [o.status for o in outcomes] == ["imported"] * 3
    assert [o.source for o in outcomes] == [str(p) for p in paths]
    entries = wallet.entries()
    assert sorted(e.serial for e in entries) == sorted(p.stem for p in paths)
    for e in entries:
        assert (e.state, e.value, e.issuer, e.specimen) == ("available", 3000, "Test Issuer", True)
        assert e.used_file is None and e.output_path is None


def test_importing_a_pack_twice_reports_duplicates_and_changes_nothing(wallet, roots, stamp_files):
    files = _read(stamp_files(4))
    assert {o.status for o in wallet.import_stamps(files, PASSPHRASE, roots)} == {"imported"}
    before = wallet.entries()
    again = wallet.import_stamps(files, PASSPHRASE, roots)
    assert [o.status for o in again] == ["duplicate"] * 4
    assert all(o.detail == "already in the wallet" for o in again)
    assert sorted(o.serial for o in again) == sorted(e.serial for e in before)
    assert wallet.entries() == before


def test_duplicate_import_leaves_a_used_stamp_used(wallet, roots, stamp_files):
    files = _read(stamp_files(1))
    wallet.import_stamps(files, PASSPHRASE, roots)
    r = wallet.reserve()
    wallet.mark_written(r, "a.pdf", "00" * 32, "/tmp/a.emeterai.pdf", "/tmp/.a.tmp", "11" * 32)
    wallet.commit(r)
    (outcome,) = wallet.import_stamps(files, PASSPHRASE, roots)
    assert outcome.status == "duplicate"
    assert _state(wallet, r.serial) == "used"


def test_stamp_from_an_untrusted_issuer_is_refused(wallet, roots, stamp_files, tmp_path):
    stranger = Issuer.create(tmp_path / "stranger", PASSPHRASE, name="Stranger Issuer")
    files = _read(stamp_files(2, issuer=stranger))
    outcomes = wallet.import_stamps(files, PASSPHRASE, roots)
    assert [o.status for o in outcomes] == ["error", "error"]
    for (source, _), outcome in zip(files, outcomes, strict=True):
        assert source in outcome.detail
        assert "does not chain to a trusted issuer root" in outcome.detail
        assert "Stranger Issuer" in outcome.detail
    assert wallet.entries() == []

    accepted = wallet.import_stamps(files, PASSPHRASE, roots, allow_untrusted=True)
    assert [o.status for o in accepted] == ["imported", "imported"]
    assert {e.issuer for e in wallet.entries()} == {"Stranger Issuer"}


def test_untrusted_refusal_does_not_block_the_trusted_stamps_of_a_batch(
    wallet, roots, stamp_files, tmp_path
):
    stranger = Issuer.create(tmp_path / "stranger", PASSPHRASE, name="Stranger Issuer")
    good = _read(stamp_files(1))
    bad = _read(stamp_files(1, issuer=stranger))
    outcomes = wallet.import_stamps(bad + good, PASSPHRASE, roots)
    assert [o.status for o in outcomes] == ["error", "imported"]
    assert [e.serial for e in wallet.entries()] == [Path(good[0][0]).stem]


def test_wrong_passphrase_imports_nothing(wallet, roots, stamp_files):
    files = _read(stamp_files(2))
    outcomes = wallet.import_stamps(files, "not the passphrase", roots)
    assert [o.status for o in outcomes] == ["error", "error"]
    assert all("wrong passphrase" in o.detail and o.source in o.detail for o in outcomes)
    assert all(o.serial is None for o in outcomes)
    assert wallet.entries() == []


def test_stamps_under_another_passphrase_cannot_join_an_existing_wallet(wallet, roots, stamp_files):
    wallet.import_stamps(_read(stamp_files(1)), PASSPHRASE, roots)
    other = _read(stamp_files(1, stamp_passphrase="other secret"))
    with pytest.raises(PassphraseError, match="wrong passphrase for the wallet"):
        wallet.import_stamps(other, "other secret", roots)
    assert len(wallet.entries()) == 1


def test_garbage_file_is_an_error_outcome(wallet, roots):
    (outcome,) = wallet.import_stamps([("junk.p12", b"not a pkcs12 file")], PASSPHRASE, roots)
    assert outcome.status == "error"
    assert outcome.detail.startswith("junk.p12:")
    assert wallet.entries() == []


def test_expired_stamp_is_refused(wallet, roots, stamp_files):
    files = _read(stamp_files(1, valid_days=10))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=11)
    (outcome,) = wallet.import_stamps(files, PASSPHRASE, roots, now=later)
    assert outcome.status == "error"
    assert f"stamp {Path(files[0][0]).stem} expired on" in outcome.detail
    assert wallet.entries() == []
    # the same stamp, today, is fine
    (outcome,) = wallet.import_stamps(files, PASSPHRASE, roots)
    assert outcome.status == "imported"


def test_unlock_with_the_wrong_passphrase_fails(wallet_with_stamps):
    wallet = wallet_with_stamps(1)
    with pytest.raises(PassphraseError, match="wrong passphrase for the wallet"):
        wallet.unlock("not the passphrase")
    assert repr(wallet.unlock(PASSPHRASE)) == "WalletKey(<hidden>)"


def test_unlocking_an_empty_wallet_says_to_import(wallet):
    with pytest.raises(WalletError, match="emeterai wallet import"):
        wallet.unlock(PASSPHRASE)


# -- keys ---------------------------------------------------------------------------------------


def test_stamp_key_matches_its_certificate(wallet_with_stamps, issuer):
    wallet = wallet_with_stamps(2)
    key = wallet.unlock(PASSPHRASE)
    for entry in wallet.entries():
        stamp = wallet.stamp_key(entry.serial, key)
        assert stamp.serial == entry.serial
        assert stamp.key.public_key() == stamp.certificate.public_key()
        signature = stamp.key.sign(b"document", ec.ECDSA(hashes.SHA256()))
        stamp.certificate.public_key().verify(signature, b"document", ec.ECDSA(hashes.SHA256()))
        assert [c.subject for c in stamp.chain] == [issuer.root.subject]
        stamp.certificate.verify_directly_issued_by(stamp.chain[0])


def test_stamp_key_of_an_unknown_serial_is_an_error(wallet_with_stamps):
    wallet = wallet_with_stamps(1)
    stranger = serials.generate("ZZZ")
    with pytest.raises(WalletError, match=f"stamp {stranger} is not in the wallet"):
        wallet.stamp_key(stranger, wallet.unlock(PASSPHRASE))


def test_stamp_keys_are_not_stored_in_clear(wallet, roots, stamp_files):
    paths = stamp_files(3)
    wallet.import_stamps(_read(paths), PASSPHRASE, roots)
    stored = _db_bytes(wallet)
    assert len(stored) > 0
    for path in paths:
        key = pkcs12.load_pkcs12(path.read_bytes(), PASSPHRASE.encode()).key
        pkcs8 = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        scalar = key.private_numbers().private_value.to_bytes(32, "big")
        assert pkcs8 not in stored
        assert scalar not in stored
        assert path.stem.encode() in stored  # the serial itself is stored: the search works


# -- spending -----------------------------------------------------------------------------------


def test_reserve_and_release(wallet_with_stamps):
    wallet = wallet_with_stamps(2)
    r = wallet.reserve()
    assert _state(wallet, r.serial) == "reserved"
    other = wallet.reserve()
    assert other.serial != r.serial
    wallet.release(r)
    assert _state(wallet, r.serial) == "available"
    with pytest.raises(WalletError, match="no longer reserved"):
        wallet.release(r)


def test_reserve_takes_the_stamp_that_expires_first(wallet_with_stamps):
    wallet = wallet_with_stamps(1, valid_days=300)
    soon = wallet_with_stamps(1, valid_days=5)
    (soon_entry,) = [e for e in soon.entries() if (e.not_after - dt.datetime.now(dt.UTC)).days < 10]
    assert wallet.reserve().serial == soon_entry.serial


def test_commit_spends_the_stamp_and_records_the_document(wallet_with_stamps, tmp_path):
    wallet = wallet_with_stamps(1)
    r = wallet.reserve()
    out = tmp_path / "lamaran.emeterai.pdf"
    wallet.mark_written(r, "lamaran.pdf", "ab" * 32, str(out), str(tmp_path / ".tmp"), "cd" * 32)
    assert _state(wallet, r.serial) == "reserved"
    wallet.commit(r)
    (entry,) = wallet.entries()
    assert entry.state == "used"
    assert entry.used_file == "lamaran.pdf"
    assert entry.used_sha256 == "ab" * 32
    assert entry.output_path == str(out)
    assert entry.used_at
    with pytest.raises(WalletError, match="no longer reserved"):
        wallet.commit(r)
    with pytest.raises(NoStampAvailable):
        wallet.reserve()


def test_a_used_serial_cannot_be_reserved_again(wallet_with_stamps, tmp_path):
    wallet = wallet_with_stamps(2)
    r = wallet.reserve()
    wallet.mark_written(
        r, "surat-lamaran.pdf", "ab" * 32, str(tmp_path / "o.pdf"), str(tmp_path / "t"), "cd" * 32
    )
    wallet.commit(r)
    with pytest.raises(
        StampAlreadyUsed, match=f"stamp {r.serial} was already used on surat-lamaran.pdf"
    ):
        wallet.reserve(serial=serials.grouped(r.serial).lower())
    assert _state(wallet, r.serial) == "used"


def test_reserve_by_serial(wallet_with_stamps):
    wallet = wallet_with_stamps(3)
    wanted = sorted(e.serial for e in wallet.entries())[1]
    r = wallet.reserve(serial=wanted.lower())
    assert r.serial == wanted
    with pytest.raises(WalletError, match="being used by another emeterai process"):
        wallet.reserve(serial=wanted)
    stranger = serials.generate("ZZZ")
    with pytest.raises(WalletError, match="is not in the wallet"):
        wallet.reserve(serial=stranger)


def test_no_stamp_available_when_the_wallet_is_empty_or_spent(wallet, wallet_with_stamps):
    with pytest.raises(NoStampAvailable, match="emeterai wallet import"):
        wallet.reserve()
    full = wallet_with_stamps(1)
    full.reserve()
    with pytest.raises(NoStampAvailable, match="1 being used by another emeterai process"):
        full.reserve()


def test_expired_stamps_are_not_reserved(wallet_with_stamps):
    wallet = wallet_with_stamps(1, valid_days=3)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=4)
    with pytest.raises(NoStampAvailable):
        wallet.reserve(now=later)
    (entry,) = wallet.entries()
    with pytest.raises(NoStampAvailable, match=f"stamp {entry.serial} expired on"):
        wallet.reserve(serial=entry.serial, now=later)
    assert entry.state == "available"


# -- recovery -----------------------------------------------------------------------------------

_RESERVE_AND_DIE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from emeterai.wallet import Wallet
    wallet = Wallet(Path(sys.argv[1]))
    r = wallet.reserve()
    mark = json.loads(sys.argv[2])
    if mark:
        wallet.mark_written(r, **mark)
    print(r.serial)
    """
)


def _reserve_in_a_process_that_exits(wallet: Wallet, mark: dict | None = None) -> str:
    """Reserve (and optionally mark_written) in a child process that exits without releasing."""
    done = subprocess.run(
        [sys.executable, "-c", _RESERVE_AND_DIE, str(wallet.path), json.dumps(mark)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_recover_releases_the_reservation_of_a_dead_process(wallet_with_stamps):
    wallet = wallet_with_stamps(1)
    serial = _reserve_in_a_process_that_exits(wallet)
    assert _state(wallet, serial) == "reserved"
    report = wallet.recover()
    assert report.released == (serial,)
    assert report.committed == ()
    assert _state(wallet, serial) == "available"
    assert wallet.reserve().serial == serial


def test_recover_leaves_a_live_reservation_alone(wallet_with_stamps):
    wallet = wallet_with_stamps(1)
    r = wallet.reserve()
    report = wallet.recover()
    assert report.released == () and report.committed == ()
    assert _state(wallet, r.serial) == "reserved"
    wallet.commit(r)  # still ours
    assert _state(wallet, r.serial) == "used"


def test_recover_commits_when_the_recorded_output_exists_with_its_digest(
    wallet_with_stamps, tmp_path
):
    wallet = wallet_with_stamps(1)
    output, temp = tmp_path / "lamaran.emeterai.pdf", tmp_path / ".lamaran.emeterai.pdf.x.tmp"
    data = b"%PDF-1.7 stamped output"
    serial = _reserve_in_a_process_that_exits(
        wallet,
        {
            "document_file": "lamaran.pdf",
            "document_sha256": "ab" * 32,
            "output_path": str(output),
            "temp_path": str(temp),
            "output_sha256": _sha256(data),
        },
    )
    output.write_bytes(data)  # the rename happened, then the process died before commit
    report = wallet.recover()
    assert report.committed == (serial,)
    assert report.released == ()
    (entry,) = wallet.entries()
    assert (entry.state, entry.used_file, entry.used_sha256) == ("used", "lamaran.pdf", "ab" * 32)
    assert entry.output_path == str(output)
    assert output.read_bytes() == data


@pytest.mark.parametrize("output_content", [None, b"%PDF-1.7 something else"])
def test_recover_releases_and_deletes_the_temp_file_when_the_output_is_not_there(
    wallet_with_stamps, tmp_path, output_content
):
    wallet = wallet_with_stamps(1)
    output, temp = tmp_path / "lamaran.emeterai.pdf", tmp_path / ".lamaran.emeterai.pdf.x.tmp"
    serial = _reserve_in_a_process_that_exits(
        wallet,
        {
            "document_file": "lamaran.pdf",
            "document_sha256": "ab" * 32,
            "output_path": str(output),
            "temp_path": str(temp),
            "output_sha256": _sha256(b"the intended output"),
        },
    )
    temp.write_bytes(b"half-written")  # died between write_temp and rename
    if output_content is not None:
        output.write_bytes(output_content)  # someone else's file: not ours
    report = wallet.recover()
    assert report.released == (serial,)
    assert report.committed == ()
    assert not temp.exists()
    (entry,) = wallet.entries()
    assert (entry.state, entry.used_file, entry.used_sha256) == ("available", None, None)
    if output_content is not None:
        assert output.read_bytes() == output_content


def test_recover_never_releases_a_live_local_reservation_however_old(wallet_with_stamps):
    """A process on this host that is still alive (e.g. a laptop suspended mid-write) keeps
    its stamp: releasing it would let another run spend the serial a second time."""
    from emeterai.wallet import STALE_AFTER

    wallet = wallet_with_stamps(1)
    r = wallet.reserve()
    report = wallet.recover(now=dt.datetime.now(dt.UTC) + 10 * STALE_AFTER)
    assert report.released == () and report.committed == ()
    assert _state(wallet, r.serial) == "reserved"


def test_recover_settles_another_hosts_reservation_older_than_the_stale_limit(
    wallet_with_stamps,
):
    import sqlite3

    from emeterai.wallet import STALE_AFTER

    wallet = wallet_with_stamps(1)
    r = wallet.reserve()
    with sqlite3.connect(wallet.path) as db:
        db.execute("UPDATE stamps SET host = 'laptop-lain' WHERE serial = ?", (r.serial,))
    fresh = wallet.recover(now=dt.datetime.now(dt.UTC) + STALE_AFTER - dt.timedelta(minutes=5))
    assert fresh.released == () and _state(wallet, r.serial) == "reserved"
    report = wallet.recover(now=dt.datetime.now(dt.UTC) + STALE_AFTER + dt.timedelta(minutes=1))
    assert report.released == (r.serial,)
    assert _state(wallet, r.serial) == "available"


# -- concurrency --------------------------------------------------------------------------------

_GRAB_ALL = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from emeterai.errors import NoStampAvailable
    from emeterai.wallet import Wallet
    wallet = Wallet(Path(sys.argv[1]))
    gate = Path(sys.argv[2])
    print("ready", flush=True)
    while not gate.exists():
        time.sleep(0.002)
    got = []
    while True:
        try:
            got.append(wallet.reserve().serial)
        except NoStampAvailable:
            break
    print(json.dumps(got), flush=True)
    """
)


def test_concurrent_processes_never_reserve_one_serial_twice(wallet_with_stamps, tmp_path):
    wallet = wallet_with_stamps(50)
    gate = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _GRAB_ALL, str(wallet.path), str(gate)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    try:
        for child in children:  # all started and waiting: then open the gate at once
            assert child.stdout.readline().strip() == "ready"
        gate.touch()
        results = []
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    everything = [s for got in results for s in got]
    assert len(everything) == 50, [len(g) for g in results]
    assert len(set(everything)) == 50
    assert set(everything) == {e.serial for e in wallet.entries()}
    assert {e.state for e in wallet.entries()} == {"reserved"}


def test_processes_started_later_find_nothing_left(wallet_with_stamps, tmp_path):
    """Sanity check of the helper: after the wallet is drained, a grabber gets an empty list."""
    wallet = wallet_with_stamps(2)
    for _ in range(2):
        wallet.reserve()
    gate = tmp_path / "go"
    gate.touch()
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _GRAB_ALL, str(wallet.path), str(gate)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
    assert time.monotonic() - start < 30


def test_expiry_is_compared_as_time_not_text_whatever_the_timezone(wallet_with_stamps):
    """A stamp two hours from expiry is reservable at 'now' given in UTC+7 too."""
    wallet = wallet_with_stamps(1)
    (entry,) = wallet.entries()
    moment = entry.not_after - dt.timedelta(hours=2)
    jakarta = dt.timezone(dt.timedelta(hours=7))
    reservation = wallet.reserve(now=moment.astimezone(jakarta))
    assert reservation.serial == entry.serial
    wallet.release(reservation)
    with pytest.raises(NoStampAvailable):
        wallet.reserve(now=(entry.not_after + dt.timedelta(hours=1)).astimezone(jakarta))


def test_import_tries_the_sellers_passphrase_then_the_wallets(wallet, roots, stamp_files):
    """One call, two packs: one under the seller's passphrase, one under the wallet's own."""
    sellers = _read(stamp_files(2, stamp_passphrase="rahasia-penjual"))
    own = _read(stamp_files(1))  # protected by PASSPHRASE, the wallet's passphrase
    outcomes = wallet.import_stamps(
        sellers + own, PASSPHRASE, roots, stamp_passphrase="rahasia-penjual"
    )
    assert sorted(o.status for o in outcomes) == ["imported"] * 3, outcomes
    (wrong,) = wallet.import_stamps(
        _read(stamp_files(1, stamp_passphrase="lain")), PASSPHRASE, roots, stamp_passphrase="x"
    )
    assert wrong.status == "error" and "wrong passphrase" in wrong.detail
    assert len(wallet.entries()) == 3


def test_a_changed_host_name_does_not_make_a_live_reservation_remote(
    wallet_with_stamps, monkeypatch
):
    """A laptop's host name changes from network to network; its reservations stay its own."""
    from emeterai import wallet as wallet_module
    from emeterai.wallet import STALE_AFTER

    wallet = wallet_with_stamps(1)
    r = wallet.reserve()
    wallet_module._machine.cache_clear()
    monkeypatch.setattr(wallet_module.socket, "gethostname", lambda: "laptop-di-kafe")
    try:
        report = wallet.recover(now=dt.datetime.now(dt.UTC) + 3 * STALE_AFTER)
    finally:
        wallet_module._machine.cache_clear()
    assert report.released == ()
    assert _state(wallet, r.serial) == "reserved"


# -- what is usable: expired stamps, and why none can be spent ----------------------------------


def _spend(wallet: Wallet, tmp_path: Path, document: str, serial: str | None = None) -> str:
    """Spend one stamp as stamping does (reserve, record the output, commit); its serial."""
    r = wallet.reserve(serial)
    out = tmp_path / f"{r.serial}.emeterai.pdf"
    wallet.mark_written(r, document, "ab" * 32, str(out), str(tmp_path / ".t"), "cd" * 32)
    wallet.commit(r)
    return r.serial


_LATER = dt.timedelta(days=4)  # past the validity of stamps issued with valid_days=3


def test_an_available_stamp_past_its_validity_is_listed_as_expired(wallet_with_stamps):
    wallet = wallet_with_stamps(1, valid_days=3)
    wallet_with_stamps(1, valid_days=30)
    later = dt.datetime.now(dt.UTC) + _LATER
    assert sorted(e.state for e in wallet.entries()) == ["available", "available"]
    listed = {e.not_after < later: e for e in wallet.entries(now=later)}
    assert (listed[True].state, listed[False].state) == ("expired", "available")
    assert listed[True].to_json()["state"] == "expired"
    assert wallet.entries(now=later, states=[State.EXPIRED]) == [listed[True]]
    assert wallet.require_usable(now=later) == 1
    assert wallet.reserve(now=later).serial == listed[False].serial


def test_require_usable_counts_what_reserve_could_take(wallet_with_stamps, tmp_path):
    wallet = wallet_with_stamps(3)
    assert wallet.require_usable() == 3
    _spend(wallet, tmp_path, "a.pdf")
    assert wallet.require_usable() == 2
    serial = next(e.serial for e in wallet.entries() if e.state == "available")
    assert wallet.require_usable(serials.grouped(serial).lower()) == 1


def _dry(how: str, wallet: Wallet, wallet_with_stamps, tmp_path: Path) -> dt.datetime:
    """Make ``wallet`` run dry in one way; the moment at which it is dry."""
    now = dt.datetime.now(dt.UTC)
    if how == "expired":
        wallet_with_stamps(2, valid_days=3)
        return now + _LATER
    if how == "used":
        wallet_with_stamps(2)
        _spend(wallet, tmp_path, "a.pdf")
        _spend(wallet, tmp_path, "b.pdf")
    if how == "mixed":
        wallet_with_stamps(2)
        wallet_with_stamps(1, valid_days=3)
        _spend(wallet, tmp_path, "a.pdf")  # the one expiring first
        wallet.reserve()
        _spend(wallet, tmp_path, "b.pdf")
        wallet_with_stamps(1, valid_days=3)
        return now + _LATER
    return now


@pytest.mark.parametrize(
    ("how", "sentence"),
    [
        ("empty", "the wallet is empty: import stamps with 'emeterai wallet import'"),
        (
            "expired",
            "2 stamps expired, none usable: buy new stamps and import them with "
            "'emeterai wallet import'",
        ),
        ("used", "all 2 stamps are used: buy stamps and import them with 'emeterai wallet import'"),
        (
            "mixed",
            "none of the wallet's 4 stamps is usable (1 expired, "
            "1 being used by another emeterai process, 2 used): buy stamps",
        ),
    ],
)
def test_an_unusable_wallet_says_why_the_same_way_before_and_at_reserve(
    wallet, wallet_with_stamps, tmp_path, how, sentence
):
    moment = _dry(how, wallet, wallet_with_stamps, tmp_path)
    with pytest.raises(NoStampAvailable) as checked:
        wallet.require_usable(now=moment)
    with pytest.raises(NoStampAvailable) as reserving:
        wallet.reserve(now=moment)
    assert str(checked.value).startswith(sentence), str(checked.value)
    assert str(reserving.value) == str(checked.value)


def test_the_states_of_an_unusable_wallet_read_indonesian_in_its_sentence(
    wallet, wallet_with_stamps, tmp_path, indonesian
):
    """The list of states inside "none usable (...)" is translated with its sentence; the
    English message (JSON) keeps the English list."""
    moment = _dry("mixed", wallet, wallet_with_stamps, tmp_path)
    with pytest.raises(NoStampAvailable) as checked:
        wallet.require_usable(now=moment)
    assert "(1 expired, 1 being used by another emeterai process, 2 used)" in str(checked.value)
    assert "(1 kedaluwarsa, 1 sedang dipakai proses emeterai lain, 2 terpakai)" in (
        checked.value.translated()
    )


def test_a_serial_that_cannot_be_spent_is_named_with_the_reason(wallet_with_stamps, tmp_path):
    wallet = wallet_with_stamps(2, valid_days=3)
    used = _spend(wallet, tmp_path, "surat.pdf")
    (other,) = {e.serial for e in wallet.entries()} - {used}
    later = dt.datetime.now(dt.UTC) + _LATER
    cases = [
        (used, None, StampAlreadyUsed, f"stamp {used} was already used on surat.pdf"),
        (other, later, NoStampAvailable, f"stamp {other} expired on "),
        (serials.generate("ZZZ"), None, NoStampAvailable, "is not in the wallet"),
    ]
    for serial, moment, kind, words in cases:
        with pytest.raises(kind, match=words) as checked:
            wallet.require_usable(serial, now=moment)
        with pytest.raises(kind) as reserving:
            wallet.reserve(serial, now=moment)
        assert str(reserving.value) == str(checked.value)
    assert wallet.require_usable(other) == 1


def _stamp_valid_later(wallet: Wallet, issuer: Issuer, roots, monkeypatch, days: int) -> str:
    """Import one stamp that becomes valid ``days`` from now (issued by a clock set forward
    and imported at that moment); its serial."""
    from emeterai import issuer as issuer_module

    ahead = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=days)
    with monkeypatch.context() as clock:
        clock.setattr(issuer_module, "_now", lambda: ahead)
        (stamp,) = issuer.issue(1, PASSPHRASE, valid_days=30)
    (outcome,) = wallet.import_stamps(
        [("later.p12", stamp.p12)], PASSPHRASE, roots, now=ahead + dt.timedelta(hours=1)
    )
    assert outcome.status == "imported", outcome.detail
    return stamp.serial


def test_totals_count_as_usable_only_what_require_usable_finds(
    wallet_with_stamps, issuer, roots, monkeypatch, tmp_path
):
    """A stamp not valid yet and an expired one are not usable, in the totals as in
    require_usable and reserve, at every moment."""
    wallet = wallet_with_stamps(1, valid_days=3)  # expired at `later`
    wallet_with_stamps(1, valid_days=30)
    _stamp_valid_later(wallet, issuer, roots, monkeypatch, days=2)  # valid at `later`
    now = dt.datetime.now(dt.UTC)
    later = now + _LATER
    counted = {moment: wallet.totals(now=moment) for moment in (now, later)}
    assert (counted[now].usable, counted[now].not_valid_yet, counted[now].expired) == (2, 1, 0)
    assert (counted[later].usable, counted[later].not_valid_yet, counted[later].expired) == (
        2,
        0,
        1,
    )
    for moment, totals in counted.items():
        assert totals.total == 3
        assert wallet.require_usable(now=moment) == totals.usable
    assert counted[now].to_json() == {
        "total": 3,
        "usable": 2,
        "not_valid_yet": 1,
        "expired": 0,
        "used": 0,
        "unsure": 0,
        "reserved": 0,
    }
    _spend(wallet, tmp_path, "a.pdf")
    _spend(wallet, tmp_path, "b.pdf")
    totals = wallet.totals(now=now)
    assert (totals.usable, totals.not_valid_yet, totals.used) == (0, 1, 2)
    sentence = "none of the wallet's 3 stamps is usable (1 not valid yet, 2 used)"
    with pytest.raises(NoStampAvailable, match=re.escape(sentence)):
        wallet.require_usable(now=now)
    with pytest.raises(NoStampAvailable, match=re.escape(sentence)):
        wallet.reserve(now=now)


# -- the passphrase -----------------------------------------------------------------------------


def test_has_passphrase_once_the_first_import_made_the_key(wallet, roots, stamp_files):
    files = _read(stamp_files(1))
    assert not wallet.has_passphrase()
    wallet.import_stamps(files, "not the passphrase", roots)  # refused: no key made
    assert not wallet.has_passphrase()
    wallet.import_stamps(files, PASSPHRASE, roots)
    assert wallet.has_passphrase()


def test_a_changed_passphrase_opens_every_stamp_and_the_old_one_no_longer_does(
    wallet_with_stamps, tmp_path
):
    from emeterai.demo import sample_letter
    from emeterai.stamp import StampOptions, stamp_file

    wallet = wallet_with_stamps(3)
    _spend(wallet, tmp_path, "a.pdf")
    before = wallet.entries()
    wallet.change_passphrase(PASSPHRASE, "kata-sandi-baru")
    with pytest.raises(PassphraseError, match="wrong passphrase for the wallet"):
        wallet.unlock(PASSPHRASE)
    key = wallet.unlock("kata-sandi-baru")
    for entry in wallet.entries():
        stamp = wallet.stamp_key(entry.serial, key)
        assert stamp.key.public_key() == stamp.certificate.public_key()
    assert wallet.entries() == before
    letter = tmp_path / "lamaran.pdf"
    letter.write_bytes(sample_letter())
    result = stamp_file(letter, tmp_path / "lamaran.emeterai.pdf", wallet, key, StampOptions())
    assert _state(wallet, result.serial) == "used"


def test_change_passphrase_refuses_a_wrong_old_one_and_an_empty_new_one(wallet, wallet_with_stamps):
    with pytest.raises(WalletError, match="the wallet is empty"):
        wallet.change_passphrase(PASSPHRASE, "baru")
    wallet_with_stamps(1)
    with pytest.raises(PassphraseError, match="wrong passphrase for the wallet"):
        wallet.change_passphrase("not the passphrase", "baru")
    with pytest.raises(PassphraseError, match="non-empty"):
        wallet.change_passphrase(PASSPHRASE, "")
    assert wallet.unlock(PASSPHRASE)


_CHANGE_AND_DIE = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from emeterai.wallet import Wallet
    wallet = Wallet(Path(sys.argv[1]))
    def die_at(statement):
        if statement.startswith(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
    wallet._conn().set_trace_callback(die_at)
    wallet.change_passphrase(sys.argv[3], sys.argv[4])
    """
)


@pytest.mark.parametrize("statement", ["UPDATE meta", "COMMIT"])
def test_a_passphrase_change_killed_midway_leaves_the_old_passphrase_and_every_stamp(
    wallet_with_stamps, tmp_path, statement
):
    """SIGKILL as the change's UPDATE or COMMIT starts: the old passphrase still opens the
    wallet and every stamp, the new one does not, and the change can be made afterwards."""
    wallet = wallet_with_stamps(3)
    _spend(wallet, tmp_path, "a.pdf")
    before = wallet.entries()
    done = subprocess.run(
        [sys.executable, "-c", _CHANGE_AND_DIE, str(wallet.path), statement, PASSPHRASE, "baru"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -9, done.stderr
    again = Wallet(wallet.path)
    with pytest.raises(PassphraseError):
        again.unlock("baru")
    key = again.unlock(PASSPHRASE)
    assert again.entries() == before
    for entry in before:
        assert again.stamp_key(entry.serial, key).serial == entry.serial
    done = subprocess.run(
        [sys.executable, "-c", _CHANGE_AND_DIE, str(wallet.path), "never", PASSPHRASE, "baru"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    key = again.unlock("baru")
    for entry in before:
        assert again.stamp_key(entry.serial, key).serial == entry.serial


# -- backup and restore -------------------------------------------------------------------------

_PUBLISH_AND_DIE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from emeterai.wallet import Wallet
    wallet = Wallet(Path(sys.argv[1]))
    r = wallet.reserve()
    folder = Path(sys.argv[2])
    wallet.mark_written(r, "ktp.pdf", "ee" * 32, str(folder / "ktp.emeterai.pdf"),
                        str(folder / ".ktp.tmp"), "ff" * 32)
    wallet.mark_publishing(r, "replace")
    print(r.serial)
    """
)


def _wallet_in_every_state(wallet_with_stamps, tmp_path: Path) -> tuple[Wallet, dict[str, str]]:
    """A wallet with one stamp used, one unsure (died while publishing), one reserved by this
    process and one available; the serial of each state."""
    wallet = wallet_with_stamps(4)
    used = _spend(wallet, tmp_path, "lamaran.pdf")
    done = subprocess.run(
        [sys.executable, "-c", _PUBLISH_AND_DIE, str(wallet.path), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    unsure = done.stdout.strip()
    assert wallet.recover().unsure == (unsure,)
    reserved = wallet.reserve().serial
    (available,) = {e.serial for e in wallet.entries()} - {used, unsure, reserved}
    return wallet, {"used": used, "unsure": unsure, "reserved": reserved, "available": available}


def _spending(wallet: Wallet) -> dict[str, tuple[object, ...]]:
    return {
        e.serial: (e.state, e.used_file, e.used_sha256, e.output_path, e.used_at)
        for e in wallet.entries()
    }


def test_a_backup_restored_on_a_new_machine_keeps_every_serials_state(
    wallet_with_stamps, roots, tmp_path
):
    wallet, serial_of = _wallet_in_every_state(wallet_with_stamps, tmp_path)
    data = wallet.export_bytes()
    fresh = Wallet(tmp_path / "new-machine" / "wallet.db")
    report = fresh.restore(data, PASSPHRASE, roots)
    assert sorted(report.added) == sorted(serial_of.values())
    assert report.spent == report.unchanged == ()

    restored, original = _spending(fresh), _spending(wallet)
    reserved = serial_of["reserved"]
    assert restored.pop(reserved)[0] == "unsure"  # its process went on after the backup
    del original[reserved]
    assert restored == original
    assert restored[serial_of["used"]][:2] == ("used", "lamaran.pdf")
    assert restored[serial_of["unsure"]][:2] == ("unsure", "ktp.pdf")

    key = fresh.unlock(PASSPHRASE)
    for serial in serial_of.values():
        stamp = fresh.stamp_key(serial, key)
        assert stamp.key.public_key() == stamp.certificate.public_key()
    assert fresh.reserve().serial == serial_of["available"]
    with pytest.raises(NoStampAvailable):
        fresh.reserve()
    with pytest.raises(StampAlreadyUsed):
        fresh.reserve(serial_of["used"])

    with pytest.raises(WalletError, match="restore when it is done"):
        wallet.restore(data, PASSPHRASE, roots)  # this wallet still has a stamp reserved


def test_restoring_into_a_wallet_with_stamps_keeps_the_more_spent_state(
    home, roots, stamp_files, tmp_path
):
    files = _read(stamp_files(4))
    a, b, c, d = (Path(source).stem for source, _ in files)
    old = Wallet(tmp_path / "old" / "wallet.db")
    old.import_stamps(files, PASSPHRASE, roots)
    new = Wallet(home / "wallet" / "wallet.db")
    new.import_stamps(files[:3], PASSPHRASE, roots)  # d only in the backup
    _spend(old, tmp_path, "old.pdf", serial=a)
    _spend(new, tmp_path, "new.pdf", serial=b)  # used here, available in the backup

    report = new.restore(old.export_bytes(), PASSPHRASE, roots)
    assert (report.added, report.spent, sorted(report.unchanged)) == ((d,), (a,), sorted([b, c]))
    state = {e.serial: (e.state, e.used_file) for e in new.entries()}
    assert state == {
        a: ("used", "old.pdf"),
        b: ("used", "new.pdf"),
        c: ("available", None),
        d: ("available", None),
    }
    assert new.stamp_key(d, new.unlock(PASSPHRASE)).serial == d  # re-wrapped under this key
    again = new.restore(old.export_bytes(), PASSPHRASE, roots)
    assert again.added == again.spent == ()
    assert {e.serial: (e.state, e.used_file) for e in new.entries()} == state


def test_restore_needs_the_backups_passphrase_and_this_wallets(home, roots, stamp_files, tmp_path):
    old = Wallet(tmp_path / "old" / "wallet.db")
    old.import_stamps(_read(stamp_files(1)), PASSPHRASE, roots)
    new = Wallet(home / "wallet" / "wallet.db")
    new.import_stamps(_read(stamp_files(1)), "lain", roots, stamp_passphrase=PASSPHRASE)
    data = old.export_bytes()
    with pytest.raises(PassphraseError, match="wrong passphrase for the backup"):
        new.restore(data, "lain", roots)
    with pytest.raises(PassphraseError, match="wrong passphrase for the wallet"):
        new.restore(data, "not this one", roots, backup_passphrase=PASSPHRASE)
    assert len(new.entries()) == 1
    report = new.restore(data, "lain", roots, backup_passphrase=PASSPHRASE)
    assert len(report.added) == 1
    key = new.unlock("lain")
    assert all(new.stamp_key(e.serial, key) for e in new.entries())


def test_restore_refuses_what_is_not_a_wallet_backup(wallet, roots):
    import sqlite3

    empty = sqlite3.connect(":memory:")
    empty.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for data in (b"not a database at all" * 20, empty.serialize()):
        with pytest.raises(WalletError, match=r"^backup\.db: not an emeterai wallet backup$"):
            wallet.restore(data, PASSPHRASE, roots, source="backup.db")
    with pytest.raises(WalletError, match="the wallet is empty"):
        wallet.export_bytes()
    assert wallet.entries() == [] and not wallet.has_passphrase()


def _tampered(data: bytes, tmp_path: Path, sql: str, *args: object) -> bytes:
    """A backup edited with sqlite3 as anyone holding the file could edit it."""
    import sqlite3

    path = tmp_path / f"tampered-{len(list(tmp_path.glob('tampered-*')))}.backup"
    path.write_bytes(data)
    db = sqlite3.connect(path)
    with db:
        assert db.execute(sql, args).rowcount == 1
    db.close()
    return path.read_bytes()


def test_restore_reads_value_issuer_and_validity_from_the_certificate(
    wallet_with_stamps, roots, tmp_path
):
    wallet = wallet_with_stamps(1, valid_days=30)
    (original,) = wallet.entries()
    data = _tampered(
        wallet.export_bytes(),
        tmp_path,
        "UPDATE stamps SET value = 99999, issuer = 'Peruri', specimen = 0,"
        " not_before = '2000-01-01T00:00:00+00:00', not_after = '2099-01-01T00:00:00+00:00'",
    )
    fresh = Wallet(tmp_path / "new-machine" / "wallet.db")
    assert fresh.restore(data, PASSPHRASE, roots).added == (original.serial,)
    assert fresh.entries() == [original]
    later = original.not_after + dt.timedelta(days=1)
    assert [e.state for e in fresh.entries(now=later)] == ["expired"]


def test_restore_refuses_a_row_whose_serial_is_not_its_certificates(
    wallet_with_stamps, issuer, roots, tmp_path
):
    wallet = wallet_with_stamps(1)
    (original,) = wallet.entries()
    other = serials.generate(issuer.info.prefix)
    data = _tampered(wallet.export_bytes(), tmp_path, "UPDATE stamps SET serial = ?", other)
    fresh = Wallet(tmp_path / "new-machine" / "wallet.db")
    with pytest.raises(WalletError, match=f"stamp {other} in the backup carries the certificate"):
        fresh.restore(data, PASSPHRASE, roots, source="b.backup")
    assert fresh.entries() == [] and not fresh.has_passphrase()
    damaged = _tampered(wallet.export_bytes(), tmp_path, "UPDATE stamps SET state = 'spent'")
    with pytest.raises(WalletError, match="has no valid state"):
        fresh.restore(damaged, PASSPHRASE, roots)
    assert fresh.entries() == []
    assert fresh.restore(wallet.export_bytes(), PASSPHRASE, roots).added == (original.serial,)


def test_restore_needs_a_trusted_issuer_unless_allowed(wallet, roots, stamp_files, tmp_path):
    from emeterai.errors import UntrustedStampError

    stranger = Issuer.create(tmp_path / "stranger", PASSPHRASE, name="Stranger Issuer")
    files = _read(stamp_files(1, issuer=stranger)) + _read(stamp_files(1))
    wallet.import_stamps(files, PASSPHRASE, roots, allow_untrusted=True)
    data = wallet.export_bytes()
    fresh = Wallet(tmp_path / "new-machine" / "wallet.db")
    with pytest.raises(UntrustedStampError, match="'Stranger Issuer' does not chain to a trusted"):
        fresh.restore(data, PASSPHRASE, roots, source="b.backup")
    assert fresh.entries() == [] and not fresh.has_passphrase()
    report = fresh.restore(data, PASSPHRASE, roots, allow_untrusted=True)
    assert len(report.added) == 2
    assert {e.issuer for e in fresh.entries()} == {"Stranger Issuer", "Test Issuer"}


def test_a_restore_says_when_its_backup_was_made_and_what_only_the_backup_calls_available(
    wallet_with_stamps, roots, tmp_path
):
    """A stamp spent on the old machine after the backup shows as available after a restore
    elsewhere (no offline check can know): the report names the backup's date and the
    serials available on its word alone, and warns."""
    wallet = wallet_with_stamps(3)
    first = _spend(wallet, tmp_path, "a.pdf")
    before = dt.datetime.now(dt.UTC)
    data = wallet.export_bytes()
    after = dt.datetime.now(dt.UTC)
    later = _spend(wallet, tmp_path, "b.pdf")  # on the old machine, after the backup
    (last,) = {e.serial for e in wallet.entries()} - {first, later}

    fresh = Wallet(tmp_path / "new-machine" / "wallet.db")
    report = fresh.restore(data, PASSPHRASE, roots)
    assert report.exported_at is not None and before <= report.exported_at <= after
    assert sorted(report.available_per_backup) == sorted([later, last])
    assert _state(fresh, later) == "available"
    made = f"{report.exported_at.astimezone():%Y-%m-%d %H:%M}"
    assert report.warning == (
        f"this backup was made on {made}: stamps used on the old machine after that show as "
        "available here; stop using the old wallet, or one serial may be spent on two "
        "documents, which verifiers with a ledger detect"
    )
    as_json = report.to_json()
    assert as_json["exported_at"] == report.exported_at.isoformat()
    assert as_json["warning"] == report.warning
    assert sorted(as_json["available_per_backup"]) == sorted([later, last])

    newer = fresh.restore(wallet.export_bytes(), PASSPHRASE, roots)
    assert newer.spent == (later,) and newer.available_per_backup == (last,)
    assert newer.exported_at is not None and newer.exported_at > report.exported_at

    _spend(wallet, tmp_path, "c.pdf")
    spent_out = Wallet(tmp_path / "third" / "wallet.db").restore(
        wallet.export_bytes(), PASSPHRASE, roots
    )
    assert spent_out.available_per_backup == () and spent_out.warning is None


def test_a_backup_that_does_not_say_when_it_was_made_is_still_warned_about(
    wallet_with_stamps, roots, tmp_path
):
    wallet = wallet_with_stamps(1)
    data = _tampered(wallet.export_bytes(), tmp_path, "DELETE FROM meta WHERE key = 'exported_at'")
    report = Wallet(tmp_path / "new-machine" / "wallet.db").restore(data, PASSPHRASE, roots)
    assert report.exported_at is None and report.to_json()["exported_at"] is None
    assert report.warning is not None
    assert report.warning.startswith("this backup does not say when it was made: stamps used")
