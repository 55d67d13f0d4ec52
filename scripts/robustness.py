#!/usr/bin/env python3
"""Stamp and verify every real-world PDF we have; write the results to docs/robustness.md.

Inputs: every PDF under ../shared/corpus/ (relative to the project root) and the files that
``tests/support/producers.py`` makes with the producers installed here (Ghostscript, qpdf, MuPDF,
reportlab, Pillow, pypdf, pyHanko; LibreOffice and Chromium when installed). Each file goes
through ``emeterai.stamp.stamp_file`` with a throwaway issuer and wallet, and each output through
``emeterai.verify.Verifier`` and ``qpdf --check``. Hostile inputs (``producers.BAD_INPUTS``) go
through ``python -m emeterai stamp`` in a subprocess with a time and memory limit.

The expectations and checks live in ``tests/support/robustness.py``, shared with
``tests/test_robustness.py``: ``EXPECTED_REJECTIONS`` lists every file emeterai refuses, with the
class of its documented reason (``REASONS``) and a substring of the one-line message.

    python scripts/robustness.py                   # writes docs/robustness.md
    python scripts/robustness.py --out report.md --keep-outputs /tmp/stamped
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:  # run as a script: tests.support lives in the project
    sys.path.insert(0, str(PROJECT))

from tests.support import producers  # noqa: E402
from tests.support.robustness import (  # noqa: E402
    CORPUS,
    KNOWN_PASSWORDS,
    Record,
    corpus_files,
    evaluate,
    outcome_text,
    render,
    run_bad_inputs,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=PROJECT / "docs" / "robustness.md")
    parser.add_argument("--keep-outputs", type=Path, help="keep generated and stamped files here")
    parser.add_argument("--no-bad", action="store_true", help="skip the hostile-input subprocesses")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # pyHanko logs whole tracebacks for odd files

    from emeterai.verify import Verifier

    started = time.monotonic()
    work = args.keep_outputs or Path(tempfile.mkdtemp(prefix="emeterai-robustness-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        inputs: list[tuple[str, str, Path | None, str]] = []
        if args.corpus.is_dir():
            for path in corpus_files(args.corpus):
                rel = path.relative_to(args.corpus).as_posix()
                inputs.append((f"corpus:{rel}", f"corpus {rel.split('/')[0]}", path, ""))
        else:
            print(f"warning: no corpus at {args.corpus}", file=sys.stderr)
        for made in producers.make_producer_files(work / "generated"):
            inputs.append((f"generated:{made.name}", made.producer, made.path, made.note))

        sandbox = producers.throwaway_wallet(
            work / "sandbox", len(inputs) + len(KNOWN_PASSWORDS) + 4
        )
        verifier = Verifier(sandbox.roots)
        records: list[Record] = []
        for key, source, maybe, note in inputs:
            if maybe is None:
                records.append(
                    Record(key, key.split(":", 1)[1], source, status="not-installed", note=note)
                )
                continue
            record = evaluate(maybe, key, source, sandbox, verifier, work / "stamped")
            records.append(record)
            flag = "ok " if record.ok else "BAD"
            print(
                f"{flag} {record.seconds:5.2f}s {outcome_text(record):40.40} {key}", file=sys.stderr
            )
        password_records = []
        for key, password in KNOWN_PASSWORDS.items():
            path = args.corpus / key.split(":", 1)[1]
            if path.is_file():
                record = evaluate(
                    path, key, "corpus", sandbox, verifier, work / "stamped", password=password
                )
                password_records.append(record)
                print(f"pw  {outcome_text(record):40.40} {key}", file=sys.stderr)
        bad = [] if args.no_bad else run_bad_inputs(work / "bad-inputs")
        for b in bad:
            print(
                f"bad {b.name}: exit {b.stamp.returncode} in {b.stamp.seconds:.1f}s",
                file=sys.stderr,
            )
        text = render(records, password_records, bad, time.monotonic() - started)
    finally:
        if args.keep_outputs is None:
            shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}", file=sys.stderr)
    problems = [
        r
        for r in records
        if not r.ok or (r.pdfinfo == 0 and r.status == "rejected" and r.reason is None)
    ]
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
