"""A cold `emeterai` command's wall time against an earlier revision, in the same run.

    python bench/cli_start.py 6306971      # `--help`: median of 21 alternating runs each, ratio
    python bench/cli_start.py eb77241 -n 9 -- stamp letter.pdf -o out.pdf --force
    python bench/cli_start.py eb77241 -n 31 -- verify letter.emeterai.pdf

A command that spends stamps (or needs a wallet) runs against $EMETERAI_HOME as set: point it at
a throwaway home with enough stamps for 2 x N runs.

The earlier revision is checked out into a temporary worktree; both run with this venv, the
project's editable-install finder removed so that each imports its own tree.
"""

from __future__ import annotations

import argparse
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
sys.argv = ["emeterai", *sys.argv[1:]]
try:
    runpy.run_module("emeterai", run_name="__main__")
except SystemExit as exc:
    if exc.code not in (0, None):
        raise
"""


def _median_ms(tree: Path, args: list[str], times: list[float]) -> None:
    env = dict(os.environ, PYTHONPATH=str(tree))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", RUN, *args], env=env, capture_output=True, check=True)
    times.append(time.perf_counter() - start)


def main() -> None:
    argv = sys.argv[1:]
    args = ["--help"]
    if "--" in argv:  # the command's own words, options included
        argv, args = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", nargs="?", default="HEAD~1", help="the earlier revision")
    parser.add_argument("-n", type=int, default=21, metavar="N", help="runs of each tree")
    opts = parser.parse_args(argv)
    rev, runs = opts.rev, opts.n
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(
            ["git", "-C", str(PROJECT), "worktree", "add", "-q", str(old), rev], check=True
        )
        try:
            for tree in (old, PROJECT):  # both byte-compiled, whatever PYTHONDONTWRITEBYTECODE says
                subprocess.run(
                    [sys.executable, "-m", "compileall", "-q", str(tree / "emeterai")],
                    check=True,
                    capture_output=True,
                )
            before: list[float] = []
            now: list[float] = []
            for i in range(runs):  # alternating, which goes first taking turns
                for tree, times in ((old, before), (PROJECT, now))[:: 1 if i % 2 else -1]:
                    _median_ms(tree, args, times)
        finally:
            subprocess.run(["git", "-C", str(PROJECT), "worktree", "remove", "--force", str(old)])
    b, n = statistics.median(before) * 1000, statistics.median(now) * 1000
    command = " ".join(["emeterai", *args])
    print(
        f"{command}: {rev} {b:.1f} ms, this tree {n:.1f} ms, ratio {n / b:.3f} ({runs} runs each)"
    )


if __name__ == "__main__":
    main()
