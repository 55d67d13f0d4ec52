#!/usr/bin/env python3
"""Write the README's problem-code table from ``emeterai/problems.py`` (one source for the
README, ``emeterai explain`` and the reports; ``tests/test_problems.py`` fails when they differ).

    python scripts/problem_codes.py          # rewrites the table in README.md
    python scripts/problem_codes.py --check  # exit 1 if README.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from emeterai.problems import with_table

README = Path(__file__).resolve().parent.parent / "README.md"


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    updated = with_table(text)
    if "--check" in argv:
        if updated != text:
            print(f"{README}: the problem-code table is out of date", file=sys.stderr)
            return 1
        return 0
    if updated != text:
        README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
