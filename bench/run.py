#!/usr/bin/env python
"""Benchmark (issue 17, README Speed): speed per core against pyHanko and pdfsig, with and
without the self-check; verification; cold start; where the time goes; peak memory.

This is a benchmark, not a test: it prints figures, ratios against the peers measured in the
same run on the same inputs, and PASS/FAIL against issue 17's targets with its moonshots beside
them. It never fails the build; the exit code is 0 unless the benchmark itself breaks.

    python bench/run.py            # full run (20-30 minutes on a 2-core machine)
    python bench/run.py --quick    # smoke run, a minute or two, small N (figures meaningless)
    python bench/run.py --profile  # also cProfile stamping the letter and both 300-page docs

Before and after a change (the emeterai of an earlier commit, measured by this script):

    git worktree add /tmp/before 471041c
    python bench/run.py --source /tmp/before --save /tmp/before.json --no-results
    python bench/run.py --before /tmp/before.json

What it does, all in a throwaway directory (deleted at the end unless --keep):
- makes deterministic inputs with reportlab: a 2-page letter with a "Meterai 10.000"
  placeholder, a 40-page text document, a 300-page ~30 MB document (one incompressible
  ~100 KB noise JPEG per page, stored as is: /DCTDecode, like a scan) and a 300-page text-only
  document (page count without the size);
- sets up a throwaway EMETERAI_HOME through the library: issuer (ECDSA P-256), enough stamps in
  one issue call, trust store, wallet import;
- stamping, per input: batches of N hard-linked copies (full plan: 3 batches of 100, every
  input), each batch taking four variants round-robin (which goes first rotates): ours =
  ``emeterai.batch.stamp_files`` (the CLI's own batch path) in this process with jobs=1, with
  jobs=1 and ``emeterai.stamp.self_check`` replaced by a no-op for that batch only (so that the
  self-check's cost is visible; the targets are judged with it), with jobs=2; and the peer,
  pyHanko's own ``PdfSigner.sign_pdf`` with a ``QRStampStyle``, in-process, per document (read
  input, sign, write output; for the 300-page scan also an fsync of its output, as ours
  fsyncs), with a stamp's PKCS#12 (ECDSA P-256, the same key type) loaded once. Wall time per
  batch includes the wallet unlock (and, for jobs=2, the worker pool, forked from this
  warmed-up process: steady-state throughput, no import cost); median ms/doc over the batches.
  Outputs are deleted after each batch (the free disk is checked first); the 1-minute load
  average is noted before each batch;
- verification, per input: batches of N stamped files, round-robin over
  ``emeterai verify DIR --jobs 1 --json`` and ``--jobs 2`` (one subprocess each, wall time
  including its start-up), the peer ``pdfsig FILE`` run once per file (sequentially, as a
  shell loop would) and, for information, two pdfsig at a time; ``Verifier.verify``
  in-process per document for information;
- cold wall times (fresh processes, median): ``emeterai --help``, ``emeterai stamp`` of one
  document (each input), ``emeterai verify`` of one stamped letter; peak RSS of the one-document
  ``emeterai stamp`` per input via ``/usr/bin/time -f %M`` (or getrusage in a child), for
  information;
- where the time goes: the stamping pipeline's and one ``Verifier.verify`` call's phases,
  timed by wrapping their functions (``timed_phases``), median ms per document per input;
- the targets (issue 17): stamp per document in one process vs the peer (>= 2x; the scan vs the
  peer plus fsync >= 1.5x), verify per document in one process vs pdfsig (>= 2x), cost with
  pages (300-page text / letter <= 1.5x, stamp and verify), --jobs 2 over one process
  (>= 1.8x), cold --help / stamp / verify (<= 80 / 500 / 350 ms);
- writes the same report as markdown to bench/results.md (overwritten each run, keeping
  bench/serve.py's section at its end); --save FILE writes the phase tables and headline
  figures as JSON, --before FILE shows such a file's figures beside this run's.

Everything runs from a byte-compiled copy of emeterai/ (of this checkout, or of --source DIR)
taken at the start (see ``snapshot_package``), so that edits made to the working tree during
the run cannot mix code versions; the commit shown is that checkout's. The machine may be
shared: the report gives the load average at start, before each batch and at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results.md"
# bench/serve.py's section of results.md: kept as it is, at the end, when this run rewrites it.
SERVE_BEGIN = "<!-- bench/serve.py: begin -->"
SERVE_END = "<!-- bench/serve.py: end -->"
PASSPHRASE = "bench-passphrase"
MM = 72 / 25.4
A4 = (210 * MM, 297 * MM)
PLACEHOLDER = "Meterai 10.000"

# Issue 17's targets and moonshots: (target, moonshot). Ratios are taken within one run, from
# medians over batches, with the same key type (ECDSA P-256) on both sides.
STAMP_RATIO = (2.0, 4.0)  # peer ms / ours ms per document, one process (letter, doc40, small300)
BIG_STAMP_RATIO = (1.5, 2.0)  # the same for the 300-page scan, against the peer plus an fsync
VERIFY_RATIO = (2.0, 4.0)  # `pdfsig FILE` loop / `emeterai verify DIR --jobs 1`, per document
PAGES_COST = (1.5, 1.2)  # 300-page text / letter, ms per document in a batch (at most)
JOBS2_SPEEDUP = (1.8, 2.0)  # jobs=1 ms/doc / jobs=2 ms/doc on 2 cores (at least)
COLD_MS = {  # fresh processes, median wall ms (at most)
    "emeterai --help": (80.0, 50.0),
    "emeterai stamp letter.pdf -o out.pdf": (500.0, 300.0),
    "emeterai verify letter.emeterai.pdf": (350.0, 200.0),
}
# Inputs whose peer also fsyncs its output (ours always does): for a 31 MB output the fsync is
# a real part of the cost, and the issue compares against "the peer plus an fsync of its output".
PEER_FSYNC = frozenset({"big300"})
# The stamping variants of each batch, taken round-robin (the first one rotates per batch).
STAMP_VARIANTS = ("ours j1", "ours j1 without self-check", "ours j2", "peer")
VERIFY_VARIANTS = ("verify --jobs 1", "verify --jobs 2", "pdfsig loop", "pdfsig x2")


# -- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How much to measure; ``--quick`` uses a smaller one."""

    stamp_n: dict[str, int]  # documents per batch, per input
    stamp_reps: int
    verify_n: dict[str, int]  # stamped files per verify batch, per input
    verify_reps: int
    inproc_verify_n: int
    cold_runs: int  # --help, verify, letter stamp
    cold_stamp_runs: int  # the other inputs' one-document cold stamp
    cli_batch: bool  # also one end-to-end `emeterai stamp --jobs 2` batch per input
    phase_n: int = 8  # documents per input for the phase breakdown


# Batch sizes: the offices stamp and verify thousands of documents in one go, so a batch must be
# long enough that what a command pays once (wallet unlock, worker start-up, imports of a cold
# `emeterai verify`) weighs per document as it does in such a batch; the issue asks for medians
# of at least 3 batches of at least 100 documents, for every input (big300 stamping: ~30 s per
# variant per batch, 3 GB of outputs, deleted after each batch).
FULL = Plan(
    stamp_n={"letter": 100, "doc40": 100, "big300": 100, "small300": 100},
    stamp_reps=3,
    verify_n={"letter": 1000, "doc40": 1000, "big300": 100, "small300": 1000},
    verify_reps=3,
    inproc_verify_n=8,
    cold_runs=7,
    cold_stamp_runs=5,
    cli_batch=True,
)
QUICK = Plan(
    stamp_n={"letter": 10, "doc40": 5, "big300": 2, "small300": 4},
    stamp_reps=2,
    verify_n={"letter": 60, "doc40": 30, "big300": 4, "small300": 20},
    verify_reps=1,
    inproc_verify_n=2,
    cold_runs=2,
    cold_stamp_runs=1,
    cli_batch=False,
    phase_n=3,
)


@dataclass
class Doc:
    key: str
    label: str
    path: Path
    pages: int
    make_seconds: float

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    @property
    def mb(self) -> float:
        return self.size / 1e6


@dataclass
class Figures:
    """Everything measured for one input."""

    ours_j1_ms: list[float] = field(default_factory=list)  # per-doc ms of each batch
    ours_nocheck_ms: list[float] = field(default_factory=list)  # jobs=1, self-check a no-op
    ours_j2_ms: list[float] = field(default_factory=list)
    peer_ms: list[float] = field(default_factory=list)  # per-doc ms of each batch
    peer_fsync_ms: list[float] = field(default_factory=list)  # of which the fsync, per doc
    peer_fsync: bool = False
    stamp_load: list[float] = field(default_factory=list)  # 1-min load before each batch
    cli_batch_ms: float | None = None  # per doc, one cold `emeterai stamp --jobs 2` batch
    placement: str = ""
    stamped: list[Path] = field(default_factory=list)
    verify_inproc_ms: list[float] = field(default_factory=list)
    verify_j1_s: list[float] = field(default_factory=list)  # wall s of each CLI batch
    verify_j2_s: list[float] = field(default_factory=list)
    pdfsig_s: list[float] = field(default_factory=list)
    pdfsig_par_s: list[float] = field(default_factory=list)
    verify_load: list[float] = field(default_factory=list)
    verify_n: int = 0
    verify_ok: bool = True
    pdfsig_ok: bool = True
    cold_stamp_ms: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)


WARNINGS: list[str] = []  # anomalies seen during the run, repeated at the end of the report
SNAPSHOT: list[Path] = []  # the copy of emeterai/ that every measurement runs


def warn(msg: str) -> None:
    if msg in WARNINGS:  # e.g. a phase missing from this emeterai, seen for every input
        return
    WARNINGS.append(msg)
    log(f"WARNING: {msg}")


def snapshot_package(work: Path, source: Path = PROJECT) -> Path:
    """Copy ``source``/emeterai/ as it is now and run everything from the copy.

    Other engineers edit the working tree while the benchmark runs; without a snapshot the
    stamps made early and the verifier run late could come from different code. The copy is put
    first on sys.path here and on PYTHONPATH for the subprocesses (the editable install's finder
    comes after both). The copy is byte-compiled, as ``pip install`` does: with
    PYTHONDONTWRITEBYTECODE set (as here) an editable tree never gets .pyc files and every cold
    start would compile emeterai's sources again.
    """
    import compileall

    root = work / "src"
    package = source / "emeterai"
    if not (package / "__init__.py").is_file():
        raise SystemExit(f"bench: no emeterai package in {source}")
    shutil.copytree(package, root / "emeterai", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(root, work / "src-nopyc")
    compileall.compile_dir(root, quiet=1)
    if "emeterai" in sys.modules:
        raise SystemExit("bench: emeterai was imported before the snapshot")
    sys.path.insert(0, str(root))
    SNAPSHOT.append(root)
    import emeterai

    if Path(emeterai.__file__).resolve().parent != (root / "emeterai").resolve():
        raise SystemExit(f"bench: emeterai comes from {emeterai.__file__}, not the snapshot")
    return root


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# -- inputs --------------------------------------------------------------------------------

_TEXT = (
    "dengan hormat yang bertanda tangan di bawah ini mengajukan permohonan untuk mengikuti "
    "seleksi calon pegawai negeri sipil pada instansi pemerintah daerah sebagai bahan "
    "pertimbangan bersama ini saya lampirkan dokumen persyaratan sesuai ketentuan yang berlaku "
    "demikian surat ini saya buat dengan sebenarnya untuk dipergunakan sebagaimana mestinya "
    "atas perhatian bapak ibu saya ucapkan terima kasih"
)
_WORDS = _TEXT.split()


def _text_page(c, rng: random.Random, title: str, lines: int = 44) -> None:
    c.setFont("Times-Bold", 12)
    c.drawString(25 * MM, A4[1] - 22 * MM, title)
    c.setFont("Times-Roman", 11)
    y = A4[1] - 32 * MM
    for _ in range(lines):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < 88:
            words.append(rng.choice(_WORDS))
        c.drawString(25 * MM, y, " ".join(words).capitalize() + ".")
        y -= 14


def _placeholder(c, center_mm: tuple[float, float] = (150.0, 250.0)) -> None:
    cx, cy = center_mm[0] * MM, A4[1] - center_mm[1] * MM
    c.saveState()
    c.setDash(3, 2)
    c.setLineWidth(0.5)
    c.rect(cx - 12.5 * MM, cy - 12.5 * MM, 25 * MM, 25 * MM)
    c.setFont("Helvetica", 9)
    c.drawCentredString(cx, cy - 3, PLACEHOLDER)
    c.restoreState()
    c.setFont("Times-Roman", 12)
    c.drawString(130 * MM, A4[1] - 275 * MM, "Rina Ayu Lestari")


def _canvas(path: Path):
    from reportlab.pdfgen.canvas import Canvas

    return Canvas(str(path), pagesize=A4, invariant=1, pageCompression=1)


def make_letter(path: Path) -> int:
    rng = random.Random(1)
    c = _canvas(path)
    _text_page(c, rng, "Perihal: Lamaran CPNS - halaman 1", lines=40)
    c.showPage()
    _text_page(c, rng, "Perihal: Lamaran CPNS - halaman 2", lines=12)
    _placeholder(c)
    c.showPage()
    c.save()
    return 2


def make_text_doc(path: Path, pages: int, seed: int) -> int:
    rng = random.Random(seed)
    c = _canvas(path)
    for n in range(1, pages + 1):
        _text_page(c, rng, f"Dokumen {pages} halaman - halaman {n}", lines=44 if n < pages else 12)
        if n == pages:
            _placeholder(c)
        c.showPage()
    c.save()
    return pages


def make_scan_doc(path: Path, pages: int, seed: int, image_px: tuple[int, int] = (300, 282)) -> int:
    """One distinct noise JPEG (~100 KB, incompressible) per page, stored as is (/DCTDecode)."""
    from PIL import Image
    from reportlab import rl_config
    from reportlab.lib.utils import ImageReader

    rng = random.Random(seed)
    old_a85 = rl_config.useA85
    rl_config.useA85 = 0  # raw JPEG bytes in the stream: no ASCII85 inflation
    try:
        c = _canvas(path)
        w, h = image_px
        for n in range(1, pages + 1):
            image = Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3))
            jpeg = io.BytesIO()
            image.save(jpeg, format="JPEG", quality=95)
            jpeg.seek(0)
            c.drawImage(ImageReader(jpeg), 20 * MM, 40 * MM, 170 * MM, 230 * MM)
            c.setFont("Times-Roman", 10)
            c.drawString(25 * MM, A4[1] - 15 * MM, f"Pindaian halaman {n} dari {pages}")
            if n == pages:
                _placeholder(c, (150.0, 262.0))
            c.showPage()
        c.save()
    finally:
        rl_config.useA85 = old_a85
    return pages


def make_inputs(directory: Path) -> list[Doc]:
    directory.mkdir(parents=True, exist_ok=True)
    specs: list[tuple[str, str, Callable[[Path], int]]] = [
        ("letter", "2-page letter", make_letter),
        ("doc40", "40-page document", lambda p: make_text_doc(p, 40, seed=40)),
        ("big300", "300-page ~30 MB scan", lambda p: make_scan_doc(p, 300, seed=300)),
        ("small300", "300-page text only", lambda p: make_text_doc(p, 300, seed=301)),
    ]
    docs = []
    for key, label, maker in specs:
        path = directory / f"{key}.pdf"
        t0 = time.perf_counter()
        pages = maker(path)
        docs.append(Doc(key, label, path, pages, time.perf_counter() - t0))
    return docs


def copies(src: Path, directory: Path, n: int, stem: str) -> list[Path]:
    """``n`` hard links (copies where links fail) of ``src`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        dst = directory / f"{stem}-{i:04d}.pdf"
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
        out.append(dst)
    return out


# -- the home: issuer, stamps, trust, wallet -----------------------------------------------


@dataclass
class Home:
    path: Path
    wallet: object
    peer_p12: Path
    roots: list


def setup_home(directory: Path, count: int) -> Home:
    from emeterai.issuer import Issuer
    from emeterai.trust import TrustStore
    from emeterai.wallet import Wallet

    home = directory / "home"
    issuer = Issuer.create(home / "issuer", PASSPHRASE, name="Bench Issuer")
    stamps = issuer.issue(count + 1, PASSPHRASE)
    TrustStore(home / "trust").add(issuer.root_pem(), "bench root")
    peer = stamps.pop()  # the peer signs with a stamp of its own: same key type and chain
    peer_p12 = directory / f"{peer.serial}.p12"
    peer_p12.write_bytes(peer.p12)
    wallet = Wallet(home / "wallet" / "wallet.db")
    outcomes = wallet.import_stamps([(s.serial, s.p12) for s in stamps], PASSPHRASE, [issuer.root])
    bad = [o for o in outcomes if o.status != "imported"]
    if bad:
        raise SystemExit(f"bench: wallet import failed: {bad[0].detail}")
    return Home(home, wallet, peer_p12, [issuer.root])


def sub_env(home: Home) -> dict[str, str]:
    env = dict(os.environ)
    env["EMETERAI_HOME"] = str(home.path)
    env["EMETERAI_PASSPHRASE"] = PASSPHRASE
    if SNAPSHOT:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(SNAPSHOT[0]), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    env.pop("EMETERAI_VERBOSE", None)
    return env


def emeterai_exe() -> str:
    here = Path(sys.executable).with_name("emeterai")
    if here.exists():
        return str(here)
    found = shutil.which("emeterai")
    if found is None:
        raise SystemExit("bench: the emeterai command is not installed (pip install -e .)")
    return found


# -- stamping ------------------------------------------------------------------------------


def ours_batch(home: Home, sources: list[Path], out_dir: Path, jobs: int) -> tuple[float, list]:
    """Wall seconds of one stamp_files batch (the CLI's path) and its results."""
    from emeterai import batch
    from emeterai.stamp import StampOptions

    out_dir.mkdir(parents=True, exist_ok=True)
    jobs_list = [batch.StampJob(s, out_dir / f"{s.stem}.emeterai.pdf") for s in sources]
    t0 = time.perf_counter()
    results = list(batch.stamp_files(home.wallet, PASSPHRASE, jobs_list, StampOptions(), jobs))  # type: ignore[arg-type]
    wall = time.perf_counter() - t0
    for _job, outcome in results:
        if not hasattr(outcome, "serial"):  # a StampFailure
            raise SystemExit(f"bench: stamping failed: {outcome.error}")
    return wall, [o for _, o in results]


@contextlib.contextmanager
def without_self_check() -> Iterator[list[str]]:
    """In this process only, for one in-process (jobs=1) batch: ``emeterai.stamp.self_check``
    (the full verify of input and output before a stamp is spent) becomes a no-op, so that its
    cost shows beside the real figure. Yields the list of the sources it was skipped for; the
    original is put back on leaving. No user-facing way to skip it exists, nor is one added."""
    import emeterai.stamp

    original = emeterai.stamp.self_check
    skipped: list[str] = []

    def no_self_check(given, stamped, source, *args, **kwargs) -> None:
        skipped.append(source)

    emeterai.stamp.self_check = no_self_check  # type: ignore[assignment]
    try:
        yield skipped
    finally:
        emeterai.stamp.self_check = original  # type: ignore[assignment]


class Peer:
    """pyHanko's own QR-stamp signing: a PdfSigner with a QRStampStyle, per document."""

    def __init__(self, p12: Path) -> None:
        from pyhanko.sign import signers

        self.signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=PASSPHRASE.encode())
        assert self.signer is not None
        self.count = 0

    def sign_file(
        self, src: Path, dst: Path, page_index: int, fsync: bool = False
    ) -> tuple[float, float]:
        """Read ``src``, sign it, write ``dst`` (and fsync it when ``fsync``): wall seconds in
        all, and of the fsync."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import signers
        from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter
        from pyhanko.stamp import QRStampStyle

        self.count += 1
        name = f"Peer{self.count}"
        box = (390, 98, 461, 169)  # the letter's placeholder square (25 mm), bottom right
        t0 = time.perf_counter()
        data = src.read_bytes()
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        pdf_signer = signers.PdfSigner(
            signers.PdfSignatureMetadata(
                field_name=name, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES
            ),
            signer=self.signer,
            stamp_style=QRStampStyle(),
            new_field_spec=SigFieldSpec(name, on_page=page_index, box=box),
        )
        out = io.BytesIO()
        pdf_signer.sign_pdf(
            writer, output=out, appearance_text_params={"url": "https://verify.example/e-meterai"}
        )
        synced = 0.0
        with open(dst, "wb") as fh:
            fh.write(out.getbuffer())
            if fsync:
                t1 = time.perf_counter()
                fh.flush()
                os.fsync(fh.fileno())
                synced = time.perf_counter() - t1
        return time.perf_counter() - t0, synced


def peer_batch(
    peer: Peer, sources: list[Path], out_dir: Path, page_index: int, fsync: bool
) -> tuple[float, float]:
    """Wall seconds of the peer signing ``sources`` one after the other, and of its fsyncs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    synced = 0.0
    t0 = time.perf_counter()
    for s in sources:
        synced += peer.sign_file(s, out_dir / s.name, page_index, fsync)[1]
    return time.perf_counter() - t0, synced


def rotated(items: Sequence[str], by: int) -> list[str]:
    """``items`` starting at ``by`` (mod len): each batch round-robins over the variants, and
    which goes first changes from batch to batch, so that no variant always follows another."""
    k = by % len(items)
    return [*items[k:], *items[:k]]


def bench_stamping(doc: Doc, fig: Figures, home: Home, peer: Peer, work: Path, plan: Plan) -> None:
    n = plan.stamp_n[doc.key]
    sources = copies(doc.path, work / "in" / doc.key, n, doc.key)
    fig.peer_fsync = doc.key in PEER_FSYNC
    ours = {"ours j1": fig.ours_j1_ms, "ours j2": fig.ours_j2_ms}
    for rep in range(plan.stamp_reps):
        # Interleaved, so that drift on a noisy machine hits all four alike.
        fig.stamp_load.append(os.getloadavg()[0])
        for variant in rotated(STAMP_VARIANTS, rep):
            out = work / "out" / f"{doc.key}-{variant.replace(' ', '-')}-r{rep}"
            if variant == "peer":
                wall, synced = peer_batch(peer, sources, out, doc.pages - 1, fig.peer_fsync)
                fig.peer_ms.append(wall * 1000 / n)
                fig.peer_fsync_ms.append(synced * 1000 / n)
                shutil.rmtree(out)
                continue
            if variant == "ours j1 without self-check":
                with without_self_check() as skipped:
                    wall, results = ours_batch(home, sources, out, 1)
                if len(skipped) != n:
                    warn(
                        f"stamp {doc.key}: the self-check was skipped for {len(skipped)} of {n} "
                        "documents: the column without it is not what it says"
                    )
                fig.ours_nocheck_ms.append(wall * 1000 / n)
                shutil.rmtree(out)  # never verified nor kept: nothing checked these
                continue
            wall, results = ours_batch(home, sources, out, 1 if variant == "ours j1" else 2)
            ours[variant].append(wall * 1000 / n)
            fig.placement = results[0].placement
            if rep == plan.stamp_reps - 1 and variant == "ours j1":
                fig.stamped = [Path(r.output) for r in results]  # verified below
            else:
                shutil.rmtree(out)
    log(
        f"stamp {doc.key}: ours j1 {med(fig.ours_j1_ms):.0f} ms/doc (without self-check "
        f"{med(fig.ours_nocheck_ms):.0f}), j2 {med(fig.ours_j2_ms):.0f} ms/doc, peer "
        f"{med(fig.peer_ms):.0f} ms/doc{' with fsync' if fig.peer_fsync else ''}"
    )


def check_disk(work: Path, docs: list[Doc], plan: Plan) -> None:
    """Warn when the disk may not hold what stamping writes at its peak: the stamped outputs
    kept for verification (one batch per input) plus the largest batch being written."""
    batches = [plan.stamp_n[d.key] * d.size * 1.05 for d in docs]
    need = sum(batches) + max(batches) + 1e9
    free = shutil.disk_usage(work).free
    log(f"disk: {free / 1e9:.1f} GB free in {work.parent}, about {need / 1e9:.1f} GB needed")
    if free < need:
        warn(
            f"only {free / 1e9:.1f} GB free in {work.parent}; stamping may need about "
            f"{need / 1e9:.1f} GB at its peak"
        )


def bench_cli_batch(doc: Doc, fig: Figures, home: Home, work: Path, plan: Plan) -> None:
    n = plan.stamp_n[doc.key]
    sources = sorted((work / "in" / doc.key).glob("*.pdf"))[:n]
    out = work / "out" / f"{doc.key}-cli"
    cmd = [emeterai_exe(), "stamp", *map(str, sources), "--out-dir", str(out), "--jobs", "2"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=sub_env(home), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd[:2])} failed: {proc.stderr.strip()[-400:]}")
    fig.cli_batch_ms = wall * 1000 / n
    shutil.rmtree(out)


# -- verification --------------------------------------------------------------------------


def bench_verify(doc: Doc, fig: Figures, home: Home, work: Path, plan: Plan) -> None:
    from emeterai.verify import Verifier

    verifier = Verifier(home.roots)
    for path in fig.stamped[: plan.inproc_verify_n]:
        data = path.read_bytes()
        t0 = time.perf_counter()
        result = verifier.verify(data, str(path))
        fig.verify_inproc_ms.append((time.perf_counter() - t0) * 1000)
        if not result.valid:
            fig.verify_ok = False
            warn(f"in-process verify of {path.name}: INVALID {[p.code for p in result.problems]}")

    n = plan.verify_n[doc.key]
    vdir = work / "verify" / doc.key
    vdir.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        src = fig.stamped[i % len(fig.stamped)]
        dst = vdir / f"{doc.key}-{i:04d}.pdf"
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
        files.append(dst)
    fig.verify_n = n
    env = sub_env(home)
    exe = emeterai_exe()
    pdfsig = shutil.which("pdfsig")

    def run_pdfsig(path: Path) -> bool:
        assert pdfsig is not None
        proc = subprocess.run([pdfsig, str(path)], capture_output=True, text=True)
        return "Signature is Valid" in proc.stdout

    def run_ours(jobs: int) -> float:
        """Wall seconds of one `emeterai verify DIR --jobs N --json` process over the files."""
        t0 = time.perf_counter()
        proc = subprocess.run(
            [exe, "verify", str(vdir), "--jobs", str(jobs), "--json"],
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t0
        lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
        if (
            proc.returncode != 0
            or len(lines) != n
            or any('"valid": true' not in ln for ln in lines)
        ):
            fig.verify_ok = False
            valid = sum('"valid": true' in ln for ln in lines)
            last = (proc.stderr.strip().splitlines() or [""])[-1]
            warn(
                f"`emeterai verify --jobs {jobs}` of {n} {doc.key} files: exit "
                f"{proc.returncode}, {valid} valid of {n}: {last[-200:]}"
            )
        return wall

    def run_pdfsig_loop(workers: int) -> float:
        t0 = time.perf_counter()
        if workers == 1:
            oks = [run_pdfsig(f) for f in files]
        else:  # for information: pdfsig on both cores
            with ThreadPoolExecutor(workers) as pool:
                oks = list(pool.map(run_pdfsig, files))
        wall = time.perf_counter() - t0
        if not all(oks):
            fig.pdfsig_ok = False
            warn(f"pdfsig did not report 'Signature is Valid' for some {doc.key} file")
        return wall

    if pdfsig is None:
        warn("pdfsig is not installed: no verification peer")
    for rep in range(plan.verify_reps):
        # Interleaved as the stamping batches are.
        fig.verify_load.append(os.getloadavg()[0])
        for variant in rotated(VERIFY_VARIANTS, rep):
            if variant == "verify --jobs 1":
                fig.verify_j1_s.append(run_ours(1))
            elif variant == "verify --jobs 2":
                fig.verify_j2_s.append(run_ours(2))
            elif pdfsig is not None:
                store = fig.pdfsig_s if variant == "pdfsig loop" else fig.pdfsig_par_s
                store.append(run_pdfsig_loop(1 if variant == "pdfsig loop" else 2))
    shutil.rmtree(vdir)
    log(
        f"verify {doc.key}: in-process {med(fig.verify_inproc_ms):.0f} ms/doc, "
        f"CLI --jobs 1 {med(fig.verify_j1_s) * 1000 / n:.1f} ms/doc, "
        f"--jobs 2 {med(fig.verify_j2_s) * 1000 / n:.1f} ms/doc, "
        f"pdfsig {med(fig.pdfsig_s) * 1000 / n:.1f} ms/doc"
    )


# -- cold start and memory -----------------------------------------------------------------

TIME_BIN = "/usr/bin/time"

_RUSAGE_CHILD = """
import resource, subprocess, sys
proc = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.stderr.write(proc.stderr.decode(errors="replace"))
sys.exit(proc.returncode)
"""


def timed_run(
    cmd: list[str], env: dict[str, str], rss_file: Path | None = None
) -> tuple[float, int | None]:
    """Wall ms of one fresh process running ``cmd``; its peak RSS in KB when ``rss_file``."""
    if rss_file is not None:
        if os.access(TIME_BIN, os.X_OK):
            cmd = [TIME_BIN, "-f", "%M", "-o", str(rss_file), *cmd]
        else:
            cmd = [sys.executable, "-c", _RUSAGE_CHILD, str(rss_file), *cmd]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = (time.perf_counter() - t0) * 1000
    if proc.returncode != 0:
        names = [Path(c).name for c in cmd]
        shown = " ".join(names[names.index("emeterai") :] if "emeterai" in names else names)
        last = (proc.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
        warn(f"`{shown}` exit {proc.returncode}: {last[-300:]}")
    rss = None
    if rss_file is not None:
        rss = int(rss_file.read_text().split()[-1])
        rss_file.unlink()
    return wall, rss


def cold(
    commands: dict[str, tuple[list[str], dict[str, str]]], runs: int
) -> dict[str, list[float]]:
    """Wall ms of ``runs`` fresh processes per command, taken round-robin so that load from
    elsewhere hits every command alike; one unmeasured warm-up run each."""
    for cmd, env in commands.values():
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, (cmd, env) in commands.items():
            out[label].append(timed_run(cmd, env)[0])
    return out


def bench_cold_stamp(
    docs: list[Doc], figs: dict[str, Figures], home: Home, work: Path, runs: dict[str, int]
) -> None:
    """One-document ``emeterai stamp`` in fresh processes, round-robin over the inputs."""
    env = sub_env(home)
    for i in range(max(runs.values())):
        for doc in docs:
            if i >= runs[doc.key]:
                continue
            fig = figs[doc.key]
            out = work / "out" / f"{doc.key}-cold-{i}.emeterai.pdf"
            wall, rss = timed_run(
                [emeterai_exe(), "stamp", str(doc.path), "-o", str(out)], env, work / "rss.txt"
            )
            fig.cold_stamp_ms.append(wall)
            assert rss is not None
            fig.rss_kb.append(rss)
            out.unlink(missing_ok=True)
    for doc in docs:
        fig = figs[doc.key]
        log(
            f"cold stamp {doc.key}: {med(fig.cold_stamp_ms):.0f} ms, "
            f"peak RSS {med(fig.rss_kb) * 1024 / 1e6:.0f} MB"
        )


# -- where the time goes ---------------------------------------------------------------------

# (label, module, attribute, is a coroutine): the stamping pipeline's phases, timed by wrapping.
PHASES = [
    ("read the input", "emeterai.stamp", "read_input", False),
    ("analyse: strict structure check (pyHanko)", "emeterai._repair", "structure_problem", False),
    ("analyse: pypdf reader + page list", "emeterai.stamp", "_reader", False),
    ("analyse: placement (placeholder text search)", "emeterai._place", "choose", False),
    ("analyse, in all (also SHA-256 of the input)", "emeterai.stamp", "analyse", False),
    ("wallet: reserve", "emeterai.wallet", "Wallet.reserve", False),
    ("wallet: unwrap stamp key", "emeterai.wallet", "Wallet.stamp_key", False),
    ("picture from the cached template", "emeterai.stamp", "appearance_for", False),
    ("sign (pyHanko), in all", "emeterai._sign", "sign_update", False),
    (
        "  of which CMS + ECDSA (pyHanko perform_signature)",
        "pyhanko.sign.signers.pdf_signer",
        "PdfTBSDocument.perform_signature",
        True,
    ),
    (
        "  of which write + digest the byte range",
        "pyhanko.sign.signers.pdf_signer",
        "PdfTBSDocument.digest_tbs_document",
        False,
    ),
    ("self-check: full verify of input and output, in all", "emeterai.stamp", "self_check", False),
    (
        "  of which Verifier.verify (input and output)",
        "emeterai.verify",
        "Verifier.verify",
        False,
    ),
    ("wallet: record intended output (durable)", "emeterai.wallet", "Wallet.mark_written", False),
    ("write temp file + fsync", "emeterai.stamp", "write_temp", False),
    ("wallet: record the move (durable)", "emeterai.wallet", "Wallet.mark_publishing", False),
    ("rename", "emeterai.stamp", "rename_into_place", False),
    ("fsync folder", "emeterai.stamp", "sync_folder", False),
    ("wallet: commit", "emeterai.wallet", "Wallet.commit", False),
    ("whole stamp_file", "emeterai.stamp", "stamp_file", False),
]
PEER_PHASES = [
    (
        "peer: size estimate (a dry-run signature)",
        "pyhanko.sign.signers.pdf_signer",
        "PdfSigningSession.estimate_signature_container_size",
        True,
    ),
    (
        "peer: CMS + ECDSA (perform_signature)",
        "pyhanko.sign.signers.pdf_signer",
        "PdfTBSDocument.perform_signature",
        True,
    ),
]
PEER_WHOLE = "peer: whole sign_file (read, sign, write; and fsync for the scan)"
# One Verifier.verify call of a stamped output. verify.py imports after_stamp from
# emeterai._changes into its own namespace and calls it by that name: it is wrapped there.
VERIFY_PHASES = [
    ("open: parse, collect the signatures (_open)", "emeterai.verify", "_open", False),
    ("document: timestamps, DSS, CRLs (_document)", "emeterai.verify", "Verifier._document", False),
    (
        "one stamp's checks, in all (_check_stamp)",
        "emeterai.verify",
        "Verifier._check_stamp",
        False,
    ),
    (
        "  signature: byte range, layout, digest, CMS (_signature)",
        "emeterai.verify",
        "Verifier._signature",
        False,
    ),
    (
        "    of which pyHanko validate_pdf_signature (_validate)",
        "emeterai.verify",
        "Verifier._validate",
        False,
    ),
    ("    of which layout (_layout_problems)", "emeterai.verify", "_layout_problems", False),
    ("    of which digest of the range (_digest_once)", "emeterai.verify", "_digest_once", False),
    ("  serial: picture check (_serial_problems)", "emeterai.verify", "_serial_problems", False),
    (
        "  own revision: exact update (_own_revision_problems)",
        "emeterai.verify",
        "_own_revision_problems",
        False,
    ),
    ("  what came after the stamp (after_stamp)", "emeterai.verify", "after_stamp", False),
    ("  level (_level)", "emeterai.verify", "_level", False),
    ("whole Verifier.verify", "emeterai.verify", "Verifier.verify", False),
]


@contextlib.contextmanager
def timed_phases(
    phases: list[tuple[str, str, str, bool]], into: dict[str, list[float]]
) -> Iterator[list[str]]:
    """Wrap each phase's function so that its wall time per call lands in ``into``; yields the
    labels of the phases wrapped (a phase this emeterai does not have is skipped, with a
    warning)."""
    import functools
    import importlib

    undo = []
    wrapped: list[str] = []
    for label, module, attr, is_async in phases:
        *path, name = attr.split(".")
        try:  # another version of emeterai (--source) may not have it
            owner: object = importlib.import_module(module)
            for part in path:
                owner = getattr(owner, part)
            original = getattr(owner, name)
        except (ImportError, AttributeError):
            warn(f"phase '{label.strip()}': {module}.{attr} does not exist here; not timed")
            continue

        def make(original=original, label=label, is_async=is_async):
            if is_async:

                @functools.wraps(original)
                async def awrapper(*a, **k):
                    t0 = time.perf_counter()
                    try:
                        return await original(*a, **k)
                    finally:
                        into.setdefault(label, []).append(time.perf_counter() - t0)

                return awrapper

            @functools.wraps(original)
            def wrapper(*a, **k):
                t0 = time.perf_counter()
                try:
                    return original(*a, **k)
                finally:
                    into.setdefault(label, []).append(time.perf_counter() - t0)

            return wrapper

        setattr(owner, name, make())
        undo.append((owner, name, original))
        wrapped.append(label)
    try:
        yield wrapped
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


@dataclass
class PhaseTable:
    """Median ms per document of each phase, per input, and the median number of calls."""

    labels: list[str]
    ms: dict[str, dict[str, float]] = field(default_factory=dict)  # input key -> label -> ms
    calls: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, key: str, ms: dict[str, list[float]], calls: dict[str, list[float]]) -> None:
        self.ms[key] = {label: med(v) for label, v in ms.items()}
        self.calls[key] = {label: med(v) for label, v in calls.items()}

    def to_json(self) -> dict:
        return {"labels": self.labels, "ms": self.ms, "calls": self.calls}

    @classmethod
    def from_json(cls, data: dict) -> PhaseTable:
        return cls(list(data["labels"]), dict(data["ms"]), dict(data["calls"]))


def per_document(
    times: dict[str, list[float]],
    wrapped: list[str],
    ms: dict[str, list[float]],
    calls: dict[str, list[float]],
) -> None:
    """Move one document's per-call times into its per-document sums (a phase wrapped but not
    called counts 0 ms, 0 calls)."""
    for label in wrapped:
        got = times.get(label, [])
        ms.setdefault(label, []).append(sum(got) * 1000)
        calls.setdefault(label, []).append(len(got))
    times.clear()


def phase_breakdown(docs: list[Doc], home: Home, peer: Peer, work: Path, n: int) -> PhaseTable:
    """Where a stamp's time goes: median wall ms per document of each stamping phase, per
    input (in-process, one core, no profiler), with the peer's phases and total beside it."""
    from emeterai import batch
    from emeterai.stamp import StampOptions

    key = home.wallet.unlock(PASSPHRASE)  # type: ignore[attr-defined]
    result = PhaseTable([p[0] for p in PHASES] + [p[0] for p in PEER_PHASES] + [PEER_WHOLE])
    for doc in docs:
        sources = copies(doc.path, work / "in" / f"phases-{doc.key}", n, doc.key)
        out = work / "out" / f"phases-{doc.key}"
        out.mkdir(parents=True, exist_ok=True)
        jobs = [batch.StampJob(s, out / s.name) for s in sources]
        times: dict[str, list[float]] = {}
        ms: dict[str, list[float]] = {}
        calls: dict[str, list[float]] = {}
        with timed_phases(PHASES, times) as wrapped:
            for job in jobs:
                list(batch.stamp_files(home.wallet, PASSPHRASE, [job], StampOptions(), 1, key=key))  # type: ignore[arg-type]
                per_document(times, wrapped, ms, calls)
        with timed_phases(PEER_PHASES, times) as wrapped:
            for s in sources:
                dst = out / f"peer-{s.name}"
                total, _ = peer.sign_file(s, dst, doc.pages - 1, doc.key in PEER_FSYNC)
                per_document(times, wrapped, ms, calls)
                ms.setdefault(PEER_WHOLE, []).append(total * 1000)
                calls.setdefault(PEER_WHOLE, []).append(1)
        result.add(doc.key, ms, calls)
        shutil.rmtree(out)
        shutil.rmtree(work / "in" / f"phases-{doc.key}")
    return result


def verify_phase_breakdown(
    docs: list[Doc], figs: dict[str, Figures], home: Home, n: int
) -> PhaseTable:
    """Where a verification's time goes: median wall ms per document of each phase of one
    ``Verifier.verify`` call on a stamped output, per input (in-process, one core)."""
    from emeterai.verify import Verifier

    verifier = Verifier(home.roots)
    result = PhaseTable([p[0] for p in VERIFY_PHASES])
    for doc in docs:
        times: dict[str, list[float]] = {}
        ms: dict[str, list[float]] = {}
        calls: dict[str, list[float]] = {}
        with timed_phases(VERIFY_PHASES, times) as wrapped:
            for path in figs[doc.key].stamped[:n]:
                data = path.read_bytes()
                times.clear()
                if not verifier.verify(data, str(path)).valid:
                    warn(f"verify phases: {path.name} is not valid")
                per_document(times, wrapped, ms, calls)
        result.add(doc.key, ms, calls)
    return result


def phase_table(phases: PhaseTable, docs: list[Doc], before: PhaseTable | None = None) -> list[str]:
    """The markdown table: a column per input, or with ``before`` a before and an after column
    per input. "(xK)" is the median number of calls per document where it is not 1; n/a: the
    phase does not exist in that emeterai."""

    def cell(t: PhaseTable, key: str, label: str) -> str:
        value = t.ms.get(key, {}).get(label)
        if value is None:
            return "n/a"
        count = t.calls.get(key, {}).get(label, 1)
        return f"{value:.2f}" + (f" (x{count:g})" if count != 1 else "")

    labels = list(phases.labels)
    if before is not None:
        labels += [label for label in before.labels if label not in labels]
    header = ["phase (median ms per document)"]
    for d in docs:
        header += [f"{d.key} before", f"{d.key} after"] if before is not None else [d.label]
    rows = []
    for label in labels:
        row = [label]
        for d in docs:
            if before is not None:
                row.append(cell(before, d.key, label))
            row.append(cell(phases, d.key, label))
        rows.append(row)
    return table(header, rows)


# -- profile -------------------------------------------------------------------------------


def profile_stamp(doc: Doc, home: Home, work: Path, top: int = 14) -> tuple[float, list[str]]:
    """cProfile of stamping one ``doc`` in this (warm) process: the top cumulative entries
    inside emeterai, pyHanko and pypdf."""
    import cProfile
    import pstats

    from emeterai import batch
    from emeterai.stamp import StampOptions

    out = work / "out" / f"{doc.key}-profile.pdf"
    job = batch.StampJob(doc.path, out)
    key = home.wallet.unlock(PASSPHRASE)  # type: ignore[attr-defined]  # once per batch: not profiled
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    list(batch.stamp_files(home.wallet, PASSPHRASE, [job], StampOptions(), 1, key=key))  # type: ignore[arg-type]
    prof.disable()
    total = time.perf_counter() - t0
    out.unlink(missing_ok=True)
    stats = pstats.Stats(prof)
    rows = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        norm = filename.replace(os.sep, "/")
        for pkg in ("emeterai", "pyhanko", "pypdf"):
            marker = f"/{pkg}/"
            if marker in norm:
                where = pkg + "/" + norm.split(marker, 1)[1]
                break
        else:
            continue
        if where == "emeterai/batch.py":  # the wrappers around stamp_file: equal to the total
            continue
        rows.append((cumtime, tottime, ncalls, f"{where}:{line}({func})"))
    rows.sort(reverse=True)
    lines = [
        f"| {ct * 1000:.1f} | {tt * 1000:.1f} | {nc} | `{name}` |"
        for ct, tt, nc, name in rows[:top]
    ]
    return total, lines


# -- report --------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def fmt_ms(values: Sequence[float], digits: int = 0) -> str:
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{med(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return out


def versions() -> str:
    from importlib.metadata import version

    parts = [f"Python {platform.python_version()}"]
    for dist in ("emeterai", "pyHanko", "pypdf", "reportlab", "cryptography"):
        with contextlib.suppress(Exception):
            parts.append(f"{dist} {version(dist)}")
    try:
        out = subprocess.run(["pdfsig", "-v"], capture_output=True, text=True)
        parts.append((out.stdout + out.stderr).splitlines()[0].replace(" version", ""))
    except (OSError, IndexError):
        parts.append("pdfsig missing")
    return ", ".join(parts)


def git_rev(checkout: Path = PROJECT) -> str:
    """The short commit of ``checkout`` (the one the emeterai/ snapshot came from), and whether
    its emeterai/ differed from that commit."""
    try:
        rev = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(checkout), "status", "--porcelain", "--", "emeterai"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return f"unknown ({checkout})"
    if not rev:
        return f"unknown ({checkout} is not a git checkout)"
    return rev + (" + uncommitted changes in emeterai/" if dirty else "")


@dataclass
class Run:
    """Everything one run measured, for the report and for --save."""

    docs: list[Doc]
    figs: dict[str, Figures]
    cold_ms: dict[str, list[float]]
    plan: Plan
    quick: bool
    setup_s: float
    stamps: int
    elapsed_s: float
    profiles: list[tuple[Doc, float, list[str]]]
    load: tuple[float, float]
    stamp_phases: PhaseTable
    verify_phases: PhaseTable
    source: Path
    rev: str
    date: str
    scaling: list[float] = field(default_factory=list)  # machine_scaling(), before and after


def _spin(rounds: int) -> float:
    """Pure Python arithmetic, no I/O, no shared state: what two processes can at best gain."""
    t0 = time.perf_counter()
    x = 0
    for i in range(rounds):
        x += i * i % 7
    return time.perf_counter() - t0


def machine_scaling(reps: int = 3, rounds: int = 2_000_000) -> list[float]:
    """The machine's own ceiling for --jobs 2: the same four pieces of CPU work in one process,
    then in a pool of two (started before timing); one ratio per repetition."""
    import multiprocessing

    ratios = []
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(_spin, [1000, 1000])
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(4):
                _spin(rounds)
            one = time.perf_counter() - t0
            t0 = time.perf_counter()
            pool.map(_spin, [rounds] * 4, chunksize=1)
            two = time.perf_counter() - t0
            ratios.append(one / two)
    return ratios


def per_doc_ms(seconds: Sequence[float], n: int) -> list[float]:
    return [s * 1000 / n for s in seconds]


def ratio(a: float, b: float) -> float:
    return a / b if b and b == b else float("nan")


def headline(run: Run) -> dict[str, tuple[float, str]]:
    """The figures the targets are judged on, by name: (value, "ms" or "x")."""
    figs = run.figs
    out: dict[str, tuple[float, str]] = {}
    for d in run.docs:
        f = figs[d.key]
        peer = "peer + fsync" if f.peer_fsync else "peer"
        j1, nocheck, j2, p = (
            med(v) for v in (f.ours_j1_ms, f.ours_nocheck_ms, f.ours_j2_ms, f.peer_ms)
        )
        out[f"stamp {d.key}: ours jobs=1 ms/doc"] = (j1, "ms")
        out[f"stamp {d.key}: ours jobs=1 without self-check ms/doc"] = (nocheck, "ms")
        out[f"stamp {d.key}: ours jobs=2 ms/doc"] = (j2, "ms")
        out[f"stamp {d.key}: {peer} ms/doc"] = (p, "ms")
        out[f"stamp {d.key}: {peer} / ours jobs=1"] = (ratio(p, j1), "x")
        out[f"stamp {d.key}: jobs=1 / jobs=2"] = (ratio(j1, j2), "x")
    for d in run.docs:
        f = figs[d.key]
        n = f.verify_n
        v1, v2 = med(per_doc_ms(f.verify_j1_s, n)), med(per_doc_ms(f.verify_j2_s, n))
        sig = med(per_doc_ms(f.pdfsig_s, n))
        out[f"verify {d.key}: --jobs 1 ms/doc"] = (v1, "ms")
        out[f"verify {d.key}: --jobs 2 ms/doc"] = (v2, "ms")
        out[f"verify {d.key}: pdfsig ms/doc"] = (sig, "ms")
        out[f"verify {d.key}: pdfsig / --jobs 1"] = (ratio(sig, v1), "x")
        out[f"verify {d.key}: --jobs 1 / --jobs 2"] = (ratio(v1, v2), "x")
    stamp = {k: out[f"stamp {k}: ours jobs=1 ms/doc"][0] for k in ("letter", "small300")}
    verify = {k: out[f"verify {k}: --jobs 1 ms/doc"][0] for k in ("letter", "small300")}
    out["cost with pages, stamp: small300 / letter"] = (
        ratio(stamp["small300"], stamp["letter"]),
        "x",
    )
    out["cost with pages, verify: small300 / letter"] = (
        ratio(verify["small300"], verify["letter"]),
        "x",
    )
    for command in COLD_MS:
        out[f"cold `{command}` ms"] = (med(run.cold_ms.get(command, [])), "ms")
    return out


def fmt_value(value: float, unit: str) -> str:
    if value != value:
        return "n/a"
    return f"{value:.2f}x" if unit == "x" else f"{value:.1f} ms"


def target_row(
    figure: str, value: float, goals: tuple[float, float], unit: str = "x", note: str = ""
) -> list[str]:
    """A row of the targets table; ``goals`` = (target, moonshot): at least for ratios ("x")
    of peer over ours and speed-ups, at most for costs ("x<=") and times ("ms")."""
    target, moon = goals
    higher = unit == "x"
    op = ">=" if higher else "<="
    suffix = " ms" if unit == "ms" else "x"

    def met(goal: float) -> bool:
        return value >= goal if higher else value <= goal

    shown = f"{value:.0f} ms" if unit == "ms" else f"{value:.2f}x"
    if value != value:
        return [
            figure,
            "n/a",
            f"{op} {target:g}{suffix}",
            "n/a",
            f"{op} {moon:g}{suffix}",
            "-",
            note,
        ]
    return [
        figure,
        shown,
        f"{op} {target:g}{suffix}",
        verdict(met(target)),
        f"{op} {moon:g}{suffix}",
        "yes" if met(moon) else "no",
        note,
    ]


def plural(n: int, what: str) -> str:
    return f"{n} {what}" + ("es" if n != 1 and what.endswith("ch") else "s" if n != 1 else "")


def loads(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values) or "-"


def report(run: Run, before: dict | None = None) -> list[str]:
    docs, figs, cold_ms, plan = run.docs, run.figs, run.cold_ms, run.plan
    lines: list[str] = []
    add = lines.append
    by = {d.key: d for d in docs}
    add(
        f"# emeterai benchmark (issue 17: speed per core){' — QUICK smoke run' if run.quick else ''}"
    )
    add("")
    add(
        f"{run.date}; {os.cpu_count()} CPUs; commit {run.rev} "
        f"(emeterai/ copied from {run.source} at the start and run from the copy); "
        f"{versions()}."
    )
    add(
        f"Load average (1 min) at start {run.load[0]:.2f}, at end {run.load[1]:.2f} (and before "
        "each batch, under each table): the machine is shared, so figures taken under load are "
        "slower and noisier."
    )
    if run.scaling:
        add(
            "The machine's ceiling for two processes: the same pure-Python CPU work in a pool of "
            f"two ran {med(run.scaling):.2f}x one process (median; "
            + ", ".join(f"{r:.2f}x" for r in run.scaling)
            + " before the batches and after them), the most `--jobs 2` can gain here."
        )
    add(
        f"Medians of {plural(plan.stamp_reps, 'stamping batch')} and "
        f"{plural(plan.verify_reps, 'verification batch')} per input and variant, the variants "
        "of a batch taken round-robin (which goes first rotates); issuer, "
        f"{run.stamps} stamps and wallet made in {run.setup_s:.1f} s; whole run "
        f"{run.elapsed_s:.0f} s. Key type everywhere: ECDSA P-256."
    )
    add("")

    add("## Inputs")
    add("")
    rows = [
        [
            d.label,
            str(d.pages),
            f"{d.mb:.2f}",
            f"{d.size / d.pages / 1024:.1f}",
            figs[d.key].placement,
            f"{d.make_seconds:.2f}",
        ]
        for d in docs
    ]
    lines += table(["input", "pages", "MB", "KB/page", "placement", "made in s"], rows)
    add("")

    h = headline(run)
    add("## Targets (issue 17)")
    add("")
    add(
        "Ratios are peer over ours (higher is better) from the medians below, within this run; "
        "stamping targets are judged with the self-check of every output, the figure without it "
        "is beside them for information."
    )
    add("")
    rows = []
    for d in docs:
        f = figs[d.key]
        p = med(f.peer_ms)
        nocheck = f"without self-check {ratio(p, med(f.ours_nocheck_ms)):.2f}x"
        if f.peer_fsync:
            rows.append(
                target_row(
                    f"stamp per document, one process, {d.label}, vs pyHanko QR + fsync",
                    ratio(p, med(f.ours_j1_ms)),
                    BIG_STAMP_RATIO,
                    note=nocheck,
                )
            )
        else:
            rows.append(
                target_row(
                    f"stamp per document, one process, {d.label}, vs pyHanko QR",
                    ratio(p, med(f.ours_j1_ms)),
                    STAMP_RATIO,
                    note=nocheck,
                )
            )
    for d in docs:
        rows.append(
            target_row(
                f"verify per document, one process (--jobs 1), {d.label}, vs `pdfsig FILE`",
                h[f"verify {d.key}: pdfsig / --jobs 1"][0],
                VERIFY_RATIO,
                note=f"N={figs[d.key].verify_n}",
            )
        )
    nocheck_cost = ratio(med(figs["small300"].ours_nocheck_ms), med(figs["letter"].ours_nocheck_ms))
    rows.append(
        target_row(
            "cost with pages, stamp (jobs=1): 300-page text / letter, ms per document",
            h["cost with pages, stamp: small300 / letter"][0],
            PAGES_COST,
            unit="x<=",
            note=f"without self-check {nocheck_cost:.2f}x",
        )
    )
    rows.append(
        target_row(
            "cost with pages, verify (--jobs 1): 300-page text / letter, ms per document",
            h["cost with pages, verify: small300 / letter"][0],
            PAGES_COST,
            unit="x<=",
        )
    )
    for d in docs:
        f = figs[d.key]
        rows.append(
            target_row(
                f"stamp --jobs 2 over one process, {d.label}",
                h[f"stamp {d.key}: jobs=1 / jobs=2"][0],
                JOBS2_SPEEDUP,
                note=f"in-process batches; machine ceiling {med(run.scaling):.2f}x",
            )
        )
    for d in docs:
        rows.append(
            target_row(
                f"verify --jobs 2 over one process, {d.label}",
                h[f"verify {d.key}: --jobs 1 / --jobs 2"][0],
                JOBS2_SPEEDUP,
                note=f"the two CLI batches; machine ceiling {med(run.scaling):.2f}x",
            )
        )
    for command, goals in COLD_MS.items():
        rows.append(
            target_row(f"cold `{command}`", med(cold_ms.get(command, [])), goals, unit="ms")
        )
    lines += table(
        ["figure", "measured", "target", "verdict", "moonshot", "moonshot met", "note"], rows
    )
    add("")

    if before is not None:
        add("## Before and after")
        add("")
        before_load = before.get("load") or [float("nan")] * 2
        add(
            f"before = commit {before.get('rev', '?')} (emeterai/ from "
            f"{before.get('source', '?')}, {before.get('date', '?')}, load at start "
            f"{before_load[0]:.2f}, at end {before_load[-1]:.2f}"
            f"{', QUICK' if before.get('quick') else ''}); after = commit {run.rev} (this run). "
            "Two runs, each with its own peers: when the load differed, compare the ratios "
            "rather than the milliseconds."
        )
        add("")
        old = {name: tuple(v) for name, v in before.get("headline", {}).items()}
        names = list(h) + [name for name in old if name not in h]
        rows = []
        for name in names:
            b_value, unit = old.get(name, (float("nan"), h.get(name, (0, "ms"))[1]))
            a_value = h.get(name, (float("nan"), unit))[0]
            rows.append(
                [
                    name,
                    fmt_value(b_value, unit),
                    fmt_value(a_value, unit),
                    fmt_value(ratio(a_value, b_value), "x"),
                ]
            )
        lines += table(["figure", "before", "after", "after / before"], rows)
        add("")

    add("## Stamping, per document (in-process, warm)")
    add("")
    add(
        "ms/doc = batch wall time / N, median (min-max) over the batches. ours = "
        "`emeterai.batch.stamp_files` (reserve, sign, self-check, fsync'd write, commit), "
        "jobs=1 and jobs=2; without self-check = jobs=1 with `emeterai.stamp.self_check` made a "
        "no-op in this process for that batch only (for information: the product always runs "
        "it). peer = pyHanko `PdfSigner(..., stamp_style=QRStampStyle()).sign_pdf()` per "
        "document (read, sign, write; for the scan also an fsync of its output, as ours does)."
    )
    add("")
    rows = []
    for d in docs:
        f = figs[d.key]
        j1, nocheck, j2, peer = (
            med(v) for v in (f.ours_j1_ms, f.ours_nocheck_ms, f.ours_j2_ms, f.peer_ms)
        )
        rows.append(
            [
                d.label,
                f"{plan.stamp_n[d.key]} x {len(f.ours_j1_ms)}",
                fmt_ms(f.ours_j1_ms),
                fmt_ms(f.ours_nocheck_ms),
                f"{j1 - nocheck:.0f}",
                fmt_ms(f.ours_j2_ms),
                fmt_ms(f.peer_ms),
                fmt_ms(f.peer_fsync_ms, 1) if f.peer_fsync else "-",
                f"{ratio(peer, j1):.2f}x",
                f"{ratio(peer, nocheck):.2f}x",
                f"{ratio(j1, j2):.2f}x",
            ]
        )
    lines += table(
        [
            "input",
            "N x batches",
            "ours j1 ms/doc",
            "ours j1 without self-check",
            "self-check ms/doc",
            "ours j2 ms/doc",
            "peer ms/doc",
            "of which peer fsync",
            "peer / ours j1",
            "peer / ours j1 without self-check",
            "j1 / j2",
        ],
        rows,
    )
    add("")
    add(
        "Load average (1 min) before each batch: "
        + "; ".join(f"{d.key} {loads(figs[d.key].stamp_load)}" for d in docs)
        + "."
    )
    if plan.cli_batch:
        add("")
        add(
            "End to end, one cold `emeterai stamp FILES --out-dir D --jobs 2` process (start-up "
            "included), ms/doc: "
            + ", ".join(
                f"{d.label} {figs[d.key].cli_batch_ms:.0f} (N={plan.stamp_n[d.key]})"
                for d in docs
                if figs[d.key].cli_batch_ms is not None
            )
            + "."
        )
    add("")

    add("## Verification, per document")
    add("")
    add(
        "ours = one `emeterai verify DIR --jobs 1 --json` (or `--jobs 2`) process over N "
        "stamped files, wall time / N, start-up included; peer = `pdfsig FILE` once per file, "
        "one after the other (pdfsig x2: two at a time, for information). In-process = "
        "`Verifier.verify` per document, one core (for information). Median (min-max) over "
        "the batches."
    )
    add("")
    rows = []
    for d in docs:
        f = figs[d.key]
        n = f.verify_n
        v1, v2, sig = (per_doc_ms(s, n) for s in (f.verify_j1_s, f.verify_j2_s, f.pdfsig_s))
        ok = "" if f.verify_ok and f.pdfsig_ok else " (!)"
        rows.append(
            [
                d.label,
                f"{n} x {len(f.verify_j1_s)}",
                fmt_ms(v1, 1) + ok,
                fmt_ms(v2, 1),
                fmt_ms(sig, 1),
                fmt_ms(per_doc_ms(f.pdfsig_par_s, n), 1),
                fmt_ms(f.verify_inproc_ms, 1),
                f"{ratio(med(sig), med(v1)):.2f}x",
                f"{ratio(med(sig), med(v2)):.2f}x",
                f"{ratio(med(v1), med(v2)):.2f}x",
            ]
        )
    lines += table(
        [
            "input",
            "N x batches",
            "verify --jobs 1 ms/doc",
            "verify --jobs 2 ms/doc",
            "pdfsig loop ms/doc",
            "pdfsig x2 ms/doc",
            "in-process ms/doc",
            "pdfsig / ours j1",
            "pdfsig / ours j2",
            "j1 / j2",
        ],
        rows,
    )
    add("")
    add(
        "Load average (1 min) before each batch: "
        + "; ".join(f"{d.key} {loads(figs[d.key].verify_load)}" for d in docs)
        + "."
    )
    if not all(figs[d.key].verify_ok and figs[d.key].pdfsig_ok for d in docs):
        add("")
        add("(!) some stamped file was not reported valid: see Warnings below.")
    start = med(cold_ms.get("emeterai verify letter.emeterai.pdf", []))
    if start == start and any(figs[d.key].pdfsig_s and figs[d.key].verify_n > 1 for d in docs):
        add("")
        add(
            f"Start-up vs per file: a cold `emeterai verify` of one letter takes {start:.0f} ms "
            "(interpreter, imports, trust store, one file). Taking that as the batch's start-up, "
            "each further file of a `--jobs 1` batch cost (one core, against pdfsig per file, "
            "process start included):"
        )
        add("")
        rows = []
        goal = VERIFY_RATIO[0]
        for d in docs:
            f = figs[d.key]
            if not f.pdfsig_s or f.verify_n < 2:
                continue
            per_file = (med(f.verify_j1_s) * 1000 - start) / (f.verify_n - 1)
            peer_file = med(f.pdfsig_s) * 1000 / f.verify_n
            need = peer_file / goal - per_file
            rows.append(
                [
                    d.label,
                    f"{per_file:.2f}",
                    f"{peer_file:.2f}",
                    f"{ratio(peer_file, per_file):.2f}x",
                    f"{start / need:.0f}" if need > 0 else "never",
                ]
            )
        lines += table(
            [
                "input",
                "ours ms per further file",
                "pdfsig ms per file",
                "ratio without start-up",
                f"{goal:g}x from N =",
            ],
            rows,
        )
    add("")

    add(
        "## Cold start (fresh processes, median (min-max); commands taken round-robin, "
        "after one unmeasured run each)"
    )
    add("")
    rows = []
    for cmd, v in cold_ms.items():
        goals = COLD_MS.get(cmd)
        rows.append(
            [
                cmd,
                fmt_ms(v),
                f"<= {goals[0]:g} ({verdict(med(v) <= goals[0])})" if goals else "(info)",
                f"<= {goals[1]:g}" if goals else "",
            ]
        )
    lines += table(["command", "wall ms", "target ms", "moonshot ms"], rows)
    add("")

    add("## One document: cold `emeterai stamp FILE -o OUT`, peak RSS (for information)")
    add("")
    letter = figs["letter"]
    letter_rss = med(letter.rss_kb) * 1024
    rows = []
    for d in docs:
        f = figs[d.key]
        rss = med(f.rss_kb) * 1024
        rows.append(
            [
                d.label,
                f"{d.mb:.2f}",
                fmt_ms(f.cold_stamp_ms),
                f"{med(f.ours_j1_ms):.0f}",
                f"{rss / 1e6:.0f}",
                f"{(rss - letter_rss) / 1e6:+.0f}",
                f"{(letter_rss + 2 * d.size) / 1e6:.0f}",
            ]
        )
    lines += table(
        [
            "input",
            "MB",
            "cold stamp ms",
            "in-batch ms/doc",
            "peak RSS MB",
            "vs letter MB",
            "letter + 2x size MB",
        ],
        rows,
    )
    add("")

    add("## Cost vs file size and page count (for information)")
    add("")
    small, big = by["small300"], by["big300"]
    t_letter, t_small, t_big = (med(figs[k].ours_j1_ms) for k in ("letter", "small300", "big300"))
    c_letter, c_small, c_big = (
        med(figs[k].cold_stamp_ms) for k in ("letter", "small300", "big300")
    )
    per_page = (t_small - t_letter) / (small.pages - by["letter"].pages)
    per_mb = (t_big - t_small) / max(big.mb - small.mb, 1e-9)
    v_letter, v_small, v_big = (
        h[f"verify {k}: --jobs 1 ms/doc"][0] for k in ("letter", "small300", "big300")
    )
    add(
        f"- in-batch stamp ms/doc (jobs=1): letter {t_letter:.0f}, 300 pages {small.mb:.2f} MB "
        f"{t_small:.0f}, 300 pages {big.mb:.1f} MB {t_big:.0f}; 40 pages "
        f"{med(figs['doc40'].ours_j1_ms):.0f}."
    )
    add(
        f"- marginal stamp cost: {per_page:.2f} ms per extra page (letter -> 300-page text), "
        f"{per_mb:.1f} ms per extra MB (300-page text -> 300-page scan)."
    )
    add(
        f"- in-batch verify ms/doc (--jobs 1): letter {v_letter:.1f}, 300-page text "
        f"{v_small:.1f}, 300-page scan {v_big:.1f}; marginal "
        f"{(v_small - v_letter) / (small.pages - by['letter'].pages):.3f} ms per extra page."
    )
    add(
        f"- cold CLI stamp ms: letter {c_letter:.0f}, 300-page text {c_small:.0f}, 300-page scan "
        f"{c_big:.0f}."
    )
    add(
        f"- peak RSS MB: letter {med(letter.rss_kb) * 1024 / 1e6:.0f}, 300-page text "
        f"{med(figs['small300'].rss_kb) * 1024 / 1e6:.0f}, 300-page scan "
        f"{med(figs['big300'].rss_kb) * 1024 / 1e6:.0f} (MB = 10^6 bytes)."
    )
    add("")

    old_stamp = old_verify = None
    if before is not None:
        old_stamp = PhaseTable.from_json(before["phases"]["stamp"])
        old_verify = PhaseTable.from_json(before["phases"]["verify"])
    add("## Where a stamp's time goes (in-process, one core, wall clock, no profiler)")
    add("")
    add(
        f"Each phase's function is wrapped with a timer while stamping {plan.phase_n} copies of "
        "each input one document at a time; a cell is the median over the documents of the "
        "phase's time in one document (its calls summed: (xK) = K calls). Nested rows are part "
        "of the row above; the wallet unlock, once per batch, is not shown. The peer's rows are "
        "the same run of pyHanko's own QR-stamp signing."
        + (f" before = commit {before.get('rev', '?')}, after = {run.rev}." if before else "")
    )
    add("")
    lines += phase_table(run.stamp_phases, docs, old_stamp)
    add("")

    add("## Where a verification's time goes (in-process, one core, wall clock, no profiler)")
    add("")
    add(
        f"The same wrapping around one `Verifier.verify` call on each of {plan.phase_n} stamped "
        "outputs per input (those of the stamping batches). Indented rows are part of the row "
        "above; pyHanko's validate_pdf_signature also hashes the signed range and checks the "
        "CMS and the certificate chain."
        + (f" before = commit {before.get('rev', '?')}, after = {run.rev}." if before else "")
    )
    add("")
    lines += phase_table(run.verify_phases, docs, old_verify)
    add("")

    if WARNINGS:
        add("## Warnings")
        add("")
        lines.extend(f"- {w}" for w in WARNINGS)
        add("")

    for doc, total, prof_lines in run.profiles:
        add(
            f"## Profile: stamping the {doc.label} once, warm, in-process ({total * 1000:.0f} ms under cProfile)"
        )
        add("")
        add("Top cumulative entries inside emeterai, pyHanko and pypdf (batch wrappers left out).")
        add("")
        add("| cumulative ms | own ms | calls | function |")
        add("|---|---|---|---|")
        lines += prof_lines
        add("")
    return lines


def saved(run: Run) -> dict:
    """What --save writes: enough for a later run's --before."""
    return {
        "rev": run.rev,
        "source": str(run.source),
        "date": run.date,
        "quick": run.quick,
        "load": list(run.load),
        "inputs": {d.key: d.label for d in run.docs},
        "headline": {name: list(v) for name, v in headline(run).items()},
        "phases": {"stamp": run.stamp_phases.to_json(), "verify": run.verify_phases.to_json()},
    }


# -- main ----------------------------------------------------------------------------------


def with_serve_section(text: str) -> str:
    """``text`` followed by bench/serve.py's section of the results.md there is now, unchanged."""
    try:
        old = RESULTS.read_text()
    except FileNotFoundError:
        return text
    begin = old.find(SERVE_BEGIN)
    end = old.find(SERVE_END, begin)
    if begin < 0 or end < 0:
        return text
    return text.rstrip("\n") + "\n\n" + old[begin : end + len(SERVE_END)] + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small N: a smoke run of a minute or so"
    )
    parser.add_argument(
        "--phase-n",
        type=int,
        default=None,
        metavar="N",
        help="documents per input for the phase tables (default 8, --quick 3)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile stamping one letter, the 300-page text and the 300-page scan",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--no-results", action="store_true", help="do not write bench/results.md")
    parser.add_argument(
        "--source",
        type=Path,
        default=PROJECT,
        metavar="DIR",
        help="measure the emeterai package in DIR/emeterai (e.g. a git worktree of an earlier "
        "commit) instead of this checkout's",
    )
    parser.add_argument(
        "--save",
        type=Path,
        metavar="FILE",
        help="also write the phase tables and the headline figures as JSON (for --before)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        metavar="FILE",
        help="a JSON saved by an earlier run's --save: show its figures beside this run's",
    )
    args = parser.parse_args(argv)
    source = args.source.resolve()
    before = None
    if args.before is not None:
        try:
            before = json.loads(args.before.read_text())
            PhaseTable.from_json(before["phases"]["stamp"])
            PhaseTable.from_json(before["phases"]["verify"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SystemExit(f"bench: cannot read --before {args.before}: {exc}") from exc
    plan = QUICK if args.quick else FULL
    if args.phase_n:
        import dataclasses

        plan = dataclasses.replace(plan, phase_n=args.phase_n)
    start = time.perf_counter()
    load_start = os.getloadavg()[0]
    date = time.strftime("%Y-%m-%d %H:%M:%S %Z")

    import logging

    logging.getLogger().handlers = [logging.NullHandler()]  # as the CLI does: pyHanko is chatty
    logging.getLogger().setLevel(logging.CRITICAL + 1)

    work = Path(tempfile.mkdtemp(prefix="emeterai-bench-"))
    try:
        snapshot_package(work, source)
        rev = git_rev(source)  # now: the snapshot is what it was when it was taken
        log(
            f"work directory {work}; load average {load_start:.2f}; emeterai/ snapshot taken "
            f"from {source} at {rev}"
        )
        docs = make_inputs(work / "inputs")
        log(
            "inputs: "
            + ", ".join(
                f"{d.key} {d.pages} p {d.mb:.1f} MB in {d.make_seconds:.1f} s" for d in docs
            )
        )
        check_disk(work, docs, plan)

        runs_cold_stamp = {
            d.key: plan.cold_runs if d.key == "letter" else plan.cold_stamp_runs for d in docs
        }
        ours_variants = sum(v.startswith("ours") for v in STAMP_VARIANTS)
        needed = (
            sum(plan.stamp_n.values()) * plan.stamp_reps * ours_variants
            + sum(runs_cold_stamp.values())
            + (sum(plan.stamp_n.values()) if plan.cli_batch else 0)
            + len(docs)  # warm-up
            + plan.cold_runs
            + 1  # cold `emeterai stamp` of the letter, for the cold table
            + (3 if args.profile else 0)
            + plan.phase_n * len(docs)
            + 4  # margin
        )
        t0 = time.perf_counter()
        home = setup_home(work, needed)
        setup_s = time.perf_counter() - t0
        log(f"home with {needed} stamps in {setup_s:.1f} s")
        env = sub_env(home)
        imported = subprocess.run(  # (not from the cwd: `-c` puts it first on sys.path)
            [sys.executable, "-c", "import emeterai; print(emeterai.__file__)"],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not imported.startswith(str(SNAPSHOT[0])):
            raise SystemExit(f"bench: subprocesses import emeterai from {imported!r}, not the copy")

        peer = Peer(home.peer_p12)
        figs = {d.key: Figures() for d in docs}
        # Warm up both pipelines (imports, caches) so the batches measure steady state.
        for d in docs:
            ours_batch(home, [d.path], work / "out" / f"warm-{d.key}", 1)
            peer.sign_file(d.path, work / "out" / f"warm-{d.key}" / "peer.pdf", d.pages - 1)
            shutil.rmtree(work / "out" / f"warm-{d.key}")

        scaling = machine_scaling()
        log(f"machine: two processes of pure CPU work run {med(scaling):.2f}x one")
        for d in docs:
            bench_stamping(d, figs[d.key], home, peer, work, plan)
        if plan.cli_batch:
            for d in docs:
                bench_cli_batch(d, figs[d.key], home, work, plan)
        for d in docs:
            bench_verify(d, figs[d.key], home, work, plan)

        exe = emeterai_exe()
        letter = docs[0]
        nopyc = dict(env, PYTHONPATH=str(work / "src-nopyc"), PYTHONDONTWRITEBYTECODE="1")
        stamped_letter = figs["letter"].stamped[0]
        cold_ms = cold(
            {
                "emeterai --help": ([exe, "--help"], env),
                "(info) emeterai --help, emeterai/ not byte-compiled": ([exe, "--help"], nopyc),
                "emeterai verify letter.emeterai.pdf": ([exe, "verify", str(stamped_letter)], env),
            },
            plan.cold_runs,
        )
        bench_cold_stamp(docs, figs, home, work, runs_cold_stamp)
        cold_ms["emeterai stamp letter.pdf -o out.pdf"] = figs["letter"].cold_stamp_ms
        cold_ms[f"emeterai stamp big300.pdf -o out.pdf ({docs[2].mb:.0f} MB)"] = figs[
            "big300"
        ].cold_stamp_ms
        log(f"cold: --help {med(cold_ms['emeterai --help']):.0f} ms")

        log("phase breakdown: stamping")
        stamp_phases = phase_breakdown(docs, home, peer, work, plan.phase_n)
        log("phase breakdown: verification")
        verify_phases = verify_phase_breakdown(docs, figs, home, plan.phase_n)
        scaling += machine_scaling()
        profiles = []
        if args.profile:
            for d in (letter, docs[3], docs[2]):
                total, prof_lines = profile_stamp(d, home, work)
                profiles.append((d, total, prof_lines))

        run = Run(
            docs=docs,
            figs=figs,
            cold_ms=cold_ms,
            plan=plan,
            quick=args.quick,
            setup_s=setup_s,
            stamps=needed,
            elapsed_s=time.perf_counter() - start,
            profiles=profiles,
            load=(load_start, os.getloadavg()[0]),
            stamp_phases=stamp_phases,
            verify_phases=verify_phases,
            source=source,
            rev=rev,
            date=date,
            scaling=scaling,
        )
        text = "\n".join(report(run, before)) + "\n"
        print(text)
        if args.save is not None:
            args.save.write_text(json.dumps(saved(run), indent=1) + "\n")
            log(f"wrote {args.save}")
        if not args.no_results:
            RESULTS.write_text(with_serve_section(text))
            log(f"wrote {RESULTS}")
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
