"""Crash safety (SPEC §5): a batch ``emeterai stamp`` killed with SIGKILL at random moments.

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
import time
from pathlib import Path

import producers
import pytest
from conftest import PROJECT_ROOT

from emeterai.trust import parse_root
from emeterai.verify import Verifier

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
import robustness  # noqa: E402

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
