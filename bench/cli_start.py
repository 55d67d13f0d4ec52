"""`emeterai --help` start-up time against an earlier revision, in the same run.

    python bench/cli_start.py 6306971      # median of 21 alternating runs each, and the ratio

The earlier revision is checked out into a temporary worktree; both run with this venv, the
project's editable-install finder removed so that each imports its own tree.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
RUN = """
import runpy, sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.argv = ["emeterai", "--help"]
try:
    runpy.run_module("emeterai", run_name="__main__")
except SystemExit:
    pass
"""


def _median_ms(tree: Path, times: list[float]) -> None:
    env = dict(os.environ, PYTHONPATH=str(tree))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, check=True)
    times.append(time.perf_counter() - start)


def main() -> None:
    rev = sys.argv[1] if len(sys.argv) > 1 else "HEAD~1"
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(
            ["git", "-C", str(PROJECT), "worktree", "add", "-q", str(old), rev], check=True
        )
        try:
            before: list[float] = []
            now: list[float] = []
            for _ in range(21):
                _median_ms(old, before)
                _median_ms(PROJECT, now)
        finally:
            subprocess.run(["git", "-C", str(PROJECT), "worktree", "remove", "--force", str(old)])
    b, n = statistics.median(before) * 1000, statistics.median(now) * 1000
    print(f"emeterai --help: {rev} {b:.1f} ms, this tree {n:.1f} ms, ratio {n / b:.3f}")


if __name__ == "__main__":
    main()
