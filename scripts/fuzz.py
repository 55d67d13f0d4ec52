#!/usr/bin/env python3
"""Mutation fuzzing of stamp and verify (docs/robustness.md): seeded, deterministic, reproducible per case.

    python scripts/fuzz.py --minutes 30 --seed 7            # a long run
    python scripts/fuzz.py --cases 200 --seed 1 --kind xref --json
    python scripts/fuzz.py --seed 7 --replay 1234 --save DIR  # one case again, its file kept

Exit status 1 when any case failed; failing inputs are written to ``--save`` (default: a
``fuzz-failures`` folder in the work directory, printed at the end). The engine (what each case
checks, the mutation kinds, known defects) is ``tests/support/fuzz.py``, shared with ``tests/test_fuzz.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:  # run as a script: tests.support lives in the project
    sys.path.insert(0, str(PROJECT))

from tests.support.fuzz import KINDS, TARGETS, limit_memory, run  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--minutes", type=float, help="run for this long (default: 2)")
    group.add_argument("--cases", type=int, help="run exactly this many cases (deterministic)")
    group.add_argument("--replay", type=int, metavar="CASE", help="run one case again")
    parser.add_argument("--kind", choices=KINDS, help="only this mutation kind")
    parser.add_argument("--target", choices=TARGETS, help="only mutate this base document")
    parser.add_argument("--start", type=int, default=0, help="first case number")
    parser.add_argument("--save", type=Path, help="write failing inputs here")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 on known defects too (see KNOWN_DEFECTS)"
    )
    args = parser.parse_args(argv)

    limit_memory()
    work = Path(tempfile.mkdtemp(prefix="emeterai-fuzz-"))
    save = args.save or work / "fuzz-failures"
    try:
        if args.replay is not None:
            cases, seconds, start = 1, None, args.replay
        elif args.cases is not None:
            cases, seconds, start = args.cases, None, args.start
        else:
            cases, seconds, start = None, (args.minutes or 2.0) * 60, args.start
        summary = run(
            args.seed, cases, seconds, work, args.kind, args.target, start, save, not args.json
        )
    finally:
        for path in work.iterdir():
            if path == save:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if not (save.exists() and any(save.iterdir())) and args.save is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(summary.to_json()))
    else:
        report = summary.to_json()
        print(
            f"seed {report['seed']}: {report['cases']} cases in {report['seconds']} s, "
            f"{report['signed_range_mutations']} inside the signed byte range, "
            f"{report['unknown_failures']} failure(s), known defects: {report['known_defects']}"
        )
        print(f"  kinds: {report['by_kind']}")
        print(f"  outcomes: {report['outcomes']}")
        for failure in report["failures"]:
            if failure["known_defect"] is None or args.strict:
                print(f"  FAIL {failure}")
        if report["failures"]:
            flags = "".join(
                f" --{k} {v}" for k, v in (("kind", args.kind), ("target", args.target)) if v
            )
            print(
                f"  replay: python scripts/fuzz.py --seed {args.seed}{flags} --replay CASE --save DIR"
            )
    if save.exists() and any(save.iterdir()):
        print(f"  failing inputs (known defects included) are in {save}", file=sys.stderr)
    failed = [f for f in summary.failures if args.strict or f.known_defect is None]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
