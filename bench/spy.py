#!/usr/bin/env python
"""Inclusive time per function from py-spy's raw (collapsed) stacks, under one root function.

py-spy record -r 500 --format raw -o stamp.raw -- python bench/profiling.py --plain --what stamp
python bench/spy.py stamp.raw --root stamp_file --top 40
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw")
    parser.add_argument("--root", default="stamp_file", help="count only samples under this")
    parser.add_argument("--not-under", default=None, help="leave out samples under this")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--self", action="store_true", help="self time instead of inclusive")
    args = parser.parse_args(argv)
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in Path(args.raw).read_text().splitlines():
        stack, _, count = line.rstrip("\n").rpartition(" ")
        frames = stack.split(";")
        names = [re.sub(r" \((.*?)\)$", lambda m: " " + short(m.group(1)), f) for f in frames]
        roots = [i for i, f in enumerate(frames) if f.startswith(args.root + " ")]
        if not roots or (
            args.not_under and any(f.startswith(args.not_under + " ") for f in frames)
        ):
            continue
        under = names[roots[0] :]
        n = int(count)
        total += n
        if args.self:
            inclusive[under[-1]] += n
        else:
            for name in set(under):
                inclusive[name] += n
    print(f"{total} samples under {args.root}")
    for name, n in inclusive.most_common(args.top):
        print(f"{100 * n / total:6.1f}%  {name}")
    return 0


def short(where: str) -> str:
    where = re.sub(r":\d+$", "", where)
    for marker in ("site-packages/", "/emeterai/", "python3.11/"):
        if marker in where:
            return where.split(marker, 1)[1]
    return where


if __name__ == "__main__":
    sys.exit(main())
