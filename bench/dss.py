"""What embedding the validation data (chain and CRL in the stamp's DSS) costs per stamp.

    python bench/dss.py [--docs 40] [--batches 3]

Two wallets with the same issuer, one holding the issuer's CRL; batches stamp the same letters
with each, interleaved, in this process. Reports the median milliseconds per stamp of each
batch and the bytes each stamp adds, and their differences.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emeterai.issuer import Issuer  # noqa: E402
from emeterai.stamp import StampOptions, stamp_file  # noqa: E402
from emeterai.trust import TrustStore  # noqa: E402
from emeterai.wallet import Wallet  # noqa: E402

PASS = "bench-passphrase"


def _letter(path: Path, n: int) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawString(72, 760, f"Surat lamaran nomor {n}")
    c.drawString(400, 200, "Meterai Rp10.000")
    c.save()
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--batches", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="emeterai-bench-dss-"))
    issuer = Issuer.create(work / "issuer", PASS, name="Bench Issuer", specimen=True)
    trust = TrustStore(work / "trust")
    trust.add(issuer.root_pem(), "root")
    wallets = {}
    for kind in ("without", "with"):
        wallet = Wallet(work / kind / "wallet.db")
        stamps = issuer.issue(args.docs * args.batches, PASS)
        wallet.import_stamps([(s.serial, s.p12) for s in stamps], PASS, trust.certificates())
        if kind == "with":
            wallet.import_crl(issuer.crl(PASS), "issuer.crl", trust.certificates())
        wallets[kind] = (wallet, wallet.unlock(PASS))
    letters = [_letter(work / f"l{i}.pdf", i) for i in range(args.docs)]
    ms: dict[str, list[float]] = {"without": [], "with": []}
    added: dict[str, list[int]] = {"without": [], "with": []}
    for batch in range(args.batches):
        for kind in ("without", "with") if batch % 2 == 0 else ("with", "without"):
            wallet, key = wallets[kind]
            times = []
            for i, letter in enumerate(letters):
                out = work / kind / f"b{batch}-{i}.emeterai.pdf"
                start = time.perf_counter()
                result = stamp_file(letter, out, wallet, key, StampOptions())
                times.append((time.perf_counter() - start) * 1000)
                added[kind].append(result.bytes_added)
            ms[kind].append(statistics.median(times))
    load = os.getloadavg()
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.batches} batches of {args.docs}"
    )
    print("| | ms per stamp (median of batch medians) | bytes added (median) |")
    print("|---|---|---|")
    for kind in ("without", "with"):
        print(
            f"| {kind} CRL in the wallet | {statistics.median(ms[kind]):.1f} | {statistics.median(added[kind])} |"
        )
    dm = statistics.median(ms["with"]) - statistics.median(ms["without"])
    db = statistics.median(added["with"]) - statistics.median(added["without"])
    print(f"| cost of the DSS | {dm:+.1f} ms | {db:+.0f} bytes |")


if __name__ == "__main__":
    main()
