#!/usr/bin/env python
"""Profile stamping and verifying in one warm process (README, Speed): where the time goes.

    python bench/profile.py                   # letter: stamp and verify, cProfile top entries
    python bench/profile.py --doc small300    # the 300-page text document
    python bench/profile.py --what verify -n 200 --sort tottime

Not a benchmark: cProfile slows Python code unevenly, so its figures show shares, not speed.
Inputs and the throwaway home are made with bench/run.py's own helpers.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--doc", default="letter", choices=["letter", "doc40", "small300", "big300"]
    )
    parser.add_argument("--what", default="both", choices=["stamp", "verify", "both"])
    parser.add_argument("-n", type=int, default=40, help="documents per profile")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument(
        "--plain", action="store_true", help="no cProfile: for a sampling profiler (py-spy)"
    )
    args = parser.parse_args(argv)
    import logging

    logging.getLogger().handlers = [logging.NullHandler()]
    logging.getLogger().setLevel(logging.CRITICAL + 1)
    work = Path(tempfile.mkdtemp(prefix="emeterai-profile-"))
    try:
        makers = {
            "letter": bench.make_letter,
            "doc40": lambda p: bench.make_text_doc(p, 40, seed=40),
            "small300": lambda p: bench.make_text_doc(p, 300, seed=301),
            "big300": lambda p: bench.make_scan_doc(p, 300, seed=300),
        }
        src = work / f"{args.doc}.pdf"
        makers[args.doc](src)
        home = bench.setup_home(work, args.n + 2)
        from emeterai import batch
        from emeterai.stamp import StampOptions
        from emeterai.verify import Verifier

        key = home.wallet.unlock(bench.PASSPHRASE)  # type: ignore[attr-defined]
        sources = bench.copies(src, work / "in", args.n + 1, args.doc)
        out = work / "out"
        out.mkdir()
        jobs = [batch.StampJob(s, out / s.name) for s in sources]

        def stamp(job: batch.StampJob) -> None:
            for _job, outcome in batch.stamp_files(
                home.wallet,  # type: ignore[arg-type]
                bench.PASSPHRASE,
                [job],
                StampOptions(),
                1,
                key=key,
            ):
                if not hasattr(outcome, "serial"):
                    raise SystemExit(f"profile: stamping failed: {outcome.error}")  # type: ignore[union-attr]

        stamp(jobs[0])  # warm-up
        prof = Profiler(args.plain)
        t0 = time.perf_counter()
        if args.what in ("stamp", "both"):
            prof.enable()
            for job in jobs[1:]:
                stamp(job)
            prof.disable()
            show(prof, f"stamp {args.doc}", args.n, time.perf_counter() - t0, args)
        else:
            for job in jobs[1:]:
                stamp(job)
        if args.what in ("verify", "both"):
            verifier = Verifier(home.roots)  # type: ignore[arg-type]
            files = [out / s.name for s in sources]
            datas = [f.read_bytes() for f in files]
            verifier.verify(datas[0], "warm")
            prof = Profiler(args.plain)
            t0 = time.perf_counter()
            prof.enable()
            for f, data in zip(files[1:], datas[1:], strict=True):
                if not verifier.verify(data, str(f)).valid:
                    raise SystemExit(f"profile: {f.name} does not verify")
            prof.disable()
            show(prof, f"verify {args.doc}", args.n, time.perf_counter() - t0, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


class Profiler:
    """cProfile, or nothing at all when a sampling profiler watches from outside."""

    def __init__(self, plain: bool) -> None:
        self.prof = None if plain else cProfile.Profile()

    def enable(self) -> None:
        if self.prof is not None:
            self.prof.enable()

    def disable(self) -> None:
        if self.prof is not None:
            self.prof.disable()


def show(prof: Profiler, what: str, n: int, wall: float, args: argparse.Namespace) -> None:
    print(f"## {what}: {n} documents, {wall * 1000 / n:.1f} ms/doc\n", flush=True)
    if prof.prof is None:
        return
    buf = io.StringIO()
    stats = pstats.Stats(prof.prof, stream=buf)
    stats.sort_stats(args.sort).print_stats(args.top)
    print(buf.getvalue())


if __name__ == "__main__":
    sys.exit(main())
