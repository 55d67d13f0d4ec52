#!/usr/bin/env python
"""What the stamp's own-revision check costs: its share of one in-process verify (medians).

    python bench/own_revision.py [--runs N]

Stamps the benchmark's documents (2-page letter, 300-page text, the same packed into object
streams by qpdf when it is installed) with a throwaway specimen issuer, then times
``Verifier.verify`` and, inside it, ``stamp_revision.problems``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    work = Path(tempfile.mkdtemp(prefix="emeterai-own-"))
    os.environ["EMETERAI_HOME"] = str(work / "home")
    import run as bench

    from emeterai import _stamp_revision as stamp_revision
    from emeterai.issuer import Issuer
    from emeterai.stamp import StampOptions, stamp_file
    from emeterai.trust import TrustStore
    from emeterai.verify import Verifier
    from emeterai.wallet import Wallet

    home = work / "home"
    issuer = Issuer.create(home / "issuer", "pw", name="Bench Issuer", specimen=True)
    trust = TrustStore(home / "trust")
    trust.add(issuer.root_pem(), "root")
    wallet = Wallet(home / "wallet" / "wallet.db")
    stamps = [(f"{s.serial}.p12", s.p12) for s in issuer.issue(4, "pw")]
    wallet.import_stamps(stamps, "pw", trust.certificates())
    key = wallet.unlock("pw")
    docs = [("2-page letter", work / "letter.pdf", bench.make_letter)]
    docs.append(("300-page text", work / "text300.pdf", lambda p: bench.make_text_doc(p, 300, 301)))
    for _, path, make in docs:
        make(path)
    if shutil.which("qpdf"):
        packed = work / "text300-objstm.pdf"
        subprocess.run(["qpdf", "--object-streams=generate", str(docs[1][1]), str(packed)])
        docs.append(("300-page text, object streams", packed, lambda p: None))

    spent: list[float] = []
    check = stamp_revision.problems

    def timed(*a, **k):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return check(*a, **k)
        finally:
            spent.append(time.perf_counter() - started)

    stamp_revision.problems = timed  # type: ignore[assignment]
    verifier = Verifier(trust.certificates())
    print("| input | verify ms (median) | own-revision check ms (median) | share |")
    print("|---|---|---|---|")
    for label, path, _ in docs:
        out = work / (path.stem + ".stamped.pdf")
        stamp_file(path, out, wallet, key, StampOptions())
        data = out.read_bytes()
        totals = []
        spent.clear()
        for _ in range(args.runs):
            started = time.perf_counter()
            result = verifier.verify(data, str(out))
            totals.append(time.perf_counter() - started)
            assert result.valid, [p.to_json() for p in result.problems]
        total, own = statistics.median(totals), statistics.median(spent)
        print(f"| {label} | {total * 1000:.1f} | {own * 1000:.1f} | {own / total:.0%} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
