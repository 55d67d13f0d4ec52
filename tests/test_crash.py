"""Crash safety (docs/architecture.md, Invariants): a batch ``emeterai stamp`` killed with SIGKILL at random moments.

Each run starts a real ``python -m emeterai stamp`` over ~30 letters (EMETERAI_HOME and
EMETERAI_PASSPHRASE in the environment, ``--out-dir``), kills its whole process group with
SIGKILL at a random moment (0.3 s and 3 s after the start, or a random 0-40 ms after the n-th
output appeared, so that kills land while it imports, reserves, signs, writes or commits), then
runs ``emeterai wallet list --json``, which recovers stale reservations, and
checks: every stamp is available, or used with its output present, digest-bound to its input and
verifying; no ``.*.tmp`` file is left in the output folders; the used count equals the number of
outputs. One run uses ``--jobs 2`` (worker processes, killed with the batch).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from emeterai.trust import parse_root
from emeterai.verify import Verifier
from tests.support import producers, robustness

FILES = 30
SEED = 20240902
# When to send SIGKILL: ("after", seconds) from the start, or ("outputs", n): as soon as n
# outputs exist, plus a random 0-40 ms so the kill lands in any phase of the next stamp
# (reserve, sign, record, write, rename, commit). The interpreter and imports take ~0.7 s and a
# stamp ~20-50 ms on the reference machine, so pure delays would mostly miss the batch.
RUNS = [
    ("after", 0.3, 1),
    ("outputs", 1, 1),
    ("outputs", 6, 1),
    ("outputs", 13, 1),
    ("outputs", 21, 1),
    ("outputs", 28, 1),
    ("after", 3.0, 1),
    ("outputs", 10, 2),
]
STAMPS = FILES * len(RUNS) + 3  # never runs dry, whatever the machine's speed


@pytest.fixture(scope="module")
def crash_home(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("crash")
    env, root = robustness.cli_home(folder, STAMPS)
    inputs = folder / "in"
    inputs.mkdir()
    for i in range(FILES):
        (inputs / f"lamaran-{i:02d}.pdf").write_bytes(
            producers.letter_pdf(1 + i % 3, title=f"Surat lamaran nomor {i}")
        )
    return {
        "folder": folder,
        "env": env,
        "verifier": Verifier([parse_root(root.read_bytes(), str(root))]),
        "inputs": sorted(inputs.iterdir()),
        "out_dirs": [],
    }


def _wallet_list(env: dict[str, str]) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "emeterai", "wallet", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_consistent(home: dict) -> dict[str, int]:
    entries = _wallet_list(home["env"])
    assert len(entries) == STAMPS
    states = {e["state"] for e in entries}
    assert states <= {"available", "used"}, f"a reservation survived recovery: {states}"
    inputs = {str(p): _sha(p) for p in home["inputs"]}
    outputs = sorted(p for d in home["out_dirs"] if d.exists() for p in d.glob("*.pdf"))
    leftovers = [p for d in home["out_dirs"] if d.exists() for p in d.glob(".*.tmp")]
    assert not leftovers, f"temp files left behind: {leftovers}"
    used = [e for e in entries if e["state"] == "used"]
    by_output = {e["output"]: e for e in used}
    assert len(by_output) == len(used), "two stamps claim the same output"
    for e in used:
        out = Path(e["output"])
        assert out.is_file(), f"stamp {e['serial']} is used but its output {out} is missing"
        assert inputs.get(e["file"]) == e["document_sha256"], e
        verdict = home["verifier"].verify(out.read_bytes(), str(out))
        assert verdict.valid, (out, [p.to_json() for p in verdict.problems])
        assert [s.serial for s in verdict.stamps] == [e["serial"]]
    assert sorted(by_output) == [str(p.absolute()) for p in outputs], (
        "outputs without a used stamp, or used stamps without an output"
    )
    return {"used": len(used), "outputs": len(outputs)}


@pytest.mark.parametrize(
    ("trigger", "value", "jobs"), RUNS, ids=[f"{t}-{v}-jobs{j}" for t, v, j in RUNS]
)
def test_kill_9_during_a_batch_loses_nothing(crash_home, trigger, value, jobs):
    rng = random.Random(f"{SEED}:{trigger}:{value}:{jobs}")
    run = len(crash_home["out_dirs"])
    out_dir = crash_home["folder"] / f"out-{run}"
    crash_home["out_dirs"].append(out_dir)
    args = [sys.executable, "-m", "emeterai", "stamp", "--out-dir", str(out_dir)]
    if jobs > 1:
        args += ["--jobs", str(jobs)]
    started = time.monotonic()
    proc = subprocess.Popen(
        [*args, *map(str, crash_home["inputs"])],
        env=crash_home["env"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # the batch and its workers form one process group
    )
    if trigger == "after":
        time.sleep(value)
    else:
        while proc.poll() is None and time.monotonic() - started < 60:
            if out_dir.is_dir() and len(list(out_dir.glob("*.pdf"))) >= value:
                break
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.04))
    finished = proc.poll() is not None
    if not finished:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    # every process of the group is gone before recovery looks at their pids
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    counts = _check_consistent(crash_home)
    assert counts["used"] == counts["outputs"]
    elapsed = time.monotonic() - started
    print(f"killed={not finished} at {elapsed:.2f}s ({trigger} {value}, jobs {jobs}): {counts}")


def test_the_wallet_still_stamps_after_the_crashes(crash_home, tmp_path):
    """After all the kills, a normal batch runs to the end and the books still balance."""
    out_dir = crash_home["folder"] / "out-final"
    crash_home["out_dirs"].append(out_dir)
    before = _check_consistent(crash_home)
    proc = subprocess.run(
        [sys.executable, "-m", "emeterai", "stamp", "--out-dir", str(out_dir)]
        + [str(p) for p in crash_home["inputs"][:3]],
        env=crash_home["env"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    after = _check_consistent(crash_home)
    assert after["used"] == before["used"] + 3


# -- faults at each step of one stamp (docs/architecture.md, Invariants) ---------------------------------------
#
# A child process stamps one file and dies with os._exit right after one step of the pipeline
# returns; recovery then settles the wallet. A serial may come back as available only when no
# output carrying it can have been published; otherwise it is used (its output is there) or
# unsure (possibly used: e.g. the output was moved away after the crash), and never spent again.

_STEP_CRASH = textwrap.dedent(
    """
    import importlib, os, sys
    from pathlib import Path
    import emeterai.stamp as stamp
    from emeterai.wallet import Wallet

    step, db, source, output = sys.argv[1:5]
    module, _, attr = step.rpartition(":")
    owner = importlib.import_module(module)
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, name)

    def dying(*args, **kwargs):
        result = original(*args, **kwargs)
        os._exit(137)

    setattr(owner, name, dying)
    wallet = Wallet(Path(db))
    key = wallet.unlock(os.environ["EMETERAI_PASSPHRASE"])
    stamp.stamp_file(Path(source), Path(output), wallet, key, stamp.StampOptions())
    sys.exit(3)  # not reached: the crash comes first
    """
)

# (step after which the process dies, whether the output is then in place)
STEPS = [
    ("emeterai.wallet:Wallet.reserve", False),
    ("emeterai._sign:sign_update", False),
    ("emeterai.stamp:self_check", False),
    ("emeterai.wallet:Wallet.mark_written", False),
    ("emeterai.stamp:write_temp", False),
    ("emeterai.wallet:Wallet.mark_publishing", False),
    ("emeterai.stamp:rename_into_place", True),
    ("emeterai.stamp:sync_folder", True),
    ("emeterai.wallet:Wallet.commit", True),
]


def _one_stamp_dies(wallet_with_stamps, tmp_path, step: str):
    wallet = wallet_with_stamps(1)
    folder = tmp_path / "docs"
    folder.mkdir()
    source = folder / "x.pdf"
    source.write_bytes(producers.letter_pdf(1, title="Surat lamaran"))
    output = folder / "x.emeterai.pdf"
    proc = subprocess.run(
        [sys.executable, "-c", _STEP_CRASH, step, str(wallet.path), str(source), str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert proc.returncode == 137, proc.stderr
    (entry,) = wallet.entries()
    return wallet, entry.serial, folder, source, output


def _wallet_state(wallet) -> str:
    (entry,) = wallet.entries()
    return entry.state


@pytest.mark.parametrize(("step", "published"), STEPS, ids=[s.split(":")[1] for s, _ in STEPS])
def test_os_exit_after_each_step_then_recovery_never_frees_a_published_serial(
    home, issuer, wallet_with_stamps, tmp_path, step, published
):
    wallet, serial, folder, _source, output = _one_stamp_dies(wallet_with_stamps, tmp_path, step)
    assert output.exists() == published
    report = wallet.recover()
    if published:
        assert _wallet_state(wallet) == "used"
        verdict = Verifier([issuer.root]).verify(output.read_bytes(), str(output))
        assert verdict.valid and verdict.stamps[0].serial == serial
    else:
        assert report.released == (serial,) and report.unsure == ()
        assert _wallet_state(wallet) == "available"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["x.pdf"] + (["x.emeterai.pdf"] if published else [])
    ), "a temp file or a stray output is left"


@pytest.mark.parametrize("step", ["emeterai.stamp:rename_into_place", "emeterai.stamp:sync_folder"])
@pytest.mark.parametrize("how", ["moved", "deleted", "edited"])
def test_output_moved_away_after_a_crash_between_rename_and_commit_is_never_freed(
    home, runner, wallet_with_stamps, tmp_path, step, how
):
    """Issue 11 9(b): the output carrying the serial was published; after the crash the user
    moves, deletes or edits it before recovery runs. The serial must not become available."""
    wallet, serial, folder, _source, output = _one_stamp_dies(wallet_with_stamps, tmp_path, step)
    assert output.is_file()
    if how == "moved":
        output.rename(tmp_path / "elsewhere.pdf")
    elif how == "deleted":
        output.unlink()
    else:
        output.write_bytes(output.read_bytes() + b"\n% edited\n")
    report = wallet.recover()
    assert report.unsure == (serial,) and report.released == () and report.committed == ()
    assert _wallet_state(wallet) == "unsure"
    # never spent again, by choice or by default
    from emeterai.errors import NoStampAvailable, StampPossiblyUsed

    with pytest.raises(StampPossiblyUsed):
        wallet.reserve(serial)
    with pytest.raises(NoStampAvailable):
        wallet.reserve()
    # and wallet list shows it, in JSON and in words
    from emeterai.cli import app

    listed = runner.invoke(app, ["wallet", "list", "--json"])
    assert listed.exit_code == 0, listed.stderr
    (record,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert record["state"] == "unsure" and record["output"] == str(output.absolute())
    words = runner.invoke(app, ["wallet", "list"])
    assert "unsure" in words.stdout and "possibly used" in words.stdout


def _fsync_failing_on_folders(exc: BaseException):
    import stat

    real = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise exc
        real(fd)

    return fsync


@pytest.mark.parametrize(
    "exc", [OSError(5, "Input/output error"), KeyboardInterrupt()], ids=["EIO", "interrupt"]
)
def test_a_folder_fsync_that_fails_after_the_rename_spends_the_stamp(
    home, issuer, wallet_with_stamps, tmp_path, monkeypatch, exc
):
    """Issue 11 9(a): the output is in place when the folder's fsync fails or is interrupted:
    the serial it carries is used, not released; the error says so in one line."""
    from emeterai.errors import OutputNotDurable
    from emeterai.stamp import StampOptions, stamp_file
    from emeterai.wallet import Wallet

    wallet = wallet_with_stamps(1)
    wallet = Wallet(wallet.path)
    key = wallet.unlock(os.environ["EMETERAI_PASSPHRASE"])
    source = tmp_path / "x.pdf"
    source.write_bytes(producers.letter_pdf(1, title="Surat lamaran"))
    output = tmp_path / "x.emeterai.pdf"
    monkeypatch.setattr(os, "fsync", _fsync_failing_on_folders(exc))
    expected = OutputNotDurable if isinstance(exc, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as raised:
        stamp_file(source, output, wallet, key, StampOptions())
    monkeypatch.undo()
    if expected is OutputNotDurable:
        message = str(raised.value)
        assert "\n" not in message and str(output) in message and "spent" in message
    assert output.is_file()
    (entry,) = wallet.entries()
    assert entry.state == "used" and entry.output_path == str(output.absolute())
    assert wallet.recover() == type(wallet.recover())((), (), ())
    verdict = Verifier([issuer.root]).verify(output.read_bytes(), str(output))
    assert verdict.valid and verdict.stamps[0].serial == entry.serial
    assert not list(tmp_path.glob(".*.tmp"))
